// Open progress streams per client, counted across every replica (REDIS_URL), and safe when a
// replica dies: each open stream is a member of the client's sorted set whose score is when its
// lease runs out; the replica holding the stream renews the leases of all its streams every third of
// the lease. A replica that is SIGKILLed (or loses Redis) renews nothing, so its streams stop counting
// at most one lease later — a client's count is never stuck. A closed stream is removed at once.
//
// Keys (prefix P):  P:streams:<client>  sorted set  member "<replica id>:<n>", score = lease end (ms,
//                                       Redis's clock: TIME, so replicas' clocks do not matter);
//                                       the key expires one lease after its last change
// Opening is one Lua script: drop expired members, count, add when below the limit.
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { MemoryStreamSlots, type StreamSlots } from './clients.js'

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

const OPEN = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`

// re-added even when it had expired meanwhile (this replica was stalled): the stream is really open
const RENEW = `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`

type RedisWithSlots = Redis & {
  nbStreamOpen(key: string, max: string, member: string, leaseMs: string): Promise<number>
  nbStreamRenew(key: string, member: string, leaseMs: string): Promise<number>
}

export interface RedisStreamSlotsOptions {
  redis: Redis
  prefix: string
  /** how long a stream counts without being renewed (default 30 s); renewed every third of it */
  leaseMs?: number
  /** told when Redis cannot be reached (opening or renewing); the streams keep running */
  onError?: (err: Error) => void
}

export class RedisStreamSlots implements StreamSlots {
  private readonly r: RedisWithSlots
  private readonly leaseMs: number
  private readonly replica = randomUUID().slice(0, 8)
  private seq = 0
  /** this replica's open streams: member → its key */
  private readonly mine = new Map<string, string>()
  private readonly timer: NodeJS.Timeout
  /** while Redis cannot be reached, this replica counts its own streams (like RateLimiterRedis's insuranceLimiter) */
  private readonly fallback = new MemoryStreamSlots()

  constructor(private readonly opts: RedisStreamSlotsOptions) {
    this.r = opts.redis as RedisWithSlots
    this.leaseMs = Math.max(300, Math.round(opts.leaseMs ?? 30_000))
    this.r.defineCommand('nbStreamOpen', { numberOfKeys: 1, lua: OPEN })
    this.r.defineCommand('nbStreamRenew', { numberOfKeys: 1, lua: RENEW })
    this.timer = setInterval(() => { void this.renew() }, Math.round(this.leaseMs / 3))
    this.timer.unref()
  }

  async open(client: string, max: number): Promise<(() => void) | null> {
    const key = `${this.opts.prefix}:streams:${client}`
    const member = `${this.replica}:${++this.seq}`
    let opened: number
    try {
      opened = await this.r.nbStreamOpen(key, String(max), member, String(this.leaseMs))
    } catch (err) {
      this.opts.onError?.(err as Error)
      return this.fallback.open(client, max)
    }
    if (opened !== 1) return null
    this.mine.set(member, key)
    return () => {
      if (!this.mine.delete(member)) return
      this.r.zrem(key, member).catch((err: Error) => this.opts.onError?.(err))
    }
  }

  /** Stops renewing and removes this replica's streams (a graceful stop; a killed replica's expire by themselves). */
  async close(): Promise<void> {
    clearInterval(this.timer)
    const open = [...this.mine]
    this.mine.clear()
    if (open.length) await Promise.all(open.map(([member, key]) => this.r.zrem(key, member))).catch(() => undefined)
  }

  private async renew(): Promise<void> {
    if (this.mine.size === 0) return
    const p = this.r.pipeline()
    for (const [member, key] of this.mine) (p as unknown as RedisWithSlots).nbStreamRenew(key, member, String(this.leaseMs))
    try {
      await p.exec()
    } catch (err) {
      this.opts.onError?.(err as Error)
    }
  }
}
