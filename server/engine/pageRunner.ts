// Page runner seam: one upstream attempt of one page — build the request (prompt, template and
// style-chain references, the previous image for a revision), look up the duplicate-request cache,
// call the provider with an AbortSignal, store the image, classify a failure and decide what
// follows (retry after a delay, fail, cancelled). Identical in every set-up; state changes are the
// batch engine's (server/batches.ts).
import { createHash } from 'node:crypto'
import type { ProviderName } from '../../plugin/types/api.js'
import type { SlideTemplate } from '../../plugin/configs/nanoBananaTemplates.js'
import type { Logger } from '../logger.js'
import type { PromptInput } from '../prompts.js'
import { ProviderError, type GeneratedImage, type GenerateRequest, type ImageProvider, type ReferenceImage } from '../providers/types.js'
import { toReference, type TemplateReferences } from '../references.js'
import { InvalidImageError } from '../imageCheck.js'
import type { StoredImage } from '../storage.js'
import { BUDGET_WAIT } from '../spend.js'
import { ImageStoreError, type ImageStore } from './imageStore.js'
import type { BatchRecord, CacheEntry, PageRecord } from './records.js'
import type { StateStore } from './stateStore.js'

export type BuildPrompt = (input: PromptInput) => string

export interface BackoffOptions {
  /** first retry waits about this long, doubling each time (default 1000) */
  baseMs: number
  /** exponential delays are capped here (default 30000) */
  maxMs: number
  /** an upstream-suggested wait longer than this is capped (default 120000) */
  maxRetryAfterMs: number
}

export interface PageTiming {
  /** provider.generate(): upstream latency + transfer + decoding the answer */
  providerMs: number
  /** storage.saveImage(): structural verify + write; the page completes right after */
  saveMs: number
  /** image handed to the store → its variants stored (off the critical path; includes waiting for a core) */
  thumbnailReadyMs: number
  /** the variants' own decode + resize + encode (their writes excluded) */
  thumbnailWorkMs: number
  thumbnailOk: boolean
}

export const INITIAL_PAGE_SECONDS: Record<ProviderName, number> = {
  'gemini': 20,
  'openai-chat': 20,
  'openai-images': 30,
  'preview': 0.5,
}

const DURATION_WINDOW = 10

export interface PageRunnerDeps {
  provider: ImageProvider
  images: ImageStore
  /** the duplicate-request cache lives in the state store */
  store: Pick<StateStore, 'cacheGet' | 'cacheSet' | 'cacheDelete'>
  templateRefs: TemplateReferences
  buildPrompt: BuildPrompt
  findTemplate: (id: string) => SlideTemplate | undefined
  logger: Logger
  maxRetries: number
  /**
   * RATE_LIMIT_MAX_WAIT in ms: a page rate limited again this long after its first 429 (or told to
   * wait longer than that) fails naming the quota (default 10 min). Quota waits never use maxRetries.
   */
  maxQuotaWaitMs?: number
  backoff?: Partial<BackoffOptions>
  random?: () => number
  /** seconds per page before any page has been timed */
  initialPageSeconds?: number
  onPageTiming?: (t: PageTiming) => void
  /**
   * An image could not be stored (the store refused or was unreachable, the disk full or read-only):
   * `reason` in words. Lets the pre-call storage check fail the next pages unpaid at once instead of
   * trusting its last (cached) all-clear.
   */
  onStorageFailure?: (reason: string) => void
}

/** The upstream part of an attempt. */
export type CallOutcome =
  | { kind: 'cached'; stored: CacheEntry }
  | { kind: 'image'; image: GeneratedImage; cacheKey: string; providerMs: number }
  | { kind: 'error'; error: unknown }

/** What follows a failed attempt. */
export type Decision =
  | { action: 'cancelled' }
  /** rate limited: back to the front of the queue, which holds every call until the quota frees */
  | { action: 'wait_quota'; code: string; waitMs: number }
  /** the spend budget does not allow the call now: pending again, looked at after waitMs (no slot held, no retry used) */
  | { action: 'wait_budget'; waitMs: number }
  | { action: 'retry'; delayMs: number; code: string }
  | { action: 'fail'; code: string; message: string; kind: ProviderError['kind'] }

