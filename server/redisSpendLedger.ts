// The spend ledger on Redis, shared by every replica (REDIS_URL): N replicas behind a load balancer
// enforce ONE day budget, ONE rolling 10-minute budget and one daily budget per client.
//
// Keys (prefix P, e.g. "nb"); amounts are integer micro-USD (no float drift across replicas):
//   P:spend:window         sorted set  one member "<micro>:<uuid>" per call of the rolling 10 minutes,
//                                      score = when it was charged (ms); older ones are dropped by each
//                                      charge; expires 11 min after the last charge
//   P:spend:day:<UTC day>  string      the day's total; expires 48 h after its last change
//   P:spend:clients:<UTC day> hash     client name → the client's total that day; expires like the day
// One Lua script drops the old window members, sums the window, reads the day and the client's day,
// checks the call against every budget and, only when it fits, adds it to all three — one atomic
// step, so replicas charging at once cannot all pass before any is charged. A refund (the upstream
// answered with an error status: nothing billed) takes the call back from the same keys, also in one
// script. The wait arithmetic (how long until a call fits) is server/spendLedger.ts's, run on the
// totals the script returns. Times come from the replica's clock (replicas are expected to be NTP-synced;
// a skew of seconds moves the 10-minute window's edge by as much).
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { utcDay, WINDOW_MS, type Refund, type SpendBudgets, type SpendLedger, type SpendTotals } from './spendLedger.js'

const CHARGE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local recent = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local win = 0
for i = 1, #recent, 2 do win = win + tonumber(string.match(recent[i], '^(%d+):')) end
local day = tonumber(redis.call('GET', KEYS[2]) or '0')
local cl = 0
if ARGV[4] ~= '' then cl = tonumber(redis.call('HGET', KEYS[3], ARGV[4]) or '0') end
local usd = tonumber(ARGV[3])
local function over(spent, limit) return limit >= 0 and spent + usd > limit end
if over(day, tonumber(ARGV[5])) or over(win, tonumber(ARGV[6])) or over(cl, tonumber(ARGV[7])) then
  return {0, tostring(day), tostring(cl), recent}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[8])
redis.call('PEXPIRE', KEYS[1], ARGV[10])
redis.call('INCRBY', KEYS[2], usd)
redis.call('PEXPIRE', KEYS[2], ARGV[9])
if ARGV[4] ~= '' then
  redis.call('HINCRBY', KEYS[3], ARGV[4], usd)
  redis.call('PEXPIRE', KEYS[3], ARGV[9])
end
return {1}
`

const REFUND = `
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 and redis.call('DECRBY', KEYS[2], ARGV[2]) < 0 then redis.call('SET', KEYS[2], '0', 'KEEPTTL') end
if ARGV[3] ~= '' and redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 and redis.call('HINCRBY', KEYS[3], ARGV[3], -tonumber(ARGV[2])) < 0 then
  redis.call('HSET', KEYS[3], ARGV[3], '0')
end
return 1
`

const DAY_TTL_MS = 48 * 3600_000
const WINDOW_TTL_MS = WINDOW_MS + 60_000
const micro = (usd: number) => Math.round(usd * 1e6)
const noLimit = (usd: number | undefined) => (usd === undefined ? '-1' : String(micro(usd)))

type RedisWithSpend = Redis & {
  nbSpendCharge(...args: string[]): Promise<[number, string?, string?, string[]?]>
  nbSpendRefund(...args: string[]): Promise<number>
}

export class RedisSpendLedger implements SpendLedger {
  private readonly r: RedisWithSpend

  /** `redis`: a connection (not a subscriber); `prefix`: REDIS_PREFIX. */
  constructor(private readonly opts: { redis: Redis; prefix: string }) {
    this.r = opts.redis as RedisWithSpend
    this.r.defineCommand('nbSpendCharge', { numberOfKeys: 3, lua: CHARGE })
    this.r.defineCommand('nbSpendRefund', { numberOfKeys: 3, lua: REFUND })
  }

  /** Nothing to load: the totals are in Redis. */
  async load(): Promise<void> {}

  async totals(client: string | undefined, now: number): Promise<SpendTotals> {
    const day = utcDay(now)
    const [[, recent], [, dayTotal], [, clientTotal]] = (await this.r.multi()
      .zrangebyscore(this.k('window'), `(${now - WINDOW_MS}`, '+inf', 'WITHSCORES')
      .get(this.k('day', day))
      .hget(this.k('clients', day), client ?? '')
      .exec()) as [[unknown, string[]], [unknown, string | null], [unknown, string | null]]
    return toTotals(recent, dayTotal, client ? clientTotal : null)
  }

  async tryCharge(client: string | undefined, usd: number, budgets: SpendBudgets, now: number): Promise<{ refund: Refund } | { totals: SpendTotals }> {
    const day = utcDay(now)
    const keys = [this.k('window'), this.k('day', day), this.k('clients', day)] as const
    const m = micro(usd)
    const member = `${m}:${randomUUID()}`
    const r = await this.r.nbSpendCharge(
      ...keys, String(now), String(now - WINDOW_MS), String(m), client ?? '',
      noLimit(budgets.perDayUsd), noLimit(budgets.per10MinUsd), noLimit(budgets.clientPerDayUsd), member, String(DAY_TTL_MS), String(WINDOW_TTL_MS),
    )
    if (r[0] !== 1) return { totals: toTotals(r[3] ?? [], r[1] ?? '0', client ? r[2] ?? '0' : null) }
    let refunded = false
    return {
      refund: async () => {
        if (refunded) return
        refunded = true
        await this.r.nbSpendRefund(...keys, member, String(m), client ?? '')
      },
    }
  }

  async flush(): Promise<void> {}

  /** The connection is the set-up's (server/engine/setup.ts closes it). */
  async close(): Promise<void> {}

  private k(...parts: string[]): string {
    return [this.opts.prefix, 'spend', ...parts].join(':')
  }
}

/** [member, score, member, score, …] (members "<micro>:<uuid>") and the micro-USD totals → SpendTotals in USD. */
function toTotals(flat: string[], day: string | null, client: string | null): SpendTotals {
  const recent: Array<{ at: number; usd: number }> = []
  for (let i = 0; i + 1 < flat.length; i += 2) recent.push({ at: Number(flat[i + 1]), usd: Number(flat[i].split(':')[0]) / 1e6 })
  recent.sort((a, b) => a.at - b.at)
  return { dayUsd: Number(day ?? 0) / 1e6, recent, clientUsd: Number(client ?? 0) / 1e6 }
}
