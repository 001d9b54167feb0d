// Restart recovery of one batch (one-process set-up: the queue lived in the stopped process's memory;
// a Redis set-up keeps its jobs in BullMQ and recovers nothing here). Pure: it changes the record
// and says which pages to queue again; BatchManager.init() commits it and queues them.
//
// What a page's record says about where it was when the process stopped:
// - pending: queued, waiting for budget (budget_wait) or for quota (quota_since), or held by the
//   style chain — no upstream call ran for it, nothing was paid: it is queued again.
// - generating with retry_at: an automatic retry waiting out its backoff — its last call is over and
//   was settled: it is queued again after what is left of the backoff.
// - generating without retry_at: its upstream call may have been running (and paid): it fails
//   `interrupted`, for the user to decide whether to retry it.
import { emitPage, emitProgress, doneEvent, finalStatus, PAGE_DONE, type BatchRecord, type EmitEvent, type EstimateContext } from './records.js'

/** A page to queue again: `front` for one that was already at the head of its lane (budget, quota, backoff). */
export interface RequeuedPage {
  pageNumber: number
  front: boolean
  /** ms left of its backoff */
  delayMs?: number
}

export interface Recovered {
  /** pages failed `interrupted` */
  interrupted: number
  /** in page order */
  requeue: RequeuedPage[]
  /** nothing was left to run: the batch is final now (its `done` event emitted) */
  finished: boolean
}

export const INTERRUPTED_MESSAGE = 'interrupted — retry'

/**
 * Recovers `s` in place (a StateStore mutation): fails the pages whose call may have been running,
 * releases a style chain whose first page has settled that way, emits their page events, the
 * progress and, when nothing is left, `done`. `now`: ms since the epoch (the clock of retry_at).
 */
export function recoverBatch(s: BatchRecord, emit: EmitEvent, ctx: EstimateContext, imageUrl: (key: string) => string, now: number): Recovered {
  let interrupted = 0
  for (const page of s.pages) {
    if (page.status !== 'generating' || page.retry_at !== undefined) continue
    page.status = 'failed'
    page.error_code = 'interrupted'
    page.error_message = INTERRUPTED_MESSAGE
    page.bypass_cache = false
    delete page.quota_since
    interrupted++
    emitPage(emit, page, imageUrl)
  }
  // page 1 settled (interrupted): the pages it held go on, as when it fails while running
  if (s.chain_held && PAGE_DONE.includes(s.pages[0].status)) s.chain_held = false
  const requeue: RequeuedPage[] = []
  for (const page of s.pages) {
    const n = page.page_number
    if (page.status === 'generating') requeue.push({ pageNumber: n, front: true, delayMs: Math.max(0, (page.retry_at ?? now) - now) })
    else if (page.status === 'pending' && !(s.chain_held && n !== 1)) requeue.push({ pageNumber: n, front: !!page.budget_wait || page.quota_since !== undefined })
  }
  const finished = s.pages.every(p => PAGE_DONE.includes(p.status))
  if (finished) {
    s.chain_held = false
    s.status = finalStatus(s)
  }
  if (interrupted || finished) emitProgress(s, emit, ctx)
  // the finished batch's stream must still be able to say `done`
  if (finished) emit('done', doneEvent(s))
  return { interrupted, requeue, finished }
}