// References are shared Buffers (the cached template cover, a batch's style-chain image): hash each once.
const hashCache = new WeakMap<Buffer, string>()
function hashBytes(b: Buffer): string {
  let hash = hashCache.get(b)
  if (hash === undefined) {
    hash = createHash('sha256').update(b).digest('hex')
    hashCache.set(b, hash)
  }
  return hash
}

export class PageRunner {
  private readonly backoff: BackoffOptions
  private readonly random: () => number
  private readonly durations: number[] = []
  private readonly initialPageSeconds: number
  /** per batch: page 1's image as a small reference, read once */
  private readonly styleRefs = new Map<string, { key: string; ref: Promise<ReferenceImage | null> }>()

  constructor(private readonly deps: PageRunnerDeps) {
    this.backoff = { baseMs: 1000, maxMs: 30_000, maxRetryAfterMs: 120_000, ...deps.backoff }
    this.random = deps.random ?? Math.random
    this.initialPageSeconds = deps.initialPageSeconds ?? INITIAL_PAGE_SECONDS[deps.provider.name] ?? 20
  }

  /** The model every request goes to (logs, metrics). */
  get model(): string {
    return this.deps.provider.model
  }

  /** Request, cache lookup and provider call; never throws. `onRequest` sees the request once it is built. */
  async call(s: BatchRecord, page: PageRecord, signal: AbortSignal, onRequest?: (req: GenerateRequest) => void): Promise<CallOutcome> {
    try {
      const req = await this.buildRequest(s, page, signal)
      onRequest?.(req)
      const cacheKey = this.cacheKey(req)
      const hit = page.bypass_cache ? null : await this.cacheLookup(cacheKey)
      if (hit) return { kind: 'cached', stored: hit }
      const callStarted = performance.now()
      const image = await this.deps.provider.generate(req)
      return { kind: 'image', image, cacheKey, providerMs: performance.now() - callStarted }
    } catch (error) {
      return { kind: 'error', error }
    }
  }

  /**
   * Stores the image durably (then it enters the duplicate cache); the thumbnail follows in the
   * background and `thumbnail` settles when it is made; `released` when the store no longer reads the
   * image's bytes (the variants may decode them after the write). Throws InvalidImageError or a storage error.
   */
  async store(image: GeneratedImage, cacheKey: string, providerMs: number): Promise<{ stored: CacheEntry; thumbnail: Promise<void>; released: Promise<void> }> {
    const saveStarted = performance.now()
    const saved: StoredImage = await this.deps.images.saveImage(image.bytes)
    const saveMs = performance.now() - saveStarted
    // the bytes may be a view of a pooled buffer (providers/bufferPool.ts): handed back once the store
    // has stopped reading them — never after a failed save, whose writes may still be under way
    const released = Promise.resolve(saved.inputHeld).then(() => undefined, () => undefined)
    if (image.release) void released.finally(image.release)
    // the thumbnail is made after the page completes; its failure is logged, never the page's
    const thumbnail = saved.thumbnail.then(t => {
      if (!t.ok) this.deps.logger.warn('thumbnail could not be made (it is retried when requested)', { image: saved.imageKey, error: t.error })
      this.deps.onPageTiming?.({ providerMs, saveMs, thumbnailReadyMs: t.readyMs, thumbnailWorkMs: t.workMs, thumbnailOk: t.ok })
    })
    const stored: CacheEntry = { image_key: saved.imageKey, thumbnail_key: saved.thumbnailKey, ...(image.shortened ? { shortened: true } : {}) }
    this.recordDuration(providerMs)
    await this.deps.store.cacheSet(cacheKey, stored)
    return { stored, thumbnail, released }
  }

