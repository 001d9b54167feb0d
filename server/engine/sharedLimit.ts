// One AdaptiveLimit (server/adaptiveLimit.ts) shared by every replica through Redis: the learned
// quota state is one JSON value; each call start and each upstream answer loads it, applies the
// pure AdaptiveLimit step and writes it back under WATCH (optimistic: a replica that lost the race
// loads again). Steps asked for while one transaction runs go together in the next one (in order,
// one load and one write): every call start and every answer is a step, and one at a time each
// waited for the others' four round trips (under load p95 ~70 ms in the queue before a call).
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

type Outcome<T> = { value: T; snapshot: LimitSnapshot; ratePerSecond: number | null }
interface Waiting {
  step: (limit: AdaptiveLimit, now: number) => unknown
  resolve: (o: Outcome<unknown>) => void
  reject: (err: unknown) => void
}

export class SharedLimit {
  private waiting: Waiting[] = []
  private draining = false
  private readonly now: () => number

  constructor(private readonly opts: SharedLimitOptions) {
    this.now = opts.now ?? Date.now
  }

  /**
   * Runs `step` on the shared limit at `now` and stores the result; returns step's value and the
   * limit's snapshot after it. Steps of this process run in the order asked (those waiting together
   * in one transaction); steps of other processes that interleave make it run again on their result.
   * A step that throws rejects its own update only.
   */
  update<T>(step: (limit: AdaptiveLimit, now: number) => T): Promise<Outcome<T>> {
    return new Promise<Outcome<T>>((resolve, reject) => {
      this.waiting.push({ step, resolve: resolve as (o: Outcome<unknown>) => void, reject })
      if (!this.draining) void this.drain()
    })
  }

  private async drain(): Promise<void> {
    this.draining = true
    try {
      while (this.waiting.length) {
        const group = this.waiting.splice(0)
        try {
          const results = await this.attempt(group.map(g => g.step))
          group.forEach((g, i) => {
            const r = results[i]
            if ('error' in r) g.reject(r.error)
            else g.resolve(r)
          })
        } catch (err) {
          for (const g of group) g.reject(err)
        }
      }
    } finally {
      this.draining = false
    }
  }

  /** The shared snapshot now (no change). */
  async read(): Promise<LimitSnapshot> {
    return (await this.load()).snapshot(this.now())
  }

  private async load(): Promise<AdaptiveLimit> {
    return this.parse(await this.opts.redis.get(this.opts.key))
  }

  private parse(raw: string | null): AdaptiveLimit {
    if (!raw) return new AdaptiveLimit(this.opts.limit)
    try {
      return AdaptiveLimit.fromState(this.opts.limit, JSON.parse(raw) as AdaptiveLimitState)
    } catch {
      return new AdaptiveLimit(this.opts.limit)
    }
  }

  private async attempt(steps: Array<Waiting['step']>): Promise<Array<Outcome<unknown> | { error: unknown }>> {
    const r = this.opts.redis
    for (let i = 0; i < 50; i++) {
      // WATCH and GET in one round trip (Redis runs them in order, so the read is watched)
      const [, [, raw]] = (await r.pipeline().watch(this.opts.key).get(this.opts.key).exec()) as [[unknown, unknown], [unknown, string | null]]
      const limit = this.parse(raw)
      const now = this.now()
      const results = steps.map(step => {
        try {
          return { value: step(limit, now), snapshot: limit.snapshot(now), ratePerSecond: limit.ratePerSecond() }
        } catch (error) {
          return { error }
        }
      })
      const ok = await r.multi().set(this.opts.key, JSON.stringify(limit.toState()), 'PX', this.opts.ttlMs ?? 86_400_000).exec()
      if (ok) return results
    }
    await r.unwatch()
    throw new Error('the shared quota state kept changing under this replica (50 tries)')
  }
}
