// The one global generation queue: which page's upstream attempt runs next, across every batch.
//
// - Fairness: each batch keeps its own lane and a task is handed to p-queue only when a call may
//   start, taking lanes in turn (p-queue's own waiting list is FIFO, so a 60-page deck queued first
//   would otherwise run all 60 pages before a 3-page deck got a slot). Every freed slot goes to the
//   batch served longest ago; within a batch, pages keep their order (a rate-limited page goes back
//   to the front of its lane).
// - Quota: an AdaptiveLimit (server/adaptiveLimit.ts) decides when a call may start — the hold after
//   a 429, AIMD on the concurrency limit, the learned rate. The runner reports each call's outcome
//   through the UpstreamCall it is given.
// - UPSTREAM_RPM: p-queue's interval cap in strict (sliding window) mode: at most `rpm` call starts
//   in any 60 s. At most one task waits inside p-queue for it, so cancelling a batch still drops
//   everything else it queued.
import PQueue from 'p-queue'
import { AdaptiveLimit, type AdaptiveLimitOptions, type LimitSnapshot } from './adaptiveLimit.js'

/** Handed to a task when its upstream call may start; the runner reports what the upstream said. */
export interface UpstreamCall {
  /** ms since the epoch (Date.now clock) when the queue let the call out */
  readonly startedAt: number
  /** the upstream answered with anything but a rate limit (the call was accepted) */
  answered(): void
  /**
   * The upstream said "rate limited" (429 / RESOURCE_EXHAUSTED): every queued call is held back.
   * Returns when calls will be let out again (ms since the epoch).
   */
  rateLimited(retryAfterMs?: number): number
}

export interface QueueTask {
  batchId: string
  /** one upstream attempt; must not throw (errors are handled by the caller's run function) */
  run: (call: UpstreamCall) => Promise<void>
}

export interface QueueStats {
  /** tasks handed out (calls in flight, or one waiting for the UPSTREAM_RPM window) */
  running: number
  queued: number
  /** the configured maximum (MAX_CONCURRENT_GENERATIONS) */
  concurrency: number
}

export interface QueueOptions {
  /** UPSTREAM_RPM: at most this many call starts in any `intervalMs` (default 60 s) */
  rpm?: number
  intervalMs?: number
  limit?: Omit<AdaptiveLimitOptions, 'maxConcurrency'>
  /** clock for the limiter (default Date.now) */
  now?: () => number
}

export class GenerationQueue {
  private readonly pq: PQueue
  private readonly limit: AdaptiveLimit
  private readonly now: () => number
  private readonly lanes = new Map<string, QueueTask[]>()
  /** when each batch last got a slot: a batch whose lane empties and refills keeps its place */
  private readonly lastServed = new Map<string, number>()
  private readonly holdListeners = new Set<(waiting: boolean) => void>()
  private serveCounter = 0
  private dispatched = 0
  private wake: { at: number; timer: ReturnType<typeof setTimeout> } | null = null
  private holding = false

  /**
   * @param concurrency upstream calls at once
   * @param opts.rpm UPSTREAM_RPM: at most this many task starts in any `intervalMs` (default 60 000 ms,
   *   i.e. requests per minute; p-queue's interval cap, strict = sliding window)
   */
  constructor(readonly concurrency: number, opts: QueueOptions = {}) {
    this.pq = opts.rpm
      ? new PQueue({ concurrency, intervalCap: opts.rpm, interval: opts.intervalMs ?? 60_000, strict: true })
      : new PQueue({ concurrency })
    this.limit = new AdaptiveLimit({ maxConcurrency: concurrency, ...opts.limit })
    this.now = opts.now ?? Date.now
    // the task waiting for the interval cap has started: the next one may be handed over
    this.pq.on('active', () => queueMicrotask(() => this.pump()))
  }

  /** Queue a task at the back of its batch's lane (or the front, e.g. a retry after backoff). */
  push(task: QueueTask, opts: { front?: boolean } = {}): void {
    let lane = this.lanes.get(task.batchId)
    if (!lane) {
      lane = []
      this.lanes.set(task.batchId, lane)
    }
    if (opts.front) lane.unshift(task)
    else lane.push(task)
    this.pump()
  }

  /** Drop every queued (not yet running) task of a batch; returns how many were dropped. */
  dropBatch(batchId: string): number {
    const lane = this.lanes.get(batchId)
    const n = lane?.length ?? 0
    this.lanes.delete(batchId)
    return n
  }

