// The batch and page records (what the state store keeps) and the pure functions that turn them
// into the wire shapes of api.md. No I/O here: every set-up (memory + disk, Redis) shares these.
import type {
  BatchOptions, BatchStatus, DoneEvent, PageResult, PageStatus, PageType, ProgressCounts, TextBoxRect,
} from '../../plugin/types/api.js'
import type { BatchEventName } from '../events.js'

/** Queues an event to be committed with the change being made (see StateStore.mutate). */
export type EmitEvent = (event: Exclude<BatchEventName, 'snapshot'>, data: unknown) => void

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
  /** automatic retries used in the current run of the page (reset by a manual retry); absent in old files = 0 */
  auto_retries?: number
  /** shape of the previous unreadable answer in this run (ProviderError.answerShape) */
  last_answer_shape?: string
  /** when the page was first rate limited in its current run (ms since the epoch); cleared by any other answer */
  quota_since?: number
  /** the spend budget does not allow this page's call yet: it waits, pending, holding no slot; cleared when it is claimed */
  budget_wait?: boolean
  /** while budget_wait: when the budget allows its call by the spend totals (ms since the epoch; SpendGuard.wait) */
  budget_resumes_at?: number
  /**
   * an automatic retry waits out its backoff until then (ms since the epoch); the page stays
   * 'generating' but no call runs for it, so restart recovery queues it again instead of failing it.
   * Cleared when the retry is claimed.
   */
  retry_at?: number
  /** revision instruction of the latest manual retry */
  instruction: string | null
  /** last good image while the page is being regenerated (sent as the 'previous' reference with an instruction) */
  previous_image_key: string | null
  /** a manual retry wants a new image, not the cached one */
  bypass_cache: boolean
}

/** The page's own fields: what the client sent, numbered. */
export type PageSource = Pick<PageRecord, 'page_number' | 'slide_id' | 'page_type' | 'title' | 'content' | 'notes' | 'text_boxes'>

/** A page not yet generated: its source, status pending, no image, no error, no retries. */
export function pendingPage(src: PageSource): PageRecord {
  return {
    page_number: src.page_number,
    slide_id: src.slide_id,
    page_type: src.page_type,
    title: src.title,
    content: src.content,
    ...(src.notes !== undefined ? { notes: src.notes } : {}),
    ...(src.text_boxes?.length ? { text_boxes: src.text_boxes } : {}),
    status: 'pending',
    image_key: null,
    thumbnail_key: null,
    error_message: null,
    error_code: null,
    retry_count: 0,
    auto_retries: 0,
    instruction: null,
    previous_image_key: null,
    bypass_cache: false,
  }
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
  /** id of the newest event of this batch (ids increase by one per event) */
  last_event_id: number
  /** style_chain: pages 2..n wait until page 1 has settled */
  chain_held?: boolean
  /** webhook destination: POSTed the `done` event and the results when the batch finishes */
  callback_url?: string
  /** the client that made the batch (token name or `ip:…`); others get 404 */
  client?: string
  /** the last progress event sent (JSON), so an unchanged one is not sent again */
  last_progress?: string
  pages: PageRecord[]
}

/** A finished image and its thumbnail, as the duplicate-request cache keeps them. */
export interface CacheEntry {
  image_key: string
  thumbnail_key: string
  shortened?: boolean
}

export const FINAL: readonly BatchStatus[] = ['completed', 'partial', 'failed', 'cancelled']
export const PAGE_DONE: readonly PageStatus[] = ['completed', 'failed', 'cancelled']

export function isFinal(s: BatchRecord): boolean {
  return FINAL.includes(s.status)
}

/** Pages accepted but not finished (pending or generating). */
export function unfinishedPages(s: BatchRecord): number {
  let n = 0
  for (const p of s.pages) if (p.status === 'pending' || p.status === 'generating') n++
  return n
}

export function finalStatus(s: BatchRecord): BatchStatus {
  const ok = s.pages.filter(p => p.status === 'completed').length
  const cancelled = s.pages.filter(p => p.status === 'cancelled').length
  if (ok === s.pages.length) return 'completed'
  if (ok === 0) return cancelled === s.pages.length ? 'cancelled' : 'failed'
  return 'partial'
}

export function resultOf(p: PageRecord, imageUrl: (key: string) => string): PageResult {
  return {
    page_number: p.page_number,
    slide_id: p.slide_id,
    status: p.status,
    image_url: p.image_key ? imageUrl(p.image_key) : null,
    thumbnail_url: p.thumbnail_key ? imageUrl(p.thumbnail_key) : null,
    error_message: p.error_message,
    error_code: p.error_code,
    retry_count: p.retry_count,
    ...(p.shortened ? { shortened: true } : {}),
    ...(p.budget_wait && p.status === 'pending' ? { waiting_for_budget: true } : {}),
    ...(p.budget_wait && p.status === 'pending' && p.budget_resumes_at !== undefined ? { budget_resumes_at: new Date(p.budget_resumes_at).toISOString() } : {}),
  }
}

export function countsOf(s: BatchRecord): ProgressCounts {
  const total = s.pages.length
  const completed = s.pages.filter(p => p.status === 'completed').length
  const failed = s.pages.filter(p => p.status === 'failed').length
  const done = s.pages.filter(p => PAGE_DONE.includes(p.status)).length
  return {
    current_page: isFinal(s) ? total : Math.min(total, done + 1),
    total_pages: total,
    completed_pages: completed,
    failed_pages: failed,
    percentage: Math.round((done / total) * 100),
  }
}

