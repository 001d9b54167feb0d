// One AdaptiveLimit (server/adaptiveLimit.ts) shared by every replica through Redis: the learned
// quota state is one JSON value; each call start and each upstream answer loads it, applies the
// pure AdaptiveLimit step and writes it back under WATCH (optimistic: a replica that lost the race
// loads again). Each update is one or two round trips, next to an image call of seconds.
// The caller applies what a change means to the shared queue (BullScheduler: the global
// concurrency, the global rate limit, the hold).
import type { Redis } from 'ioredis'
import { AdaptiveLimit, type AdaptiveLimitOptions, type AdaptiveLimitState, type LimitSnapshot } from '../adaptiveLimit.js'

export interface SharedLimitOptions {
  /** a connection of its own (WATCH is per connection) */
  redis: Redis
  key: string
  limit: AdaptiveLimitOptions
  now?: () => number
  /** the state is dropped this long after its last change (default 1 day) */
  ttlMs?: number
}

export class SharedLimit {
  private chain: Promise<unknown> = Promise.resolve()
  private readonly now: () => number

  constructor(private readonly opts: SharedLimitOptions) {
    this.now = opts.now ?? Date.now
  }

  /**
   * Runs `step` on the shared limit at `now` and stores the result; returns step's value and the
   * limit's snapshot after it. Steps of this process run one at a time; steps of other processes
   * that interleave make this one run again on their result.
   */
  update<T>(step: (limit: AdaptiveLimit, now: number) => T): Promise<{ value: T; snapshot: LimitSnapshot; ratePerSecond: number | null }> {
    const run = this.chain.then(() => this.attempt(step))
    this.chain = run.catch(() => undefined)
    return run
  }

  /** The shared snapshot now (no change). */
  async read(): Promise<LimitSnapshot> {
    return (await this.load()).snapshot(this.now())
  }

  private async load(): Promise<AdaptiveLimit> {
    const raw = await this.opts.redis.get(this.opts.key)
    if (!raw) return new AdaptiveLimit(this.opts.limit)
    try {
      return AdaptiveLimit.fromState(this.opts.limit, JSON.parse(raw) as AdaptiveLimitState)
    } catch {
      return new AdaptiveLimit(this.opts.limit)
    }
  }

  private async attempt<T>(step: (limit: AdaptiveLimit, now: number) => T): Promise<{ value: T; snapshot: LimitSnapshot; ratePerSecond: number | null }> {
    const r = this.opts.redis
    for (let i = 0; i < 50; i++) {
      await r.watch(this.opts.key)
      const limit = await this.load()
      const now = this.now()
      const value = step(limit, now)
      const ok = await r.multi().set(this.opts.key, JSON.stringify(limit.toState()), 'PX', this.opts.ttlMs ?? 86_400_000).exec()
      if (ok) return { value, snapshot: limit.snapshot(now), ratePerSecond: limit.ratePerSecond() }
    }
    await r.unwatch()
    throw new Error('the shared quota state kept changing under this replica (50 tries)')
  }
}
