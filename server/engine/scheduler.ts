// Scheduler seam: which page's upstream attempt runs next. One job is ONE upstream attempt of one
// page; a page waiting out a retry backoff is a delayed job and holds no slot.
//
// MemoryScheduler is the one-process set-up: GenerationQueue (p-queue + per-batch lanes taken in
// turn, server/queue.ts) and timers for delayed retries.
//
// Quota: the runner reports each upstream answer through the UpstreamFeedback it is handed; a rate
// limit holds back every job until the quota frees and the pace adapts (server/adaptiveLimit.ts, the
// pure part any set-up can share). A rate-limited page is queued again at the front, without delay:
// the hold is the wait.
import { GenerationQueue } from '../queue.js'

export interface AttemptJob {
  batchId: string
  pageNumber: number
  /** this job was started before by a process that stopped (its upstream call may have been paid) */
  redelivered?: boolean
}

export interface EnqueueOptions {
  /** ahead of the batch's other waiting pages (a retry after its backoff) */
  front?: boolean
  /** wait this long before the job may run (retry backoff, RetryInfo / Retry-After) */
  delayMs?: number
}

export interface SchedulerStats {
  /** attempts running now */
  running: number
  /** jobs waiting (not delayed) */
  queued: number
  /** upstream calls allowed at once */
  concurrency: number
}

/** What the runner tells the scheduler about one upstream call (quota-aware scheduling). */
export interface UpstreamFeedback {
  /** the upstream answered with anything but a rate limit */
  answered(): void
  /** the upstream said "rate limited" (429 / RESOURCE_EXHAUSTED); returns when calls go out again (ms, Date.now clock) */
  rateLimited(retryAfterMs?: number): number | Promise<number>
  /**
   * Durable schedulers: the upstream call is over and its answer is being stored — free the slot now
   * but keep the page safe: if this process dies before the returned function is called (once the
   * outcome is committed), another one runs the page again.
   */
  detach?(): Promise<() => Promise<void>>
}

/** The scheduler's view of the upstream quota, for progress and estimates. */
export interface QuotaState {
  /** calls are held back until the quota frees */
  waiting: boolean
  /** ms until the hold ends (0 when not waiting) */
  holdMs: number
  /** learned ms between call starts (null: none learned, concurrency is the limit) */
  spacingMs: number | null
}

/** Runs one attempt; must not throw (the page runner handles its own errors). */
export type AttemptRunner = (job: AttemptJob, feedback?: UpstreamFeedback) => Promise<void>

export interface Scheduler {
  /**
   * true: a job is kept (and taken over by another process if this one dies) until the attempt has
   * committed its outcome, so the engine holds the slot while storing the image; false: the slot is
   * freed when the upstream call ends (restart recovery handles a crash).
   */
  readonly durable: boolean
  /** Starts taking jobs; `run` is called for each (once set). */
  start(run: AttemptRunner): void
  enqueue(job: AttemptJob, opts?: EnqueueOptions): Promise<void>
  /** Drops every waiting or delayed job of a batch (not the running ones); returns how many. */
  dropBatch(batchId: string): Promise<number>
  stats(): Promise<SchedulerStats>
  /** upstream calls allowed at once */
  readonly concurrency: number
  /** the quota-aware view (both set-ups) */
  quota?(): QuotaState
  /** called with true when a hold after a rate limit begins, false when it ends */
  onQuotaWait?(listener: (waiting: boolean) => void): () => void
  /** Stops taking jobs and drops the waiting ones (running ones are aborted by the caller). */
  close(): Promise<void>
}

export interface MemorySchedulerOptions {
  concurrency: number
  /** UPSTREAM_RPM: attempts started per minute (per `rateIntervalMs` in tests) */
  rpm?: number
  rateIntervalMs?: number
  /** the longest hold after a rate limit (default 10 min) */
  maxHoldMs?: number
  /** waits ms or rejects when the signal aborts (tests pass a fast one) */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
}

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

export class MemoryScheduler implements Scheduler {
  readonly durable = false
  readonly queue: GenerationQueue
  private run: AttemptRunner | null = null
  /** per batch: aborts its delayed jobs */
  private readonly delayed = new Map<string, { ctrl: AbortController; count: number }>()
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>
  private closed = false
  /** batches that may have a lane (dropped on close) */
  private readonly pushedTo = new Set<string>()

  constructor(opts: MemorySchedulerOptions) {
    this.queue = new GenerationQueue(opts.concurrency, {
      rpm: opts.rpm, intervalMs: opts.rateIntervalMs,
      limit: { maxHoldMs: opts.maxHoldMs ?? 10 * 60_000 },
    })
    this.sleep = opts.sleep ?? defaultSleep
  }

  get concurrency(): number {
    return this.queue.concurrency
  }

  quota(): QuotaState {
    const l = this.queue.limits()
    return { waiting: this.queue.waitingForQuota, holdMs: l.holdMs, spacingMs: l.spacingMs }
  }

  onQuotaWait(listener: (waiting: boolean) => void): () => void {
    return this.queue.onHoldChange(listener)
  }

  start(run: AttemptRunner): void {
    this.run = run
  }

  async enqueue(job: AttemptJob, opts: EnqueueOptions = {}): Promise<void> {
    if (this.closed) return
    if (opts.delayMs === undefined) return this.push(job, opts.front ?? false)
    let d = this.delayed.get(job.batchId)
    if (!d) {
      d = { ctrl: new AbortController(), count: 0 }
      this.delayed.set(job.batchId, d)
    }
    const entry = d
    entry.count++
    this.sleep(opts.delayMs, entry.ctrl.signal).then(
      () => this.push(job, opts.front ?? false),
      () => { /* dropped (cancel or shutdown) */ },
    ).finally(() => {
      if (--entry.count === 0 && this.delayed.get(job.batchId) === entry) this.delayed.delete(job.batchId)
    })
  }

  async dropBatch(batchId: string): Promise<number> {
    this.pushedTo.delete(batchId)
    const d = this.delayed.get(batchId)
    if (d) {
      this.delayed.delete(batchId)
      d.ctrl.abort()
    }
    return this.queue.dropBatch(batchId) + (d?.count ?? 0)
  }

  async stats(): Promise<SchedulerStats> {
    return this.queue.stats()
  }

  async close(): Promise<void> {
    this.closed = true
    for (const id of [...this.delayed.keys()]) await this.dropBatch(id)
    for (const id of this.pushedTo) this.queue.dropBatch(id)
    this.pushedTo.clear()
  }

  private push(job: AttemptJob, front: boolean): void {
    if (this.closed || !this.run) return
    const run = this.run
    this.pushedTo.add(job.batchId)
    if (this.pushedTo.size > 1000) for (const id of this.pushedTo) if (this.queue.queuedFor(id) === 0) this.pushedTo.delete(id)
    this.queue.push({ batchId: job.batchId, run: call => run(job, call) }, { front })
  }
}