  /**
   * Decides what follows a failed attempt that used `used` automatic retries so far. `lastShape`: the
   * shape of this page's previous unreadable answer — the same shape again means the upstream answers
   * this page deterministically in a way we cannot read, so it is not paid for again. A rate limit
   * (`quota` given: the scheduler's hold end, the page's first 429 of this run, now — all ms since
   * the epoch) waits for quota, until RATE_LIMIT_MAX_WAIT is used up.
   */
  decide(err: unknown, used: number, aborted: boolean, lastShape?: string | null, quota?: { holdUntil: number; since: number; now: number }): Decision {
    const pe = this.classify(err)
    if (aborted || pe.kind === 'aborted') return { action: 'cancelled' }
    if (pe.code === BUDGET_WAIT) return { action: 'wait_budget', waitMs: Math.max(1, pe.retryAfterMs ?? 1000) }
    if (quota && isRateLimit(pe)) {
      const maxWait = this.deps.maxQuotaWaitMs ?? 10 * 60_000
      // the upstream's own estimate counts even when the scheduler caps its hold
      const next = Math.max(quota.holdUntil, quota.now + (pe.retryAfterMs ?? 0))
      if (next - quota.since <= maxWait) return { action: 'wait_quota', code: pe.code, waitMs: Math.max(0, quota.holdUntil - quota.now) }
      const limit = pe.quota ? `quota ${pe.quota}` : 'upstream rate limit'
      return {
        action: 'fail', code: pe.code, kind: pe.kind,
        message: `${pe.message} — the ${limit} did not free up within ${formatWait(maxWait)} of waiting (RATE_LIMIT_MAX_WAIT); retry later or ask the administrator to raise the quota`,
      }
    }
    if (pe.kind === 'retryable' && pe.answerShape && pe.answerShape === lastShape) {
      return {
        action: 'fail', code: 'unreadable_answer', kind: 'fatal',
        message: `${pe.message} — the same kind of answer came back twice in a row (${pe.answerShape}), so the proxy stopped retrying instead of paying for it again`,
      }
    }
    if (pe.kind === 'retryable' && used < this.deps.maxRetries) {
      return { action: 'retry', delayMs: this.retryDelay(used + 1, pe.retryAfterMs), code: pe.code }
    }
    const message = pe.kind === 'retryable'
      ? `${pe.message} (gave up after ${used} ${used === 1 ? 'retry' : 'retries'})`
      : pe.message
    return { action: 'fail', code: pe.code, message, kind: pe.kind }
  }

  classify(err: unknown): ProviderError {
    if (err instanceof ProviderError) return err
    if (err instanceof InvalidImageError) return new ProviderError('retryable', 'invalid_image', err.message)
    if (err instanceof ImageStoreError) {
      this.deps.onStorageFailure?.(err.message)
      return new ProviderError('fatal', 'storage_unavailable', err.message)
    }
    // the disk filled up or turned read-only while the image was being written
    const code = (err as NodeJS.ErrnoException | null)?.code
    if (code && STORAGE_ERRNOS.has(code)) {
      this.deps.logger.error('could not store an image', { error: err instanceof Error ? err.message : String(err) })
      this.deps.onStorageFailure?.(`the image store failed with ${code}`)
      return new ProviderError('fatal', 'storage_unavailable', `The proxy could not store the image (${code === 'ENOSPC' || code === 'EDQUOT' ? 'its disk is full' : 'its storage is not writable'}, ${code}); ask the administrator, then retry this page`)
    }
    this.deps.logger.error('unexpected error while generating', { error: err instanceof Error ? err.message : String(err) })
    return new ProviderError('fatal', 'internal_error', 'The proxy could not process this page; see its log')
  }