  /** Drop queued tasks of a batch matching a predicate (e.g. one page). */
  dropWhere(batchId: string, match: (task: QueueTask) => boolean): number {
    const lane = this.lanes.get(batchId)
    if (!lane) return 0
    const kept = lane.filter(t => !match(t))
    const n = lane.length - kept.length
    if (kept.length) this.lanes.set(batchId, kept)
    else this.dropBatch(batchId)
    return n
  }

  queuedFor(batchId: string): number {
    return this.lanes.get(batchId)?.length ?? 0
  }

  stats(): QueueStats {
    let queued = 0
    for (const lane of this.lanes.values()) queued += lane.length
    return { running: this.dispatched, queued, concurrency: this.concurrency }
  }

  /** The limiter's view: current concurrency limit, hold left, learned spacing. */
  limits(): LimitSnapshot & { ratePerSecond: number | null } {
    return { ...this.limit.snapshot(this.now()), ratePerSecond: this.limit.ratePerSecond() }
  }

  /** True while calls are held back after a rate limit. */
  get waitingForQuota(): boolean {
    return this.holding
  }

  /** Called with true when a hold after a rate limit begins, false when it ends. */
  onHoldChange(listener: (waiting: boolean) => void): () => void {
    this.holdListeners.add(listener)
    return () => this.holdListeners.delete(listener)
  }

  /** Resolves when nothing runs and nothing waits. */
  async onIdle(): Promise<void> {
    while (this.dispatched > 0 || this.stats().queued > 0) {
      if (this.dispatched > 0) await this.pq.onIdle()
      else await new Promise(resolve => setTimeout(resolve, Math.max(1, Math.min(50, this.wake ? this.wake.at - this.now() : 1))))
    }
  }

  /** The oldest-served batch with work waiting goes next (never-served batches first). */
  private next(): QueueTask | undefined {
    let pick: string | undefined
    let pickServed = Infinity
    for (const [id, lane] of this.lanes) {
      if (lane.length === 0) continue
      const served = this.lastServed.get(id) ?? -1
      if (served < pickServed) {
        pick = id
        pickServed = served
      }
    }
    if (pick === undefined) return undefined
    const lane = this.lanes.get(pick)!
    const task = lane.shift()!
    if (lane.length === 0) this.lanes.delete(pick)
    this.lastServed.set(pick, ++this.serveCounter)
    if (this.lastServed.size > 1000) {
      for (const id of this.lastServed.keys()) if (!this.lanes.has(id) && id !== pick) this.lastServed.delete(id)
    }
    return task
  }

  private hasWork(): boolean {
    for (const lane of this.lanes.values()) if (lane.length) return true
    return false
  }

  private setHolding(holding: boolean): void {
    if (this.holding === holding) return
    this.holding = holding
    for (const l of [...this.holdListeners]) l(holding)
  }

  /** Pump again at `at` (the hold's end or the learned spacing); an earlier wake-up is kept. */
  private wakeAt(at: number): void {
    if (this.wake && this.wake.at <= at) return
    if (this.wake) clearTimeout(this.wake.timer)
    const timer = setTimeout(() => {
      this.wake = null
      this.pump()
    }, Math.max(0, at - this.now()))
    timer.unref?.()
    this.wake = { at, timer }
  }

  private pump(): void {
    for (;;) {
      // one task at a time waits inside p-queue for the UPSTREAM_RPM window ('active' pumps again)
      if (this.pq.size > 0) return
      const now = this.now()
      const decision = this.limit.decide(now, this.dispatched)
      if (!decision.holding) this.setHolding(false)
      if (!decision.ok) {
        if (decision.waitMs > 0 && this.hasWork()) this.wakeAt(now + decision.waitMs)
        return
      }
      const task = this.next()
      if (!task) return
      this.dispatched++
      this.limit.started(now)
      const call = this.callFor(now)
      void this.pq.add(async () => {
        try {
          await task.run(call)
        } catch {
          // run() owns its errors; a throw here must not stall the queue
        } finally {
          this.dispatched--
          // let the slot be freed before refilling it
          queueMicrotask(() => this.pump())
        }
      })
    }
  }

  private callFor(startedAt: number): UpstreamCall {
    let reported = false
    return {
      startedAt,
      answered: () => {
        if (reported) return
        reported = true
        this.limit.succeeded(this.now(), startedAt)
      },
      rateLimited: (retryAfterMs?: number) => {
        reported = true
        const until = this.limit.rateLimited(this.now(), startedAt, retryAfterMs)
        if (until > this.now()) {
          this.setHolding(true)
          this.wakeAt(until)
        }
        return until
      },
    }
  }
}
