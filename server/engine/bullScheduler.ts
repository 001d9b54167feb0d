// Scheduler on BullMQ, for several replicas: one queue of attempts in Redis, a Worker in every
// replica.
//   - one upstream concurrency limit across all replicas: BullMQ's global concurrency
//     (Queue.setGlobalConcurrency); each Worker may run up to the same number locally
//   - UPSTREAM_RPM: BullMQ's global rate limit (Queue.setGlobalRateLimit, max per 60 s)
//   - a retry backoff is a delayed job (RetryInfo / Retry-After already folded into the delay)
//   - a replica that dies leaves its active jobs locked; when the lock expires (lockDuration) another
//     replica's stalled-job check puts them back and runs them (the page may be paid twice: the
//     job says so, see `redelivered`)
//   - fairness between batches: OSS BullMQ has no groups, so each job's priority is its rank in its
//     batch (1st queued page of a batch = 1, 2nd = 2, … from a per-batch counter in Redis). BullMQ
//     runs lower priorities first, so waiting batches take turns page by page: a 3-page deck queued
//     behind a 100-page one gets its pages at ranks 1–3, ahead of the big deck's ranks 4–100. It
//     is the memory scheduler's round-robin by lane without a dispatcher process, and nothing is
//     lost if a replica dies between two steps (the order lives in the one queue).
import { Queue, Worker, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from '../logger.js'
import type { AttemptJob, AttemptRunner, EnqueueOptions, Scheduler, SchedulerStats } from './scheduler.js'

interface JobData {
  batchId: string
  pageNumber: number
}

/** BullMQ's highest priority value (lower runs first; 0 would mean "no priority", ahead of all) */
const MAX_PRIORITY = 2_097_151

export interface BullSchedulerOptions {
  /** commands (ranks, job sets) */
  redis: Redis
  /** a factory of connections for BullMQ (the Worker needs maxRetriesPerRequest: null) */
  connection: () => Redis
  prefix: string
  concurrency: number
  /** UPSTREAM_RPM: upstream attempts per minute across replicas (undefined: no limit) */
  rpm?: number
  logger: Logger
  /** how long a job's lock lasts without renewal before another replica may take it (default 30 s) */
  lockDurationMs?: number
  /** how often each replica looks for stalled jobs (default lockDuration / 2) */
  stalledIntervalMs?: number
}

export class BullScheduler implements Scheduler {
  readonly durable = true
  private readonly queue: Queue<JobData>
  private worker: Worker<JobData> | null = null
  private readonly connections: Redis[] = []
  private _concurrency: number
  private readonly ready: Promise<void>
  private closed = false

  constructor(private readonly opts: BullSchedulerOptions) {
    this._concurrency = opts.concurrency
    this.queue = new Queue<JobData>('attempts', { connection: this.conn(), prefix: opts.prefix })
    this.ready = this.setLimits({ concurrency: opts.concurrency, rpm: opts.rpm ?? null })
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
      await this.queue.setGlobalConcurrency(limits.concurrency)
      if (this.worker) this.worker.concurrency = limits.concurrency
    }
    if (limits.rpm === null) await this.queue.removeGlobalRateLimit()
    else if (limits.rpm !== undefined) await this.queue.setGlobalRateLimit(limits.rpm, 60_000)
  }

  start(run: AttemptRunner): void {
    const lockDuration = this.opts.lockDurationMs ?? 30_000
    this.worker = new Worker<JobData>('attempts', async (job: Job<JobData>) => {
      const redelivered = job.attemptsStarted > 1 || job.stalledCounter > 0
      if (redelivered) this.opts.logger.warn('page attempt taken over from a replica that stopped (it may be paid twice)', { batch: job.data.batchId, page: job.data.pageNumber })
      try {
        await run({ batchId: job.data.batchId, pageNumber: job.data.pageNumber, redelivered })
      } finally {
        await this.opts.redis.srem(this.k('jobs', job.data.batchId), job.id!).catch(() => 0)
      }
    }, {
      connection: this.conn(), prefix: this.opts.prefix, concurrency: this._concurrency,
      lockDuration, stalledInterval: this.opts.stalledIntervalMs ?? Math.max(500, Math.floor(lockDuration / 2)),
      maxStalledCount: 3,
    })
    this.worker.on('error', err => this.opts.logger.error('queue worker error', { error: err.message }))
  }

  async enqueue(job: AttemptJob, opts: EnqueueOptions = {}): Promise<void> {
    if (this.closed) return
    await this.ready
    const rank = await this.opts.redis.incr(this.k('rank', job.batchId))
    await this.opts.redis.expire(this.k('rank', job.batchId), 7 * 24 * 3600)
    const jobId = `${job.batchId}-${job.pageNumber}-${rank}`
    await this.opts.redis.sadd(this.k('jobs', job.batchId), jobId)
    await this.queue.add('attempt', { batchId: job.batchId, pageNumber: job.pageNumber }, {
      jobId,
      priority: Math.min(MAX_PRIORITY, opts.front ? Math.max(1, rank - 1) : rank),
      ...(opts.delayMs ? { delay: opts.delayMs } : {}),
      removeOnComplete: true,
      removeOnFail: 1000,
    })
  }

  async dropBatch(batchId: string): Promise<number> {
    const ids = await this.opts.redis.smembers(this.k('jobs', batchId))
    let dropped = 0
    for (const id of ids) {
      // an active (locked) job is not removed: its attempt is aborted through the event bus
      const removed = await this.queue.remove(id).catch(() => 0)
      if (removed) {
        dropped++
        await this.opts.redis.srem(this.k('jobs', batchId), id)
      }
    }
    return dropped
  }

  async stats(): Promise<SchedulerStats> {
    const c = await this.queue.getJobCounts('active', 'waiting', 'prioritized')
    return { running: c.active ?? 0, queued: (c.waiting ?? 0) + (c.prioritized ?? 0), concurrency: this._concurrency }
  }

  /** Finishes the attempts running here (the engine aborted them and re-queued their pages), then disconnects. */
  async close(): Promise<void> {
    // the running attempts still re-queue their pages while the worker winds down
    await this.worker?.close()
    this.closed = true
    await this.queue.close()
    for (const c of this.connections) c.disconnect()
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
