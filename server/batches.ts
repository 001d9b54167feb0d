// Batch orchestration: the batch/page state machine, style chain, retries with backoff, cancel,
// page retry (optionally with an instruction), estimates, the duplicate-request cache and restart
// recovery. Every dependency is passed in so tests hand in fake providers, clocks and sleeps.
//
// Page states:  pending → generating → completed | failed | cancelled
//               (failed | completed | cancelled) → pending again on a manual retry
// Batch states: pending → generating → completed (all ok) | partial (some ok) | failed (none ok) | cancelled
//
// One queue task is ONE upstream attempt: a page waiting out a retry backoff does not hold a slot.
import { createHash, randomBytes } from 'node:crypto'
import type {
  AspectRatio, BatchOptions, BatchProgress, BatchStatus, CreateBatchResponse, DoneEvent, GenerationMode, PageResult,
  PageStatus, PageType, ProgressCounts, ProgressEvent, ProviderName, Resolution, TextBoxRect,
} from '../plugin/types/api.js'
import { findTemplate as defaultFindTemplate, type SlideTemplate } from '../plugin/configs/nanoBananaTemplates.js'
import { ApiError, notFound } from './errors.js'
import { BatchEventLog, type SseSource } from './events.js'
import type { Logger } from './logger.js'
import { ProviderError, type GeneratedImage, type GenerateRequest, type ImageProvider, type ReferenceImage } from './providers/types.js'
import type { GenerationQueue } from './queue.js'
import { toReference, type TemplateReferences } from './references.js'
import type { PromptInput } from './prompts.js'
import type { CreateBatchInput } from './schemas.js'
import { InvalidImageError, type Storage } from './storage.js'

// ---------------------------------------------------------------------------------------------
// Persisted shapes (DATA_DIR/batches/<id>.json)

export interface PageRecord {
  page_number: number
  slide_id: string
  page_type: PageType
  title: string
  content: string
  notes?: string
  /** the slide's own text boxes, fractions of the slide (background mode keeps them free) */
  text_boxes?: TextBoxRect[]
  status: PageStatus
  /** the image could not show all of the page's text (set by the provider) */
  shortened?: boolean
  image_key: string | null
  thumbnail_key: string | null
  error_message: string | null
  error_code: string | null
  retry_count: number
  /** revision instruction of the latest manual retry */
  instruction: string | null
  /** last good image while the page is being regenerated (sent as the 'previous' reference with an instruction) */
  previous_image_key: string | null
  /** a manual retry wants a new image, not the cached one */
  bypass_cache: boolean
}

export interface BatchRecord {
  version: 1
  batch_id: string
  created_at: string
  updated_at: string
  template_id: string
  deck_title: string
  options: BatchOptions
  status: BatchStatus
  last_event_id: number
  pages: PageRecord[]
}

// Prompt building is owned by server/prompts.ts (pure, deterministic); it is passed in.
export type { PromptInput }
export type BuildPrompt = (input: PromptInput) => string

// ---------------------------------------------------------------------------------------------

export interface BackoffOptions {
  /** first retry waits about this long, doubling each time (default 1000) */
  baseMs: number
  /** exponential delays are capped here (default 30000) */
  maxMs: number
  /** an upstream-suggested wait longer than this is capped (default 120000) */
  maxRetryAfterMs: number
}

export interface BatchManagerDeps {
  provider: ImageProvider
  storage: Storage
  queue: GenerationQueue
  logger: Logger
  templateRefs: TemplateReferences
  buildPrompt: BuildPrompt
  maxRetries: number
  maxQueuedPages: number
  defaultResolution: Resolution
  findTemplate?: (id: string) => SlideTemplate | undefined
  backoff?: Partial<BackoffOptions>
  /** waits ms or rejects when the signal aborts (tests pass a fast one) */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  random?: () => number
  now?: () => number
  /** seconds per page before any page has been timed */
  initialPageSeconds?: number
  imageUrl?: (key: string) => string
  /** how long a finished batch keeps its full event history for Last-Event-ID replays (default 10 min) */
  eventRetentionMs?: number
  /** benchmarks: timings of each generated (not cached) page */
  onPageTiming?: (t: PageTiming) => void
}

