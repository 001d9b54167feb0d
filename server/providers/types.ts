// One interface for every image provider (gemini, openai-chat, openai-images, preview).
// The queue and batches only ever see this; each provider lives in its own module.
import type { AspectRatio, GenerationMode, PageType, ProviderName, Resolution, TextBoxRect } from '../../plugin/types/api.js'
import type { HostPolicy } from '../net/safeHttp.js'
import type { SlideTemplate } from '../../plugin/configs/nanoBananaTemplates.js'

export type ImageMime = 'image/png' | 'image/jpeg'

export interface ReferenceImage {
  /** what the reference is for; providers may mention it in the request */
  role: 'template' | 'style_chain' | 'previous'
  mime: ImageMime
  bytes: Buffer
}

/** Structured page facts, for providers that draw the slide themselves (preview). */
export interface PageContext {
  template: SlideTemplate
  deckTitle: string
  pageType: PageType
  pageNumber: number
  totalPages: number
  title: string
  content: string
  mode: GenerationMode
  language: string
  /** the slide's own text boxes (fractions of the slide, 0..1), when the extension sent them */
  textBoxes?: TextBoxRect[]
}

export interface GenerateRequest {
  prompt: string
  references: ReferenceImage[]
  aspectRatio: AspectRatio
  resolution: Resolution
  page: PageContext
  signal: AbortSignal
  /** who the batch belongs to (token name or client IP), for the spend guard's per-client totals */
  client?: string
}

export interface GeneratedImage {
  bytes: Buffer
  /** sniffed from the bytes, never trusted from the upstream label */
  mime: ImageMime
  /** the provider knows the image does not show all of the page's text (preview: a line ended with "…") */
  shortened?: boolean
  /**
   * `bytes` may be a view of a pooled buffer (providers/bufferPool.ts): call this once nothing reads
   * them any more (the image is stored and the store is done with them) so the next answer reuses the
   * buffer. Idempotent. Not calling it is safe (the buffer is collected, only the reuse is lost); call
   * it only when every reader is known to be done.
   */
  release?: () => void
}

export interface ImageProvider {
  readonly name: ProviderName
  readonly model: string
  generate(req: GenerateRequest): Promise<GeneratedImage>
}

/**
 * How a failure should be handled:
 * - retryable: transient (429, 5xx, timeout, network, truncated/garbled body, NO_IMAGE)
 * - fatal: configuration the user/admin must fix (bad key, permission, unknown model, billing, per-day quota)
 * - refused: the model refused the content (safety); retrying the same prompt is pointless
 * - aborted: cancelled by us
 */
export type ProviderErrorKind = 'retryable' | 'fatal' | 'refused' | 'aborted'

export class ProviderError extends Error {
  readonly kind: ProviderErrorKind
  /** machine code, e.g. rate_limited, upstream_unavailable, invalid_api_key, safety_refused */
  readonly code: string
  /** upstream HTTP status when there was one */
  readonly status?: number
  /** server-suggested wait before a retry (RetryInfo / Retry-After), in ms */
  readonly retryAfterMs?: number
  /** rate limits: the quota the upstream named (Gemini QuotaFailure quotaId), for messages */
  readonly quota?: string

  /**
   * A 200 answer we could not read (no image found, not JSON): a short structural description of it.
   * The same shape twice in a row for one page means retrying will not help (the page runner stops).
   */
  readonly answerShape?: string

  constructor(kind: ProviderErrorKind, code: string, message: string, opts: { status?: number; retryAfterMs?: number; quota?: string; cause?: unknown; answerShape?: string } = {}) {
    super(message, { cause: opts.cause })
    this.answerShape = opts.answerShape
    this.name = 'ProviderError'
    this.kind = kind
    this.code = code
    this.status = opts.status
    this.retryAfterMs = opts.retryAfterMs
    this.quota = opts.quota
  }
}

/** What the provider factory (server/providers/index.ts) needs; server/config.ts produces it from env. */
export interface ProviderSettings {
  provider: ProviderName
  /** model id sent upstream (NANO_BANANA_MODEL for gemini / openai-chat, OPENAI_IMAGE_MODEL for openai-images) */
  model: string
  gemini: { apiKey?: string; baseUrl?: string }
  openai: { apiKey?: string; baseUrl?: string }
  /** per upstream call at 1K / 2K, ms (NANO_BANANA_TIMEOUT × 1000) */
  timeoutMs: number
  /** cap on one upstream answer / downloaded image, bytes (MAX_UPSTREAM_RESPONSE_MB; default 64 MB) */
  maxResponseBytes?: number
  /** where a relay's image link may point (ALLOW_PRIVATE_IMAGE_HOSTS; default public addresses only) */
  imageHosts?: HostPolicy
  /** per upstream call at 4K, ms (NANO_BANANA_TIMEOUT_4K × 1000); timeoutMs when absent */
  timeoutMs4K?: number
}

/** The deadline of one upstream call for an image of this size, ms. */
export function timeoutFor(settings: { timeoutMs: number; timeoutMs4K?: number }, resolution: Resolution): number {
  return resolution === '4K' ? Math.max(settings.timeoutMs, settings.timeoutMs4K ?? settings.timeoutMs) : settings.timeoutMs
}