export function doneEvent(s: BatchRecord): DoneEvent {
  const c = countsOf(s)
  return { status: s.status, completed_pages: c.completed_pages, failed_pages: c.failed_pages }
}

/** What an estimate needs to know beyond the record (shared load and measured speed). */
export interface EstimateContext {
  /** batches not yet finished, across the whole set-up */
  activeBatches: number
  /** upstream calls allowed at once */
  concurrency: number
  /** average seconds per page (moving average of recent upstream calls) */
  pageSeconds: number
  /** the scheduler's view of the upstream quota (absent: no quota information) */
  quota?: { waiting: boolean; holdMs: number; spacingMs: number | null }
  /** the time of the estimate (ms since the epoch; default Date.now()) — for budget waits */
  now?: number
}

/** The spend guard's answer for a page's call (SpendGuard.wait): ms before it looks again (0: it fits now), ms until the budget allows it. */
export interface BudgetWait {
  recheckMs: number
  resumesInMs: number
}

/** Seconds left: remaining pages in rounds of this batch's fair share of the slots. */
export function estimateRemaining(s: BatchRecord, ctx: EstimateContext): number {
  const remaining = s.pages.filter(p => !PAGE_DONE.includes(p.status)).length
  if (remaining === 0) return 0
  const share = Math.max(1, Math.floor(ctx.concurrency / Math.max(1, ctx.activeBatches)))
  const held = !!s.chain_held
  const rounds = Math.ceil((held ? remaining - 1 : remaining) / share) + (held ? 1 : 0)
  let seconds = rounds * ctx.pageSeconds
  const quota = ctx.quota
  if (quota) {
    // under a learned upstream rate (after 429s), this batch's share of it bounds the pace
    if (quota.spacingMs !== null) seconds = Math.max(seconds, (remaining * Math.max(1, ctx.activeBatches) * quota.spacingMs) / 1000 + ctx.pageSeconds)
    seconds += quota.holdMs / 1000
  }
  // pages waiting for a budget start no sooner than it allows (not a fake few seconds)
  const budget = budgetResumesIn(s, ctx.now ?? Date.now())
  if (budget !== null) seconds += budget
  return Math.max(1, Math.ceil(seconds))
}

/**
 * Seconds until a spend budget allows this batch's next waiting page (the earliest of its pages'
 * budget_resumes_at; 0 once that moment has passed and the page is about to look again), or null
 * when no page waits for a budget.
 */
export function budgetResumesIn(s: BatchRecord, now: number): number | null {
  if (isFinal(s)) return null
  let at: number | null = null
  for (const p of s.pages) {
    if (p.status !== 'pending' || !p.budget_wait || p.budget_resumes_at === undefined) continue
    if (at === null || p.budget_resumes_at < at) at = p.budget_resumes_at
  }
  return at === null ? null : Math.max(0, Math.ceil((at - now) / 1000))
}

/** The scheduler holds back calls after a 429 and this batch has pages waiting for it. */
export function waitingForQuota(s: BatchRecord, ctx: EstimateContext): boolean {
  return !!ctx.quota?.waiting && !isFinal(s) && unfinishedPages(s) > 0
}

/** Pages of this batch wait because a spend budget does not allow their calls yet (they do not fail). */
export function waitingForBudget(s: BatchRecord): boolean {
  return !isFinal(s) && s.pages.some(p => p.status === 'pending' && p.budget_wait)
}

/** Emits a page event (inside a mutation). */
export function emitPage(emit: EmitEvent, page: PageRecord, imageUrl: (key: string) => string): void {
  emit('page', resultOf(page, imageUrl))
}

/** Emits a progress event (inside a mutation) unless it would repeat the last one. */
export function emitProgress(s: BatchRecord, emit: EmitEvent, ctx: EstimateContext): void {
  const resumes = budgetResumesIn(s, ctx.now ?? Date.now())
  const e = {
    ...countsOf(s), estimated_remaining_time: estimateRemaining(s, ctx), waiting_for_quota: waitingForQuota(s, ctx), waiting_for_budget: waitingForBudget(s),
    ...(resumes !== null ? { budget_resumes_in_seconds: resumes } : {}),
  }
  const json = JSON.stringify(e)
  if (json === s.last_progress) return
  s.last_progress = json
  emit('progress', e)
}

/** What follows a page settling, after the commit. */
export interface Settled {
  /** style chain: pages released by page 1 settling, to be queued */
  release: number[]
  /** the batch reached its final status */
  finished: boolean
}

/**
 * A page reached completed / failed / cancelled (inside a mutation): its event, the style-chain
 * release, progress, and the batch's end.
 */
export function settlePage(s: BatchRecord, page: PageRecord, emit: EmitEvent, ctx: EstimateContext, imageUrl: (key: string) => string): Settled {
  emitPage(emit, page, imageUrl)
  const release: number[] = []
  if (s.chain_held && page.page_number === 1) {
    s.chain_held = false
    for (const p of s.pages) if (p.page_number !== 1 && p.status === 'pending') release.push(p.page_number)
  }
  emitProgress(s, emit, ctx)
  let finished = false
  if (s.status !== 'cancelled' && s.pages.every(p => PAGE_DONE.includes(p.status))) {
    s.status = finalStatus(s)
    emit('done', doneEvent(s))
    finished = true
  }
  return { release, finished }
}