export interface PageTiming {
  /** provider.generate(): upstream latency + transfer + decoding the answer */
  providerMs: number
  /** storage.saveImage(): structural verify + write; the page completes right after */
  saveMs: number
  /** page saved → its thumbnail on disk (made off the critical path; includes waiting for a core) */
  thumbnailReadyMs: number
  /** the thumbnail's own decode + resize + encode + write */
  thumbnailWorkMs: number
  thumbnailOk: boolean
}

export const INITIAL_PAGE_SECONDS: Record<ProviderName, number> = {
  'gemini': 20,
  'openai-chat': 20,
  'openai-images': 30,
  'preview': 0.5,
}

const DEFAULT_OPTIONS: Omit<BatchOptions, 'resolution'> = {
  aspect_ratio: '16:9',
  mode: 'full',
  language: 'zh',
  extra_prompt: '',
  style_chain: true,
}

const FINAL: BatchStatus[] = ['completed', 'partial', 'failed', 'cancelled']
const PAGE_DONE: PageStatus[] = ['completed', 'failed', 'cancelled']
const DURATION_WINDOW = 10

export function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

interface BatchRuntime {
  state: BatchRecord
  log: BatchEventLog
  /** per page being worked on (in flight or waiting out a backoff): aborts it */
  controllers: Map<number, AbortController>
  inFlight: Set<number>
  /** automatic retries used in the current run of each page */
  attempts: Map<number, number>
  /** style_chain: pages 2..n wait until page 1 has settled */
  chainHeld: boolean
  styleRef?: { key: string; ref: Promise<ReferenceImage | null> }
  /** the last progress event sent, so an unchanged one is not sent again */
  lastProgress?: string
}

interface CacheEntry {
  image_key: string
  thumbnail_key: string
  shortened?: boolean
}

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

export class BatchManager {
  private readonly batches = new Map<string, BatchRuntime>()
  private readonly cache = new Map<string, CacheEntry>()
  private readonly durations: number[] = []
  private readonly backoff: BackoffOptions
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>
  private readonly random: () => number
  private readonly now: () => number
  private readonly findTemplate: (id: string) => SlideTemplate | undefined
  private readonly imageUrl: (key: string) => string
  private readonly initialPageSeconds: number
  private readonly writes = new Set<Promise<void>>()
  private closed = false

  constructor(private readonly deps: BatchManagerDeps) {
    this.backoff = { baseMs: 1000, maxMs: 30_000, maxRetryAfterMs: 120_000, ...deps.backoff }
    this.sleep = deps.sleep ?? defaultSleep
    this.random = deps.random ?? Math.random
    this.now = deps.now ?? Date.now
    this.findTemplate = deps.findTemplate ?? defaultFindTemplate
    this.imageUrl = deps.imageUrl ?? (key => `/api/v1/images/${key}`)
    this.initialPageSeconds = deps.initialPageSeconds ?? INITIAL_PAGE_SECONDS[deps.provider.name] ?? 20
  }

  /** Loads persisted batches and the duplicate cache; unfinished pages become failed "interrupted". */
  async init(): Promise<void> {
    const cache = await this.deps.storage.loadJson('cache')
    if (cache && typeof cache === 'object') {
      for (const [k, v] of Object.entries(cache as Record<string, unknown>)) {
        const e = v as Partial<CacheEntry> | null
        if (e && typeof e.image_key === 'string' && typeof e.thumbnail_key === 'string') this.cache.set(k, { image_key: e.image_key, thumbnail_key: e.thumbnail_key, ...(e.shortened ? { shortened: true } : {}) })
      }
    }
    let recovered = 0
    for (const raw of await this.deps.storage.loadBatches()) {
      const state = raw as BatchRecord
      if (!state || state.version !== 1 || typeof state.batch_id !== 'string' || !Array.isArray(state.pages)) continue
      const rt = this.runtime(state)
      let interrupted = 0
      for (const page of state.pages) {
        if (page.status === 'pending' || page.status === 'generating') {
          page.status = 'failed'
          page.error_code = 'interrupted'
          page.error_message = 'interrupted — retry'
          page.bypass_cache = false
          interrupted++
        }
      }
      if (!FINAL.includes(state.status) || interrupted) state.status = this.finalStatus(state)
      // the finished batch's stream must still be able to say `done`
      rt.log.append('done', this.doneEvent(state))
      this.batches.set(state.batch_id, rt)
      // unchanged finished batches are not rewritten (their `done` id is re-derived on each start)
      if (interrupted) this.persist(rt)
      recovered++
      if (interrupted) this.deps.logger.warn('batch recovered after restart', { batch: state.batch_id, interrupted_pages: interrupted })
    }
    if (recovered) this.deps.logger.info('batches loaded from disk', { batches: recovered })
  }

