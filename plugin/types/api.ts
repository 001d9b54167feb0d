// Wire types of the extension ⇄ proxy contract (shared/design/api.md). snake_case as on the wire.
// The proxy validates the same shapes with zod (server/schemas.ts); keep both in step.

export type PageType = 'cover' | 'contents' | 'transition' | 'content' | 'end'
export type GenerationMode = 'full' | 'background'
export type Resolution = '1K' | '2K' | '4K'
export type AspectRatio = '1:1' | '2:3' | '3:2' | '3:4' | '4:3' | '4:5' | '5:4' | '9:16' | '16:9' | '21:9'
export type ProviderName = 'gemini' | 'openai-chat' | 'openai-images' | 'preview'

/** A rectangle on the slide in fractions of its width (x, w) and height (y, h), each 0..1. */
export interface TextBoxRect {
  x: number
  y: number
  w: number
  h: number
}

export interface PageInput {
  slide_id: string
  page_type?: PageType
  title: string
  content: string
  notes?: string
  /** background mode: where the slide's own text boxes sit, kept free of strong decoration */
  text_boxes?: TextBoxRect[]
}

export interface BatchOptions {
  aspect_ratio: AspectRatio
  resolution: Resolution
  mode: GenerationMode
  language: string
  extra_prompt: string
  style_chain: boolean
}

export interface CreateBatchRequest {
  template_id: string
  deck_title: string
  pages: PageInput[]
  options?: Partial<BatchOptions>
  /** webhook: POSTed the done event and the results when the batch finishes (docs/api.md, Webhooks) */
  callback_url?: string
}

export interface CreateBatchResponse {
  batch_id: string
  status: BatchStatus
  total_pages: number
  estimated_time: number
}

export type BatchStatus = 'pending' | 'generating' | 'completed' | 'partial' | 'failed' | 'cancelled'
export type PageStatus = 'pending' | 'generating' | 'completed' | 'failed' | 'cancelled'

export interface PageResult {
  page_number: number
  slide_id: string
  status: PageStatus
  image_url: string | null
  thumbnail_url: string | null
  error_message: string | null
  /** machine code of the failure (e.g. safety_refused, invalid_api_key), null when none */
  error_code?: string | null
  retry_count: number
  /** present and true when the image could not show all of the page's text (offline preview: ended with "…") */
  shortened?: boolean
  /** present and true while the page waits (pending) because a spend budget does not allow its call yet */
  waiting_for_budget?: boolean
  /** with waiting_for_budget: when the budget allows the page's call by the spend so far (ISO 8601, UTC); a refund may free it sooner */
  budget_resumes_at?: string
}

export interface ProgressCounts {
  current_page: number
  total_pages: number
  completed_pages: number
  failed_pages: number
  percentage: number
}

export interface BatchProgress {
  batch_id: string
  status: BatchStatus
  progress: ProgressCounts
  results: PageResult[]
  estimated_remaining_time: number
  /** the proxy holds calls back until the upstream's rate limit frees (429); the estimate includes the wait */
  waiting_for_quota?: boolean
  /** pages of this batch wait for a spend budget (the proxy's per day / 10 minutes, or the client's own); they do not fail */
  waiting_for_budget?: boolean
  /** with waiting_for_budget: seconds until a budget allows the next waiting page (the estimate includes them) */
  budget_resumes_in_seconds?: number
}

export interface ProgressEvent extends ProgressCounts {
  estimated_remaining_time: number
  /** as in BatchProgress */
  waiting_for_quota?: boolean
  waiting_for_budget?: boolean
  budget_resumes_in_seconds?: number
}

export interface DoneEvent {
  status: BatchStatus
  completed_pages: number
  failed_pages: number
}

/** What the proxy accepts (server/schemas.ts LIMITS), announced in GET /api/v1/health. */
export interface ProxyLimits {
  max_pages: number
  /** title + content + notes characters of one page */
  max_page_text_chars: number
  max_text_boxes: number
  max_extra_prompt_chars: number
  max_instruction_chars: number
  max_deck_title_chars: number
}

export interface HealthResponse {
  ok: true
  provider: ProviderName
  model: string
  preview?: boolean
  queue: { running: number; queued: number; capacity: number; concurrency: number }
  /** absent from proxies older than this field */
  limits?: ProxyLimits
  /** spend at list price (USD) and the budgets (null: none); exhausted_for_seconds when new work is refused now */
  spend?: { today_usd: number; last_10min_usd: number; budget_usd_per_day: number | null; budget_usd_per_10min: number | null; exhausted_for_seconds: number | null }
}

export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown[] }
}

/** One size the configured model can be asked for, with its price (GET /api/v1/models). */
export interface ModelSizeInfo {
  size: Resolution
  /** US dollars per image; null when the price is unknown (never a guess) */
  price_usd: number | null
  /** list: the provider's price list; third-party: published estimates; override: PRICE_PER_IMAGE_USD */
  price_source: 'list' | 'third-party' | 'override' | null
  /** the proxy's deadline for one upstream call at this size, seconds (null for the offline preview) */
  timeout_s: number | null
}

export type ModelStatus = 'current' | 'retired'

/** The model the proxy is configured with. */
export interface ConfiguredModel {
  id: string
  name: string
  /** false: an id the catalogue does not know; passed through, capabilities assumed conservatively */
  known: boolean
  status: ModelStatus
  retired_on: string | null
  replacement: string | null
  sizes: ModelSizeInfo[]
  aspect_ratios: string[]
  /** the model draws a few fixed sizes only; the proxy crops its images to the deck's aspect ratio */
  fixed_size: boolean
  max_reference_images: number
}

/** A catalogue row (every model the proxy knows, current or retired). */
export interface CatalogueModel {
  id: string
  name: string
  aliases: string[]
  status: ModelStatus
  retired_on: string | null
  replacement: string | null
  /** every size the model accepts upstream (may include 0.5K) */
  sizes: string[]
  aspect_ratios: string[]
  /** list price per image by size, US dollars; null = unknown */
  price_usd: Record<string, number | null>
}

export interface ModelsResponse {
  provider: ProviderName
  model: ConfiguredModel
  default_resolution: Resolution
  catalogue: CatalogueModel[]
}
