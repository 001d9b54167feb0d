// Scheduler on BullMQ, for several replicas: one queue of attempts in Redis, a Worker in every
// replica.
//   - one upstream concurrency limit across all replicas: BullMQ's global concurrency
//     (Queue.setGlobalConcurrency). Each Worker runs at most its share of it, ceil(limit / live
//     replicas): a BullMQ worker that finishes a job takes the next one in the same step, so with
//     the whole limit locally the replica that started first kept every slot while the others (and
//     their CPUs) idled. Replicas count each other by a heartbeat in a sorted set (Redis's clock);
//     the shares add up to at least the limit, and a replica that dies drops out within three beats
//   - UPSTREAM_RPM: BullMQ's global rate limit (Queue.setGlobalRateLimit, max per 60 s)
//   - a retry backoff is a delayed job (RetryInfo / Retry-After already folded into the delay)
//   - once the upstream answered, the job leaves the active jobs while the image is stored (detach:
//     a delayed job, pushed back while this replica stores, removed once the page is committed), so
//     the next call starts as in the one-process set-up instead of waiting for the write
//   - a replica that dies leaves its active jobs locked; when the lock expires (lockDuration) another
//     replica's stalled-job check puts them back and runs them (the page may be paid twice: the
//     job says so, see `redelivered`)
//   - fairness between batches: OSS BullMQ has no groups, so each job's priority is its rank in its
//     batch (1st queued page of a batch = 1, 2nd = 2, … from a per-batch counter in Redis). BullMQ
//     runs lower priorities first, so waiting batches take turns page by page: a 3-page deck queued
//     behind a 100-page one gets its pages at ranks 1–3, ahead of the big deck's ranks 4–100. It
//     is the memory scheduler's round-robin by lane without a dispatcher process, and nothing is
//     lost if a replica dies between two steps (the order lives in the one queue).
//   - quota (429 / RESOURCE_EXHAUSTED): one AdaptiveLimit shared through Redis (SharedLimit). The
//     replica that hears a rate limit holds the whole queue for every replica until the quota frees
//     (Queue.rateLimit: BullMQ's limiter key with the hold as its expiry) and tells the others
//     (pub/sub: "waiting for quota" in their batches' progress); the learned concurrency and rate
//     become the queue's global concurrency and global rate limit. The rate-limited page goes back
//     with the priority it had, so pages keep their order, and no retry is used (the page runner
//     decides; RATE_LIMIT_MAX_WAIT bounds the wait).
//     BullMQ only honours the limiter key while a rate limit is set (getRateLimitTTL needs a max), so
//     without UPSTREAM_RPM or a learned rate the queue carries a limit no batch reaches
//     (UNBOUNDED_RATE).
import { randomBytes } from 'node:crypto'
import { DelayedError, Queue, Worker, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import type { LimitSnapshot } from '../adaptiveLimit.js'
import type { Logger } from '../logger.js'
import type { AttemptJob, AttemptRunner, EnqueueOptions, QuotaState, Scheduler, SchedulerStats, UpstreamFeedback } from './scheduler.js'
import { ReplicaHeartbeat } from './replicaHeartbeat.js'
import { SharedLimit } from './sharedLimit.js'

interface JobData {
  batchId: string
  pageNumber: number
}

/** BullMQ's highest priority value (lower runs first; 0 would mean "no priority", ahead of all) */
const MAX_PRIORITY = 2_097_151
/** a global rate limit no batch reaches (1 000 000 starts per second): lets Queue.rateLimit hold the queue */
const UNBOUNDED_RATE = { max: 1_000_000, durationMs: 1000 }

export interface BullSchedulerOptions {
  /** commands (ranks, job sets) */
  redis: Redis
  /** a factory of connections for BullMQ (the Worker needs maxRetriesPerRequest: null) */
  connection: () => Redis
  prefix: string
  concurrency: number
  /** UPSTREAM_RPM: upstream attempts per minute across replicas (undefined: no limit) */
  rpm?: number
  /** the window `rpm` counts in, ms (default 60 000; tests shorten it) */
  rateIntervalMs?: number
  logger: Logger
  /** how long a job's lock lasts without renewal before another replica may take it (default 30 s) */
  lockDurationMs?: number
  /** how often each replica looks for stalled jobs (default lockDuration / 2) */
  stalledIntervalMs?: number
  /** RATE_LIMIT_MAX_WAIT in ms: no hold after a rate limit is longer (default 10 min) */
  maxHoldMs?: number
  /** how often a replica tells the others it is alive (default the smaller of 2 s and the stalled interval); it counts as gone after three */
  heartbeatMs?: number
  /** the deployment record the heartbeat keeps alive (server/engine/deployment.ts); absent: none */
  deployment?: { key: string; value: string }
}

export class BullScheduler implements Scheduler {
  readonly durable = true
  private readonly queue: Queue<JobData>
  private worker: Worker<JobData> | null = null
  private readonly connections: Redis[] = []
  private _concurrency: number
  private readonly ready: Promise<void>
  private closed = false
  private rpm: number | null
  private readonly shared: SharedLimit
  /** what this replica last set on the queue (the learned limits) */
  private applied = { concurrency: 0, rate: '' }
  /** the hold every replica heard of (ms since the epoch) and the learned spacing */
  private hold = { until: 0, spacingMs: null as number | null, timer: null as ReturnType<typeof setTimeout> | null, waiting: false }
  private readonly holdListeners = new Set<(waiting: boolean) => void>()
  /** priority of the job each page running here came from (a rate-limited page goes back with it) */
  private readonly priorities = new Map<string, number>()
  /** detached jobs being pushed back while their answers are stored here */
  private readonly renewing = new Set<ReturnType<typeof setInterval>>()
  /** how many replicas are live (this one's Worker runs its share of the limit) */
  private readonly replicas: ReplicaHeartbeat

  constructor(private readonly opts: BullSchedulerOptions) {
    this._concurrency = opts.concurrency
    this.rpm = opts.rpm ?? null
    this.queue = new Queue<JobData>('attempts', { connection: this.conn(), prefix: opts.prefix })
    this.shared = new SharedLimit({ redis: this.conn(), key: this.k('quota'), limit: { maxConcurrency: opts.concurrency, maxHoldMs: opts.maxHoldMs } })
    // a replica that starts after others learned the quota starts from what they learned (setLimits alone
    // would put back the configured limits for every replica)
    this.replicas = new ReplicaHeartbeat({
      redis: opts.redis, key: this.k('replicas'), id: randomBytes(8).toString('hex'), beatMs: this.timing().beatMs, logger: opts.logger,
      deployment: opts.deployment, onChange: () => this.shareChanged(),
    })
    this.ready = this.setLimits({ concurrency: opts.concurrency, rpm: this.rpm })
      .then(() => this.shared.read())
      .then(learned => this.applyLearned(learned))
      .then(() => this.warnIfOverridden())
      .then(() => this.replicas.start())
      .then(() => this.listen())
  }

  /** Upstream calls this replica's Worker runs at most: its share of the global limit now in force. */
  get localConcurrency(): number {
    return Math.max(1, Math.ceil(this.applied.concurrency / this.replicas.live))
  }

  quota(): QuotaState {
    const holdMs = Math.max(0, this.hold.until - Date.now())
    return { waiting: this.hold.waiting, holdMs, spacingMs: this.hold.spacingMs }
  }

  onQuotaWait(listener: (waiting: boolean) => void): () => void {
    this.holdListeners.add(listener)
    return () => this.holdListeners.delete(listener)
  }

  get concurrency(): number {
    return this._concurrency
  }

  /** Resolves once the limits are set in Redis. */
  whenReady(): Promise<void> {
    return this.ready
  }

  /**
   * Changes the limits for every replica at run time (e.g. adaptive quota scheduling).
   * `rpm: null` removes the rate limit.
   */
  async setLimits(limits: { concurrency?: number; rpm?: number | null }): Promise<void> {
    if (limits.concurrency !== undefined) {
      this._concurrency = limits.concurrency
      this.applied.concurrency = limits.concurrency
      await this.queue.setGlobalConcurrency(limits.concurrency)
      this.shareChanged()
    }
    if (limits.rpm !== undefined) {
      this.rpm = limits.rpm
      this.applied.rate = ''
      await this.applyRate(null)
    }
  }

  start(run: AttemptRunner): void {
    const { lockDuration, stalledInterval } = this.timing()
    this.worker = new Worker<JobData>('attempts', async (job: Job<JobData>, token?: string) => {
      const redelivered = job.attemptsStarted > 1 || job.stalledCounter > 0
      if (redelivered) this.opts.logger.warn('page attempt taken over from a replica that stopped (it may be paid twice)', { batch: job.data.batchId, page: job.data.pageNumber })
      const pageKey = `${job.data.batchId}:${job.data.pageNumber}`
      this.priorities.set(pageKey, job.priority)
      // the start is counted in the shared limit in the same step that checks the hold: a job taken
      // between another replica hearing a 429 and the hold reaching BullMQ waits for the hold's end
      // instead of calling into the spent quota (and its 429 would have been taken for new evidence)
      const attempt = { batchId: job.data.batchId, pageNumber: job.data.pageNumber, redelivered }
      let feedback: ReturnType<BullScheduler['feedback']> | null = null
      let detached = false
      try {
        const begun = await this.begin()
        if (begun.holdUntil !== null) {
          this.heardHold(begun.holdUntil, this.hold.spacingMs)
          await this.enqueue({ ...attempt, redelivered: false }, { front: true })
          return
        }
        feedback = this.feedback(begun.startedAt)
        const detach = async () => {
          const done = await this.detach(job, token, lockDuration)
          detached = true
          return done
        }
        await run(attempt, { ...feedback.feedback, detach })
      } finally {
        this.priorities.delete(pageKey)
        await feedback?.settled()
        if (!detached) await this.opts.redis.srem(this.k('jobs', job.data.batchId), job.id!).catch(() => 0)
      }
      // the job waits as a delayed job, out of the global concurrency, until its page is committed
      if (detached) throw new DelayedError()
    }, {
      connection: this.conn(), prefix: this.opts.prefix, concurrency: this.localConcurrency,
      lockDuration, stalledInterval,
      maxStalledCount: 3,
      // a worker held by the quota looks again every second (a stopping replica waits no longer than that)
      maximumRateLimitDelay: 1000,
      // an idle worker's blocking wait for new jobs lasts at most 1 s (default 5): a job re-queued while
      // the queue is held and at its (lowered) global concurrency adds no wake-up marker, and a
      // worker blocked meanwhile could not fetch anything for the rest of those 5 s
      drainDelay: 1,
    })
    this.worker.on('error', err => this.opts.logger.error('queue worker error', { error: err.message }))
  }

  /**
   * The answer of `job` is being stored: the job leaves the active jobs (freeing its slot of the
   * global concurrency for the next call) as a delayed job due in 2 × lockDuration, pushed back every
   * lockDuration / 2 while this process stores, and removed once the page is committed (the returned
   * function). If this process dies meanwhile, the job comes due and another replica runs the page
   * again (taken over, as a dead replica's locked job is) — a committed page is not claimed again.
   */
  private async detach(job: Job<JobData>, token: string | undefined, lockDuration: number): Promise<() => Promise<void>> {
    await job.moveToDelayed(Date.now() + 2 * lockDuration, token)
    const renew = setInterval(() => { job.changeDelay(2 * lockDuration).catch(() => undefined) }, Math.max(100, lockDuration / 2))
    renew.unref?.()
    this.renewing.add(renew)
    return async () => {
      clearInterval(renew)
      this.renewing.delete(renew)
      // stopping: a page given back meanwhile could not be queued again, so the job stays to fall due
      // (a committed page is not claimed again)
      if (this.closed) return
      await this.queue.remove(job.id!).catch(() => 0)
      await this.opts.redis.srem(this.k('jobs', job.data.batchId), job.id!).catch(() => 0)
    }
  }

  async enqueue(job: AttemptJob, opts: EnqueueOptions = {}): Promise<void> {
    if (this.closed) return
    await this.ready
    const rank = await this.opts.redis.incr(this.k('rank', job.batchId))
    await this.opts.redis.expire(this.k('rank', job.batchId), 7 * 24 * 3600)
    const jobId = `${job.batchId}-${job.pageNumber}-${rank}`
    await this.opts.redis.sadd(this.k('jobs', job.batchId), jobId)
    // a page going back (rate limited, retry) keeps the place it had among its batch's pages
    const kept = opts.front ? this.priorities.get(`${job.batchId}:${job.pageNumber}`) : undefined
    // during a hold a job waits as a delayed job until it ends: its due time wakes a worker then
    const delay = Math.max(opts.delayMs ?? 0, this.hold.until - Date.now())
    await this.queue.add('attempt', { batchId: job.batchId, pageNumber: job.pageNumber }, {
      jobId,
      priority: kept ?? Math.min(MAX_PRIORITY, opts.front ? Math.max(1, rank - 1) : rank),
      ...(delay > 0 ? { delay: Math.ceil(delay) } : {}),
      removeOnComplete: true,
      removeOnFail: 1000,
    })
  }

  async dropBatch(batchId: string): Promise<number> {
    const ids = await this.opts.redis.smembers(this.k('jobs', batchId))
    // all at once (one after another, a 100-page batch's cancel took 100 round trips); an active
    // (locked) job is not removed: its attempt is aborted through the event bus
    const removed = await Promise.all(ids.map(async id => {
      if (!await this.queue.remove(id).catch(() => 0)) return 0
      await this.opts.redis.srem(this.k('jobs', batchId), id)
      return 1
    }))
    return removed.reduce<number>((a, b) => a + b, 0)
  }

  async stats(): Promise<SchedulerStats> {
    const c = await this.queue.getJobCounts('active', 'waiting', 'prioritized')
    // the limit in force across the replicas (the shared one), not this replica's own setting
    return { running: c.active ?? 0, queued: (c.waiting ?? 0) + (c.prioritized ?? 0), concurrency: this.applied.concurrency || this._concurrency }
  }

  /** Finishes the attempts running here (the engine aborted them and re-queued their pages), then disconnects. */
  async close(): Promise<void> {
    // the running attempts still re-queue their pages while the worker winds down
    await this.worker?.close()
    this.closed = true
    if (this.hold.timer) clearTimeout(this.hold.timer)
    await this.replicas.stop()
    // a page still being stored when this replica stops comes back on another one (its job falls due)
    for (const t of this.renewing) clearInterval(t)
    await this.queue.close()
    for (const c of this.connections) c.disconnect()
  }

  /**
   * A call that started at `startedAt` (counted by begin()): what the runner reports is applied to
   * the queue before the job ends (so a freed slot never goes straight into the next 429).
   */
  private feedback(startedAt: number): { feedback: UpstreamFeedback; settled: () => Promise<void> } {
    const pending: Array<Promise<unknown>> = []
    let reported = false
    const feedback: UpstreamFeedback = {
      answered: () => {
        if (reported) return
        reported = true
        pending.push(this.shared.update((l, now) => l.succeeded(now, startedAt))
          .then(r => this.applyLearned(r.snapshot))
          .catch(err => this.opts.logger.warn('could not update the shared quota state', { error: (err as Error).message })))
      },
      rateLimited: async (retryAfterMs?: number) => {
        reported = true
        try {
          const r = await this.shared.update((l, now) => l.rateLimited(now, startedAt, retryAfterMs))
          // this replica knows at once (its jobs taken from now on wait; the page's own progress
          // event says so); the others hear it
          this.heardHold(r.value, r.snapshot.spacingMs)
          const holdMs = r.value - Date.now()
          // every replica stops taking jobs until then
          if (holdMs > 0) await this.queue.rateLimit(holdMs)
          await this.applyLearned(r.snapshot)
          await this.opts.redis.publish(this.k('quota'), JSON.stringify({ until: r.value, spacingMs: r.snapshot.spacingMs }))
          return r.value
        } catch (err) {
          this.opts.logger.warn('could not hold the queue for quota', { error: (err as Error).message })
          return Date.now() + (retryAfterMs ?? 0)
        }
      },
    }
    return { feedback, settled: async () => { await Promise.all(pending) } }
  }

  /**
   * A call may start unless the shared limit holds: counts the start (startedAt, ms since the epoch)
   * or returns the hold's end. When the shared state cannot be reached the call starts (BullMQ's
   * limiter key still holds the queue).
   */
  private async begin(): Promise<{ startedAt: number; holdUntil: null } | { startedAt: null; holdUntil: number }> {
    try {
      const r = await this.shared.update((l, now) => {
        const holdMs = l.snapshot(now).holdMs
        if (holdMs > 0) return { startedAt: null, holdUntil: now + holdMs }
        l.started(now)
        return { startedAt: now, holdUntil: null }
      })
      return r.value
    } catch (err) {
      this.opts.logger.warn('could not count an upstream call in the shared quota state', { error: (err as Error).message })
      return { startedAt: Date.now(), holdUntil: null }
    }
  }

  /**
   * At start: replicas started with different MAX_CONCURRENT_GENERATIONS share one limit (the shared
   * quota state's: kept from the replicas that ran calls before, or learned from upstream 429s), so
   * this replica's own setting may not be the one in force — say which is (tester m8).
   */
  private warnIfOverridden(): void {
    const own = this.opts.concurrency
    const inForce = this.applied.concurrency
    if (inForce === own) return
    this.opts.logger.warn(`MAX_CONCURRENT_GENERATIONS=${own} on this replica, but ${inForce} upstream calls at once are in force across the replicas on Redis prefix "${this.opts.prefix}" (the shared limit: another replica's setting, or lowered after upstream 429s); /health shows the value in force. Start every replica with the same MAX_CONCURRENT_GENERATIONS`, { configured: own, in_force: inForce })
  }

  /** The learned concurrency and rate become the queue's global limits (for every replica). */
  private async applyLearned(s: LimitSnapshot): Promise<void> {
    // the progress window's estimate uses the learned rate (also on a replica that never saw the 429)
    this.hold.spacingMs = s.spacingMs
    if (s.concurrency !== this.applied.concurrency) {
      this.applied.concurrency = s.concurrency
      await this.queue.setGlobalConcurrency(s.concurrency)
      this.shareChanged()
    }
    await this.applyRate(s.spacingMs)
  }

  /** The tighter of UPSTREAM_RPM and the learned spacing (one start per spacing), or UNBOUNDED_RATE. */
  private async applyRate(spacingMs: number | null): Promise<void> {
    let rate = UNBOUNDED_RATE
    const interval = this.opts.rateIntervalMs ?? 60_000
    if (this.rpm !== null) rate = { max: this.rpm, durationMs: interval }
    if (spacingMs !== null && (this.rpm === null || spacingMs > interval / this.rpm)) rate = { max: 1, durationMs: Math.max(1, Math.ceil(spacingMs)) }
    const key = `${rate.max}/${rate.durationMs}`
    if (key === this.applied.rate) return
    this.applied.rate = key
    await this.queue.setGlobalRateLimit(rate.max, rate.durationMs)
  }

  /** Hears every replica's holds: "waiting for quota" begins now and ends when the hold does. */
  private async listen(): Promise<void> {
    const sub = this.conn()
    sub.on('message', (_channel: string, message: string) => {
      try {
        const m = JSON.parse(message) as { until: number; spacingMs: number | null }
        this.heardHold(m.until, m.spacingMs)
      } catch { /* not ours */ }
    })
    await sub.subscribe(this.k('quota'))
  }

  /** the job lock, the stalled-job check and the heartbeat, in ms */
  private timing(): { lockDuration: number; stalledInterval: number; beatMs: number } {
    const lockDuration = this.opts.lockDurationMs ?? 30_000
    const stalledInterval = this.opts.stalledIntervalMs ?? Math.max(500, Math.floor(lockDuration / 2))
    return { lockDuration, stalledInterval, beatMs: this.opts.heartbeatMs ?? Math.min(2000, stalledInterval) }
  }

  private shareChanged(): void {
    if (this.worker && this.worker.concurrency !== this.localConcurrency) this.worker.concurrency = this.localConcurrency
  }

  private heardHold(until: number, spacingMs: number | null): void {
    this.hold.spacingMs = spacingMs
    if (until <= this.hold.until || until <= Date.now() || this.closed) return
    this.hold.until = until
    if (this.hold.timer) clearTimeout(this.hold.timer)
    this.hold.timer = setTimeout(() => {
      this.hold.timer = null
      this.setWaiting(false)
    }, until - Date.now())
    this.hold.timer.unref?.()
    this.setWaiting(true)
  }

  private setWaiting(waiting: boolean): void {
    if (this.hold.waiting === waiting) return
    this.hold.waiting = waiting
    for (const l of [...this.holdListeners]) l(waiting)
  }

  private conn(): Redis {
    const c = this.opts.connection()
    this.connections.push(c)
    return c
  }

  private k(...parts: string[]): string {
    return [this.opts.prefix, 'sched', ...parts].join(':')
  }
}