  // -------------------------------------------------------------------------------------------
  // Public API used by the routes

  create(input: CreateBatchInput): CreateBatchResponse {
    const template = this.findTemplate(input.template_id)
    if (!template) {
      throw new ApiError(400, 'unknown_template', `Unknown template "${input.template_id}"`, {
        details: [{ path: 'template_id', message: 'No template with this id; GET /api/v1/templates lists them' }],
      })
    }
    this.admit(input.pages.length)

    const o = input.options ?? {}
    const options: BatchOptions = {
      aspect_ratio: o.aspect_ratio ?? DEFAULT_OPTIONS.aspect_ratio,
      resolution: o.resolution ?? this.deps.defaultResolution,
      mode: o.mode ?? DEFAULT_OPTIONS.mode,
      language: o.language ?? DEFAULT_OPTIONS.language,
      extra_prompt: o.extra_prompt ?? DEFAULT_OPTIONS.extra_prompt,
      style_chain: o.style_chain ?? DEFAULT_OPTIONS.style_chain,
    }
    const nowIso = new Date(this.now()).toISOString()
    const state: BatchRecord = {
      version: 1,
      batch_id: `b_${randomBytes(12).toString('hex')}`,
      created_at: nowIso,
      updated_at: nowIso,
      template_id: template.id,
      deck_title: input.deck_title,
      options,
      status: 'pending',
      last_event_id: 0,
      pages: input.pages.map((p, i) => ({
        page_number: i + 1,
        slide_id: p.slide_id,
        page_type: p.page_type ?? (i === 0 ? 'cover' : 'content'),
        title: p.title,
        content: p.content,
        ...(p.notes !== undefined ? { notes: p.notes } : {}),
        ...(p.text_boxes?.length ? { text_boxes: p.text_boxes } : {}),
        status: 'pending',
        image_key: null,
        thumbnail_key: null,
        error_message: null,
        error_code: null,
        retry_count: 0,
        instruction: null,
        previous_image_key: null,
        bypass_cache: false,
      })),
    }
    const rt = this.runtime(state)
    this.batches.set(state.batch_id, rt)
    this.persist(rt)

    const chained = options.style_chain && state.pages.length > 1
    rt.chainHeld = chained
    const first = chained ? [state.pages[0]] : state.pages
    for (const page of first) this.enqueue(rt, page.page_number)

    this.deps.logger.info('batch created', {
      batch: state.batch_id, pages: state.pages.length, template: template.id, resolution: options.resolution,
      mode: options.mode, style_chain: chained,
    })
    return { batch_id: state.batch_id, status: 'pending', total_pages: state.pages.length, estimated_time: this.estimateRemaining(rt) }
  }

  has(batchId: string): boolean {
    return this.batches.has(batchId)
  }

  progress(batchId: string): BatchProgress {
    return this.progressOf(this.get(batchId))
  }

  cancel(batchId: string): BatchProgress {
    const rt = this.get(batchId)
    const s = rt.state
    if (FINAL.includes(s.status)) return this.progressOf(rt) // nothing left to cancel
    s.status = 'cancelled'
    rt.chainHeld = false
    const dropped = this.deps.queue.dropBatch(s.batch_id)
    let aborted = 0
    for (const [n, ctrl] of rt.controllers) {
      if (rt.inFlight.has(n)) aborted++
      ctrl.abort(new ProviderError('aborted', 'cancelled', 'Cancelled'))
    }
    rt.controllers.clear()
    for (const page of s.pages) {
      if (page.status === 'pending' || page.status === 'generating') {
        page.status = 'cancelled'
        page.error_message = null
        page.error_code = null
        this.emitPage(rt, page)
      }
    }
    this.emitProgress(rt)
    rt.log.append('done', this.doneEvent(s))
    rt.styleRef = undefined
    this.scheduleCompaction(rt)
    this.persist(rt)
    this.deps.logger.info('batch cancelled', { batch: s.batch_id, dropped_queued: dropped, aborted_in_flight: aborted })
    return this.progressOf(rt)
  }

