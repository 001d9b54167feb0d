// Page and batch lifecycle notifications from the batch engine, for whoever wants to watch it
// (metrics, webhooks) without the engine knowing them. The engine logs the same events itself with
// these fields — the ones of the original design's structured log (original-architecture.md §8.2):
// batch_id, slide_id, page_number, template_id, prompt_length, duration_ms, image_bytes, error_code,
// retry_count, model, resolution.
import type { Resolution } from '../../plugin/types/api.js'
import type { BatchRecord, PageRecord } from './records.js'

/** What every page event carries. */
export interface PageFields {
  batch_id: string
  slide_id: string
  page_number: number
  template_id: string
  model: string
  resolution: Resolution
  /** retries of this page so far (automatic and manual) */
  retry_count: number
}

export interface BatchLifecycle {
  /** an attempt's request is built (prompt_length in characters) and goes to the cache or upstream */
  pageStarted?(f: PageFields & { prompt_length: number }): void
  /** duration_ms: claim → completed; image_bytes: null when the duplicate cache answered */
  pageCompleted?(f: PageFields & { duration_ms: number; image_bytes: number | null; cached: boolean }): void
  /** a transient failure; the page is tried again after delay_ms */
  pageRetrying?(f: PageFields & { error_code: string; delay_ms: number; duration_ms: number }): void
  pageFailed?(f: PageFields & { error_code: string; error_kind: string; duration_ms: number }): void
  /** a page claimed by a replica that died mid-call, claimed again by this one (Redis set-up): it may be paid twice */
  pageTakenOver?(f: PageFields): void
  /** pages ended by a cancel (pending or in flight) */
  pagesCancelled?(batch: BatchRecord, count: number): void
  /** the batch reached a final status (a page retry can reopen it; it then finishes again) */
  batchFinished?(batch: BatchRecord, durationMs: number): void
}

export function pageFields(s: BatchRecord, page: PageRecord, model: string): PageFields {
  return {
    batch_id: s.batch_id,
    slide_id: page.slide_id,
    page_number: page.page_number,
    template_id: s.template_id,
    model,
    resolution: s.options.resolution,
    retry_count: page.retry_count,
  }
}

/** One lifecycle that tells each of `list` in turn; a listener that throws does not stop the others or the engine. */
export function combineLifecycles(list: readonly BatchLifecycle[]): BatchLifecycle {
  const each = <K extends keyof BatchLifecycle>(key: K) => (...args: Parameters<NonNullable<BatchLifecycle[K]>>) => {
    for (const l of list) {
      const fn = l[key] as ((...a: unknown[]) => void) | undefined
      try {
        fn?.apply(l, args)
      } catch {
        // watching must never break a batch
      }
    }
  }
  return {
    pageStarted: each('pageStarted'),
    pageCompleted: each('pageCompleted'),
    pageRetrying: each('pageRetrying'),
    pageFailed: each('pageFailed'),
    pageTakenOver: each('pageTakenOver'),
    pagesCancelled: each('pagesCancelled'),
    batchFinished: each('batchFinished'),
  }
}