  /** Exponential backoff with jitter; an upstream-suggested delay (RetryInfo / Retry-After) is a floor. */
  retryDelay(retry: number, retryAfterMs?: number): number {
    const exp = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** (retry - 1))
    const jittered = Math.round(exp * (0.5 + this.random() * 0.5))
    if (retryAfterMs === undefined) return jittered
    return Math.min(this.backoff.maxRetryAfterMs, Math.max(retryAfterMs, jittered))
  }

  /** Average seconds per page (moving average of recent upstream calls in this process). */
  averagePageSeconds(): number {
    if (this.durations.length === 0) return this.initialPageSeconds
    return this.durations.reduce((a, b) => a + b, 0) / this.durations.length / 1000
  }

  /** Frees what is kept for a finished batch (its style-chain reference). */
  forget(batchId: string): void {
    this.styleRefs.delete(batchId)
  }

  private recordDuration(ms: number): void {
    this.durations.push(ms)
    if (this.durations.length > DURATION_WINDOW) this.durations.shift()
  }

  private async buildRequest(s: BatchRecord, page: PageRecord, signal: AbortSignal): Promise<GenerateRequest> {
    const template = this.deps.findTemplate(s.template_id)
    if (!template) throw new ProviderError('fatal', 'unknown_template', `The template "${s.template_id}" no longer exists`)
    const references: ReferenceImage[] = []
    const templateRef = await this.deps.templateRefs.get(template)
    if (templateRef) references.push(templateRef)
    const first = s.pages[0]
    if (s.options.style_chain && page.page_number !== 1 && first.status === 'completed' && first.image_key) {
      const chain = await this.styleChainRef(s.batch_id, first.image_key)
      if (chain) references.push(chain)
    }
    if (page.instruction && page.previous_image_key) {
      const prev = await this.deps.images.readImage(page.previous_image_key)
      if (prev) references.push(await toReference(prev, 'previous'))
    }
    const prompt = this.deps.buildPrompt({
      template,
      deckTitle: s.deck_title,
      pageTitles: s.pages.map(p => p.title),
      page: {
        pageNumber: page.page_number, totalPages: s.pages.length, pageType: page.page_type,
        title: page.title, content: page.content, ...(page.notes !== undefined ? { notes: page.notes } : {}),
        ...(page.text_boxes ? { textBoxes: page.text_boxes } : {}),
      },
      mode: s.options.mode,
      language: s.options.language,
      aspectRatio: s.options.aspect_ratio,
      extraPrompt: s.options.extra_prompt,
      references: references.map(r => r.role),
      ...(page.instruction ? { instruction: page.instruction } : {}),
    })
    return {
      prompt,
      references,
      aspectRatio: s.options.aspect_ratio,
      resolution: s.options.resolution,
      page: {
        template, deckTitle: s.deck_title, pageType: page.page_type, pageNumber: page.page_number, totalPages: s.pages.length,
        title: page.title, content: page.content, mode: s.options.mode, language: s.options.language,
        ...(page.text_boxes ? { textBoxes: page.text_boxes } : {}),
      },
      signal,
      ...(s.client ? { client: s.client } : {}),
    }
  }

  /** Page 1's image as a small JPEG reference, read from the image store once per batch (not kept as full bytes). */
  private styleChainRef(batchId: string, key: string): Promise<ReferenceImage | null> {
    let entry = this.styleRefs.get(batchId)
    if (entry?.key !== key) {
      const ref = this.deps.images.readImage(key).then(b => (b ? toReference(b, 'style_chain') : null))
      entry = { key, ref }
      this.styleRefs.set(batchId, entry)
    }
    return entry.ref
  }

  private cacheKey(req: GenerateRequest): string {
    return createHash('sha256').update(JSON.stringify({
      provider: this.deps.provider.name,
      model: this.deps.provider.model,
      prompt: req.prompt,
      aspect: req.aspectRatio,
      resolution: req.resolution,
      references: req.references.map(r => `${r.role}:${hashBytes(r.bytes)}`),
      // the preview draws around the text boxes even when the prompt does not mention them
      ...(req.page.textBoxes ? { text_boxes: req.page.textBoxes } : {}),
    })).digest('hex')
  }

  private async cacheLookup(key: string): Promise<CacheEntry | null> {
    const hit = await this.deps.store.cacheGet(key)
    if (!hit) return null
    const [img, thumb] = await Promise.all([this.deps.images.resolveImage(hit.image_key), this.deps.images.resolveImage(hit.thumbnail_key)])
    if (img && thumb) return hit
    await this.deps.store.cacheDelete(key)
    return null
  }
}

/** File-system errors that mean the image store cannot take images now (full, read-only, permissions, I/O). */
const STORAGE_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO'])

/** A failure meaning "slow down" (429 / RESOURCE_EXHAUSTED, a relay's rate limit), not "this page failed". */
export function isRateLimit(err: unknown): err is ProviderError {
  return err instanceof ProviderError && err.kind === 'retryable' && err.code === 'rate_limited'
}

function formatWait(ms: number): string {
  const min = ms / 60_000
  return min >= 1 ? `${Number.isInteger(min) ? min : min.toFixed(1)} min` : `${Math.round(ms / 100) / 10} s`
}