  retryPage(batchId: string, pageNumber: number, instruction?: string): BatchProgress {
    const rt = this.get(batchId)
    const page = rt.state.pages[pageNumber - 1]
    if (!page) throw notFound(`Page ${pageNumber} of this batch`)
    if (page.status === 'pending' || page.status === 'generating') {
      throw new ApiError(409, 'page_busy', `Page ${pageNumber} is still ${page.status}; wait for it to finish before retrying`)
    }
    this.admit(1)
    const wasFinal = FINAL.includes(rt.state.status)
    // the last good image survives failed attempts, so a later revision can still start from it
    page.previous_image_key = page.status === 'completed' ? page.image_key : page.previous_image_key
    page.instruction = instruction || null
    page.status = 'pending'
    page.image_key = null
    page.thumbnail_key = null
    delete page.shortened
    page.error_message = null
    page.error_code = null
    page.retry_count++
    page.bypass_cache = true
    rt.attempts.delete(pageNumber)
    if (wasFinal) rt.state.status = 'generating'
    this.emitPage(rt, page)
    this.emitProgress(rt)
    this.persist(rt)
    this.enqueue(rt, pageNumber)
    this.deps.logger.info('page retry queued', { batch: batchId, page: pageNumber, with_instruction: !!instruction })
    return this.progressOf(rt)
  }

  sseSource(batchId: string): SseSource {
    const rt = this.get(batchId)
    return {
      log: rt.log,
      snapshot: () => this.progressOf(rt),
      finished: () => FINAL.includes(rt.state.status),
    }
  }

  /** running = upstream calls in flight; queued = pages accepted but not running (incl. backoff and style-chain waits) */
  stats(): { running: number; queued: number; capacity: number; concurrency: number } {
    const q = this.deps.queue.stats()
    return { running: q.running, queued: this.waitingPages(), capacity: this.deps.maxQueuedPages, concurrency: q.concurrency }
  }

  /** Average seconds per page (moving average of recent upstream calls). */
  averagePageSeconds(): number {
    if (this.durations.length === 0) return this.initialPageSeconds
    return this.durations.reduce((a, b) => a + b, 0) / this.durations.length / 1000
  }

  /** Resolves once every pending state write (and thumbnail) has reached the disk. */
  async flush(): Promise<void> {
    while (this.writes.size) await Promise.allSettled([...this.writes])
  }

