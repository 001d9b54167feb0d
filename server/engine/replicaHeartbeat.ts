// How many replicas share the BullMQ queue: each one beats every `beatMs` into a sorted set (score =
// when its beat runs out, on Redis's clock, so the replicas' clocks need not agree); a replica past
// its beat (three beats: it died) is dropped by the next beat of any other. BullScheduler runs its
// share of the global concurrency, ceil(limit / live replicas), from this count. The beat also keeps
// the deployment's settings record alive (server/engine/deployment.ts) while any replica is.
import type { Redis } from 'ioredis'
import type { Logger } from '../logger.js'

/**
 * KEYS[1] the sorted set of live replicas, ARGV[1] this replica's id, ARGV[2] how long its beat lasts
 * (ms). Registers it, drops the replicas past their beat, returns how many are live. With KEYS[2] (the
 * deployment record) and ARGV[3] (this replica's record): writes it back if it is missing, and makes
 * it last as long as this beat — so it outlives the last live replica by one beat's length at most.
 */
const HEARTBEAT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if KEYS[2] and not redis.call('SET', KEYS[2], ARGV[3], 'PX', tonumber(ARGV[2]), 'NX') then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return redis.call('ZCARD', KEYS[1])`

/**
 * KEYS[1] the live replicas, KEYS[2] the deployment record (optional), ARGV[1] this replica's id,
 * ARGV[2] its record. Leaves the set; the last live replica to leave deletes the record (if it is its
 * own), so a replica with new settings may start at once.
 */
const LEAVE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[1], ARGV[1])
if KEYS[2] and redis.call('ZCOUNT', KEYS[1], now, '+inf') == 0 and redis.call('GET', KEYS[2]) == ARGV[2] then
  redis.call('DEL', KEYS[2])
end
return 0`

export class ReplicaHeartbeat {
  /** replicas alive at the last beat, this one included */
  live = 1
  private timer: ReturnType<typeof setInterval> | null = null
  private stopped = false

  constructor(private readonly opts: {
    redis: Redis; key: string; id: string; beatMs: number; logger: Logger; onChange: (live: number) => void
    /** the deployment record to keep alive: its key and this replica's value (server/engine/deployment.ts) */
    deployment?: { key: string; value: string }
  }) {}

  /** Beats now (resolves once counted), then every beatMs. */
  async start(): Promise<void> {
    await this.beat()
    this.timer = setInterval(() => { void this.beat() }, this.opts.beatMs)
    this.timer.unref?.()
  }

  /** Leaves the set at once: the others take up this replica's share at their next beat. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    const d = this.opts.deployment
    const keys = d ? [this.opts.key, d.key] : [this.opts.key]
    await this.opts.redis.eval(LEAVE_LUA, keys.length, ...keys, this.opts.id, d?.value ?? '').catch(() => 0)
  }

  /** A failed beat keeps the last count. */
  private async beat(): Promise<void> {
    if (this.stopped) return
    try {
      const d = this.opts.deployment
      const keys = d ? [this.opts.key, d.key] : [this.opts.key]
      const live = Number(await this.opts.redis.eval(HEARTBEAT_LUA, keys.length, ...keys, this.opts.id, String(this.opts.beatMs * 3), d?.value ?? ''))
      if (live >= 1 && live !== this.live) {
        this.live = live
        this.opts.onChange(live)
      }
    } catch (err) {
      this.opts.logger.warn('could not count the live replicas', { error: (err as Error).message })
    }
  }
}