  /** Stops everything in flight (shutdown); pages left unfinished become "interrupted" on next start. */
  async close(): Promise<void> {
    this.closed = true
    for (const rt of this.batches.values()) {
      this.deps.queue.dropBatch(rt.state.batch_id)
      for (const ctrl of rt.controllers.values()) ctrl.abort(new ProviderError('aborted', 'shutdown', 'The proxy is shutting down'))
    }
    await this.flush()
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  private get(batchId: string): BatchRuntime {
    const rt = this.batches.get(batchId)
    if (!rt) throw notFound('Batch')
    return rt
  }

  private runtime(state: BatchRecord): BatchRuntime {
    return {
      state,
      log: new BatchEventLog(state.last_event_id ?? 0),
      controllers: new Map(),
      inFlight: new Set(),
      attempts: new Map(),
      chainHeld: false,
    }
  }

  private waitingPages(): number {
    let unfinished = 0
    for (const rt of this.batches.values()) {
      if (FINAL.includes(rt.state.status) && rt.controllers.size === 0) continue
      for (const p of rt.state.pages) if (p.status === 'pending' || p.status === 'generating') unfinished++
    }
    return Math.max(0, unfinished - this.deps.queue.stats().running)
  }

  /** 429 when accepting `pages` more would queue beyond MAX_QUEUED_PAGES. */
  private admit(pages: number): void {
    const waiting = this.waitingPages()
    if (waiting + pages <= this.deps.maxQueuedPages) return
    const concurrency = this.deps.queue.concurrency
    const excess = waiting + pages - this.deps.maxQueuedPages
    const retryAfter = Math.min(3600, Math.max(1, Math.ceil(Math.ceil(excess / concurrency) * this.averagePageSeconds())))
    throw new ApiError(429, 'queue_full', `The generation queue is full (${waiting} pages waiting, limit ${this.deps.maxQueuedPages}); try again in about ${retryAfter} s`, {
      headers: { 'Retry-After': String(retryAfter) },
    })
  }

  private enqueue(rt: BatchRuntime, pageNumber: number, front = false): void {
    if (this.closed) return
    this.deps.queue.push({ batchId: rt.state.batch_id, run: () => this.attempt(rt, pageNumber) }, { front })
  }

  private async attempt(rt: BatchRuntime, n: number): Promise<void> {
    const s = rt.state
    const page = s.pages[n - 1]
    if (s.status === 'cancelled' || (page.status !== 'pending' && page.status !== 'generating')) return
    let ctrl = rt.controllers.get(n)
    if (!ctrl || ctrl.signal.aborted) {
      ctrl = new AbortController()
      rt.controllers.set(n, ctrl)
    }
    const signal = ctrl.signal
    if (s.status === 'pending') s.status = 'generating'
    if (page.status === 'pending') {
      page.status = 'generating'
      this.emitPage(rt, page)
      this.emitProgress(rt)
      this.persist(rt)
    }
    rt.inFlight.add(n)
    const started = this.now()
    let req: GenerateRequest
    let cacheKey: string
    let image: GeneratedImage
    let providerMs: number
    try {
      req = await this.buildRequest(rt, page, signal)
      cacheKey = this.cacheKey(req)
      const hit = page.bypass_cache ? null : await this.cacheLookup(cacheKey)
      if (hit) {
        rt.inFlight.delete(n)
        this.complete(rt, page, hit, started, true)
        return
      }
      const callStarted = this.now()
      image = await this.deps.provider.generate(req)
      providerMs = this.now() - callStarted
    } catch (err) {
      rt.inFlight.delete(n)
      this.onAttemptError(rt, page, ctrl, err)
      return
    }
    rt.inFlight.delete(n)
    if (signal.aborted || page.status !== 'generating') return
    // The upstream call is over: free the queue slot now and store the image alongside the next
    // call (MAX_CONCURRENT_GENERATIONS limits upstream calls, not local image work).
    void this.store(rt, page, ctrl, image, cacheKey, providerMs, started)
  }

  private async store(rt: BatchRuntime, page: PageRecord, ctrl: AbortController, image: GeneratedImage, cacheKey: string, providerMs: number, started: number): Promise<void> {
    try {
      const saveStarted = this.now()
      const saved = await this.deps.storage.saveImage(image.bytes)
      const saveMs = this.now() - saveStarted
      // the thumbnail is made after the page completes; its failure is logged, never the page's
      this.track(saved.thumbnail.then(t => {
        if (!t.ok) this.deps.logger.warn('thumbnail could not be made (it is retried when requested)', { image: saved.imageKey, error: t.error })
        this.deps.onPageTiming?.({ providerMs, saveMs, thumbnailReadyMs: t.readyMs, thumbnailWorkMs: t.workMs, thumbnailOk: t.ok })
      }))
      const stored: CacheEntry = { image_key: saved.imageKey, thumbnail_key: saved.thumbnailKey, ...(image.shortened ? { shortened: true } : {}) }
      this.recordDuration(providerMs)
      this.cache.set(cacheKey, stored)
      this.saveCache()
      if (ctrl.signal.aborted || page.status !== 'generating') return
      this.complete(rt, page, stored, started, false)
    } catch (err) {
      this.onAttemptError(rt, page, ctrl, err)
    }
  }

  private complete(rt: BatchRuntime, page: PageRecord, stored: CacheEntry, started: number, cached: boolean): void {
    if (page.status !== 'generating') return
    page.status = 'completed'
    page.image_key = stored.image_key
    page.thumbnail_key = stored.thumbnail_key
    if (stored.shortened) page.shortened = true
    else delete page.shortened
    page.error_message = null
    page.error_code = null
    page.bypass_cache = false
    page.previous_image_key = null
    this.deps.logger.info('page completed', { batch: rt.state.batch_id, page: page.page_number, ms: this.now() - started, cached })
    this.settle(rt, page)
  }

  private onAttemptError(rt: BatchRuntime, page: PageRecord, ctrl: AbortController, err: unknown): void {
    const s = rt.state
    const n = page.page_number
    if (page.status !== 'generating') return // cancelled meanwhile: already reported
    const pe = this.classify(err)
    if (ctrl.signal.aborted || pe.kind === 'aborted') {
      if (this.closed) return // shutdown: left for restart recovery
      page.status = 'cancelled'
      this.settle(rt, page)
      return
    }
    const used = rt.attempts.get(n) ?? 0
    if (pe.kind === 'retryable' && used < this.deps.maxRetries) {
      rt.attempts.set(n, used + 1)
      page.retry_count++
      const delay = this.retryDelay(used + 1, pe.retryAfterMs)
      this.deps.logger.warn('page attempt failed, retrying', { batch: s.batch_id, page: n, code: pe.code, retry: used + 1, delay_ms: delay })
      this.emitPage(rt, page)
      this.persist(rt)
      this.sleep(delay, ctrl.signal).then(
        () => { if (page.status === 'generating' && !this.closed) this.enqueue(rt, n, true) },
        () => { /* aborted: cancel already reported the page */ },
      )
      return
    }
    page.status = 'failed'
    page.error_code = pe.code
    page.error_message = pe.kind === 'retryable'
      ? `${pe.message} (gave up after ${used} ${used === 1 ? 'retry' : 'retries'})`
      : pe.message
    this.deps.logger.warn('page failed', { batch: s.batch_id, page: n, code: pe.code, kind: pe.kind })
    this.settle(rt, page)
  }

  private classify(err: unknown): ProviderError {
    if (err instanceof ProviderError) return err
    if (err instanceof InvalidImageError) return new ProviderError('retryable', 'invalid_image', err.message)
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

  /** A page reached completed / failed / cancelled. */
  private settle(rt: BatchRuntime, page: PageRecord): void {
    const s = rt.state
    rt.controllers.delete(page.page_number)
    this.emitPage(rt, page)
    if (rt.chainHeld && page.page_number === 1) {
      rt.chainHeld = false
      for (const p of s.pages) if (p.page_number !== 1 && p.status === 'pending') this.enqueue(rt, p.page_number)
    }
    this.emitProgress(rt)
    if (s.status !== 'cancelled' && s.pages.every(p => PAGE_DONE.includes(p.status))) {
      s.status = this.finalStatus(s)
      rt.log.append('done', this.doneEvent(s))
      rt.styleRef = undefined
      this.scheduleCompaction(rt)
      this.deps.logger.info('batch finished', { batch: s.batch_id, status: s.status, ...this.countsOf(s) })
    }
    this.persist(rt)
  }

  private scheduleCompaction(rt: BatchRuntime): void {
    const doneId = rt.log.lastId
    const timer = setTimeout(() => {
      // only if nothing happened since (a page retry reopens the batch)
      if (rt.log.lastId === doneId) rt.log.compact()
    }, this.deps.eventRetentionMs ?? 10 * 60_000)
    timer.unref?.()
  }

  private finalStatus(s: BatchRecord): BatchStatus {
    const ok = s.pages.filter(p => p.status === 'completed').length
    const cancelled = s.pages.filter(p => p.status === 'cancelled').length
    if (ok === s.pages.length) return 'completed'
    if (ok === 0) return cancelled === s.pages.length ? 'cancelled' : 'failed'
    return 'partial'
  }

  private async buildRequest(rt: BatchRuntime, page: PageRecord, signal: AbortSignal): Promise<GenerateRequest> {
    const s = rt.state
    const template = this.findTemplate(s.template_id)
    if (!template) throw new ProviderError('fatal', 'unknown_template', `The template "${s.template_id}" no longer exists`)
    const references: ReferenceImage[] = []
    const templateRef = await this.deps.templateRefs.get(template)
    if (templateRef) references.push(templateRef)
    const first = s.pages[0]
    if (s.options.style_chain && page.page_number !== 1 && first.status === 'completed' && first.image_key) {
      const chain = await this.styleChainRef(rt, first.image_key)
      if (chain) references.push(chain)
    }
    if (page.instruction && page.previous_image_key) {
      const prev = await this.deps.storage.readImage(page.previous_image_key)
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
    }
  }

  /** Page 1's image as a small JPEG reference, read from disk once per batch (not kept as full bytes). */
  private styleChainRef(rt: BatchRuntime, key: string): Promise<ReferenceImage | null> {
    if (rt.styleRef?.key !== key) {
      const ref = this.deps.storage.readImage(key).then(b => (b ? toReference(b, 'style_chain') : null))
      rt.styleRef = { key, ref }
    }
    return rt.styleRef.ref
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
    const hit = this.cache.get(key)
    if (!hit) return null
    const [img, thumb] = await Promise.all([this.deps.storage.resolveImage(hit.image_key), this.deps.storage.resolveImage(hit.thumbnail_key)])
    if (img && thumb) return hit
    this.cache.delete(key)
    return null
  }

  private saveCache(): void {
    this.track(this.deps.storage.saveJson('cache', Object.fromEntries(this.cache)))
  }

  private recordDuration(ms: number): void {
    this.durations.push(ms)
    if (this.durations.length > DURATION_WINDOW) this.durations.shift()
  }

  private persist(rt: BatchRuntime): void {
    rt.state.last_event_id = rt.log.lastId
    rt.state.updated_at = new Date(this.now()).toISOString()
    this.track(this.deps.storage.saveBatch(rt.state.batch_id, rt.state))
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch(err => {
      this.deps.logger.error('could not save state', { error: err instanceof Error ? err.message : String(err) })
    })
    this.writes.add(tracked)
    void tracked.finally(() => this.writes.delete(tracked))
  }

  // ---- wire shapes --------------------------------------------------------------------------

  private resultOf(p: PageRecord): PageResult {
    return {
      page_number: p.page_number,
      slide_id: p.slide_id,
      status: p.status,
      image_url: p.image_key ? this.imageUrl(p.image_key) : null,
      thumbnail_url: p.thumbnail_key ? this.imageUrl(p.thumbnail_key) : null,
      error_message: p.error_message,
      error_code: p.error_code,
      retry_count: p.retry_count,
      ...(p.shortened ? { shortened: true } : {}),
    }
  }

  private countsOf(s: BatchRecord): ProgressCounts {
    const total = s.pages.length
    const completed = s.pages.filter(p => p.status === 'completed').length
    const failed = s.pages.filter(p => p.status === 'failed').length
    const done = s.pages.filter(p => PAGE_DONE.includes(p.status)).length
    return {
      current_page: FINAL.includes(s.status) ? total : Math.min(total, done + 1),
      total_pages: total,
      completed_pages: completed,
      failed_pages: failed,
      percentage: Math.round((done / total) * 100),
    }
  }

  /** Seconds left: remaining pages in rounds of this batch's fair share of the slots. */
  private estimateRemaining(rt: BatchRuntime): number {
    const remaining = rt.state.pages.filter(p => !PAGE_DONE.includes(p.status)).length
    if (remaining === 0) return 0
    let active = 0
    for (const other of this.batches.values()) if (!FINAL.includes(other.state.status)) active++
    const share = Math.max(1, Math.floor(this.deps.queue.concurrency / Math.max(1, active)))
    const rounds = Math.ceil((rt.chainHeld ? remaining - 1 : remaining) / share) + (rt.chainHeld ? 1 : 0)
    return Math.max(1, Math.ceil(rounds * this.averagePageSeconds()))
  }

  private progressOf(rt: BatchRuntime): BatchProgress {
    return {
      batch_id: rt.state.batch_id,
      status: rt.state.status,
      progress: this.countsOf(rt.state),
      results: rt.state.pages.map(p => this.resultOf(p)),
      estimated_remaining_time: this.estimateRemaining(rt),
    }
  }

  private doneEvent(s: BatchRecord): DoneEvent {
    const c = this.countsOf(s)
    return { status: s.status, completed_pages: c.completed_pages, failed_pages: c.failed_pages }
  }

  private emitPage(rt: BatchRuntime, page: PageRecord): void {
    rt.log.append('page', this.resultOf(page))
  }

  private emitProgress(rt: BatchRuntime): void {
    const e: ProgressEvent = { ...this.countsOf(rt.state), estimated_remaining_time: this.estimateRemaining(rt) }
    const json = JSON.stringify(e)
    if (json === rt.lastProgress) return
    rt.lastProgress = json
    rt.log.append('progress', e)
  }
}
