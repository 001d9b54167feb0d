// State store on Redis, shared by every replica.
//
// Keys (prefix P, e.g. "nb"):
//   P:batch:{id}    hash  rec = the BatchRecord as JSON, rev = revision (increases by one per change);
//                         expires `batchRetentionMs` after the batch finished (BATCH_RETENTION_HOURS)
//   P:events:{id}   list  the batch's events as JSON, oldest first; expires `eventRetentionMs` after `done`
//   P:done:{id}     string the batch's final `done` event while nothing happened after it; expires with the batch
//   P:active        set   batches not finished
//   P:unfinished    int   pending + generating pages over all batches (admission control)
//   P:unfinished:clients hash client → its pending + generating pages (MAX_QUEUED_PAGES_PER_CLIENT,
//                         across replicas); a client at 0 is removed; rebuilt from the active batches
//                         at start when absent (an older deployment, or every client at 0)
//   P:cache:{hash}  string duplicate-request cache entry: {image_key, thumbnail_key}; expires `cacheTtlMs`
//                         after it was stored (IMAGE_RETENTION − BATCH_RETENTION: a reused image outlives its batch)
// Nothing per batch is left without an expiry once the batch has finished: history does not pile up.
//
// A change is optimistic: read rec + rev, run the mutation in this process, then one Lua script
// commits the new record, its events (ids continue from last_event_id), the counters and the `done`
// marker only if rev is still the one read; otherwise read again and re-run (the mutation is pure).
// So two replicas finishing pages of one batch at once never lose each other's change, and a page
// is claimed (pending → generating) by exactly one of them.
import type { Redis } from 'ioredis'
import type { LoggedEvent } from '../events.js'
import { isFinal, unfinishedPages, type BatchRecord, type CacheEntry } from './records.js'
import type { Mutation, MutateOptions, MutateResult, StateStore } from './stateStore.js'

const COMMIT = `
if redis.call('HGET', KEYS[1], 'rev') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rec', ARGV[2], 'rev', tostring(tonumber(ARGV[1]) + 1))
local n = tonumber(ARGV[8])
for i = 1, n do redis.call('RPUSH', KEYS[2], ARGV[10 + i]) end
if n > 0 then
  if ARGV[6] ~= '' then
    redis.call('SET', KEYS[3], ARGV[6])
    redis.call('PEXPIRE', KEYS[2], ARGV[7])
  else
    redis.call('DEL', KEYS[3])
    redis.call('PERSIST', KEYS[2])
  end
end
if ARGV[4] == '1' then
  redis.call('SADD', KEYS[4], ARGV[3])
  redis.call('PERSIST', KEYS[1])
else
  redis.call('SREM', KEYS[4], ARGV[3])
  if ARGV[9] ~= '0' then
    redis.call('PEXPIRE', KEYS[1], ARGV[9])
    redis.call('PEXPIRE', KEYS[3], ARGV[9])
  end
end
if ARGV[5] ~= '0' then
  redis.call('INCRBY', KEYS[5], ARGV[5])
  if ARGV[10] ~= '' and redis.call('HINCRBY', KEYS[6], ARGV[10], ARGV[5]) <= 0 then redis.call('HDEL', KEYS[6], ARGV[10]) end
end
return 1
`

// KEYS: active set, per-client hash; ARGV[1]: the batch key prefix ("P:batch:")
const REBUILD_CLIENTS = `
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local ids = redis.call('SMEMBERS', KEYS[1])
for _, id in ipairs(ids) do
  local raw = redis.call('HGET', ARGV[1] .. id, 'rec')
  if raw then
    local rec = cjson.decode(raw)
    if type(rec.client) == 'string' then
      local n = 0
      for _, p in ipairs(rec.pages) do if p.status == 'pending' or p.status == 'generating' then n = n + 1 end end
      if n > 0 then redis.call('HINCRBY', KEYS[2], rec.client, n) end
    end
  end
end
return #ids
`

export interface RedisStateStoreOptions {
  redis: Redis
  /** key prefix, e.g. "nb" (tests use a unique one) */
  prefix: string
  now?: () => number
  /** how long a finished batch keeps its full event history for Last-Event-ID replays (default 10 min) */
  eventRetentionMs?: number
  /** BATCH_RETENTION_HOURS in ms: a finished batch's records expire this long after it finished (0 or absent: never) */
  batchRetentionMs?: number
  /** how long a duplicate-cache entry lives (ms; absent: no expiry; ≤ 0: nothing is cached) */
  cacheTtlMs?: number
}

export class RedisStateStore implements StateStore {
  private readonly r: Redis
  private readonly p: string
  private readonly now: () => number
  private readonly retentionMs: number
  private readonly batchTtlMs: number
  private readonly cacheTtlMs: number | undefined
  private readonly mutating = new Map<string, Promise<void>>()

  constructor(opts: RedisStateStoreOptions) {
    this.r = opts.redis
    this.p = opts.prefix
    this.now = opts.now ?? Date.now
    this.retentionMs = opts.eventRetentionMs ?? 10 * 60_000
    this.batchTtlMs = Math.max(0, Math.round(opts.batchRetentionMs ?? 0))
    this.cacheTtlMs = opts.cacheTtlMs === undefined ? undefined : Math.round(opts.cacheTtlMs)
    this.r.defineCommand('nbCommit', { numberOfKeys: 6, lua: COMMIT })
    this.r.defineCommand('nbRebuildClients', { numberOfKeys: 2, lua: REBUILD_CLIENTS })
  }

  /**
   * Nothing to recover: unfinished pages are still jobs in the shared queue. The one hash the
   * duplicate cache was before its entries got their own keys (and TTLs) is removed: it never expired.
   */
  async init(): Promise<string[]> {
    await this.r.unlink(this.k('cache'))
    await (this.r as unknown as RedisWithCommit).nbRebuildClients(this.k('active'), this.k('unfinished', 'clients'), `${this.k('batch')}:`)
    return []
  }

  async create(record: BatchRecord): Promise<void> {
    const id = record.batch_id
    const m = this.r.multi()
      .hset(this.k('batch', id), 'rec', JSON.stringify(record), 'rev', '0')
      .sadd(this.k('active'), id)
      .incrby(this.k('unfinished'), unfinishedPages(record))
    if (record.client && unfinishedPages(record) > 0) m.hincrby(this.k('unfinished', 'clients'), record.client, unfinishedPages(record))
    await m.exec()
  }

  async get(batchId: string): Promise<BatchRecord | null> {
    const raw = await this.r.hget(this.k('batch', batchId), 'rec')
    return raw ? (JSON.parse(raw) as BatchRecord) : null
  }

  /**
   * Changes of one batch made by this process run one after another (the batch's chain in `mutating`):
   * pages of a batch settle together, and their concurrent check-and-set commits collided — a quarter of
   * them in the proxy bench, each re-reading and re-writing the whole record. Other replicas' changes
   * still make a commit run again on the fresh record.
   */
  mutate<T>(batchId: string, fn: Mutation<T>, opts: MutateOptions = {}): Promise<MutateResult<T> | null> {
    const before = this.mutating.get(batchId) ?? Promise.resolve()
    const run = before.then(() => this.commitMutation(batchId, fn, opts))
    const settled = run.then(() => undefined, () => undefined)
    this.mutating.set(batchId, settled)
    void settled.then(() => {
      if (this.mutating.get(batchId) === settled) this.mutating.delete(batchId)
    })
    return run
  }

  private async commitMutation<T>(batchId: string, fn: Mutation<T>, _opts: MutateOptions): Promise<MutateResult<T> | null> {
    const key = this.k('batch', batchId)
    for (let attempt = 0; ; attempt++) {
      const [raw, rev] = await this.r.hmget(key, 'rec', 'rev')
      if (!raw || rev === null) return null
      const record = JSON.parse(raw) as BatchRecord
      const before = unfinishedPages(record)
      const queued: Array<{ event: LoggedEvent['event']; data: unknown }> = []
      const value = fn(record, (event, data) => { queued.push({ event, data }) })
      const events: LoggedEvent[] = queued.map((q, i) => ({ id: record.last_event_id + i + 1, event: q.event, data: q.data }))
      record.last_event_id += events.length
      record.updated_at = new Date(this.now()).toISOString()
      const last = events.at(-1)
      const ok = await (this.r as unknown as RedisWithCommit).nbCommit(
        key, this.k('events', batchId), this.k('done', batchId), this.k('active'), this.k('unfinished'), this.k('unfinished', 'clients'),
        rev, JSON.stringify(record), batchId, isFinal(record) ? '0' : '1', String(unfinishedPages(record) - before),
        last?.event === 'done' ? JSON.stringify(last) : '', String(this.retentionMs), String(events.length), String(this.batchTtlMs), record.client ?? '',
        ...events.map(e => JSON.stringify(e)),
      )
      ;(globalThis as any).__mut = ((globalThis as any).__mut ?? 0) + 1
      if (ok === 1) return { value, record, events }
      ;(globalThis as any).__coll = ((globalThis as any).__coll ?? 0) + 1
      // another replica changed the batch meanwhile: re-run on the fresh record (short random pause
      // after many collisions so hot batches do not spin)
      if (attempt > 5) await new Promise(r => setTimeout(r, Math.random() * 5 * attempt))
    }
  }

  async eventsSince(batchId: string, lastId: number): Promise<LoggedEvent[] | null> {
    if (!Number.isInteger(lastId) || lastId < 0) return null
    const [[, raw], [, list], [, done]] = (await this.r.multi()
      .hget(this.k('batch', batchId), 'rec')
      .lrange(this.k('events', batchId), 0, -1)
      .get(this.k('done', batchId))
      .exec()) as [[unknown, string | null], [unknown, string[]], [unknown, string | null]]
    if (!raw) return null
    const rec = JSON.parse(raw) as BatchRecord
    if (lastId > rec.last_event_id) return null
    if (lastId === rec.last_event_id) return []
    const events = list.map(s => JSON.parse(s) as LoggedEvent)
    if (events.length === 0 || events[0].id > lastId + 1) {
      // history expired: only the final `done` can still be given
      const d = done ? (JSON.parse(done) as LoggedEvent) : null
      return d && d.id === rec.last_event_id && lastId === d.id - 1 ? [d] : null
    }
    return events.filter(e => e.id > lastId)
  }

  async lastDone(batchId: string): Promise<LoggedEvent | null> {
    const [raw, done] = await Promise.all([this.r.hget(this.k('batch', batchId), 'rec'), this.r.get(this.k('done', batchId))])
    if (!raw || !done) return null
    const d = JSON.parse(done) as LoggedEvent
    return d.id === (JSON.parse(raw) as BatchRecord).last_event_id ? d : null
  }

  async activeBatches(): Promise<number> {
    return this.r.scard(this.k('active'))
  }

  /** All clients' pending + generating pages, or one client's (across every replica). */
  async unfinishedPages(client?: string): Promise<number> {
    const raw = client === undefined ? await this.r.get(this.k('unfinished')) : await this.r.hget(this.k('unfinished', 'clients'), client)
    return Math.max(0, Number(raw) || 0)
  }

  async cacheGet(key: string): Promise<CacheEntry | null> {
    const raw = await this.r.get(this.k('cache', key))
    return raw ? (JSON.parse(raw) as CacheEntry) : null
  }

  async cacheSet(key: string, entry: CacheEntry): Promise<void> {
    if (this.cacheTtlMs === undefined) await this.r.set(this.k('cache', key), JSON.stringify(entry))
    else if (this.cacheTtlMs > 0) await this.r.set(this.k('cache', key), JSON.stringify(entry), 'PX', this.cacheTtlMs)
  }

  async cacheDelete(key: string): Promise<void> {
    await this.r.del(this.k('cache', key))
  }

  /** Records expire by their TTLs. */
  async sweepExpired(): Promise<string[]> {
    return []
  }

  /** Every change is committed before mutate() resolves. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {}

  private k(...parts: string[]): string {
    return [this.p, ...parts].join(':')
  }
}

interface RedisWithCommit {
  nbCommit(...args: string[]): Promise<number>
  nbRebuildClients(active: string, clients: string, batchPrefix: string): Promise<number>
}
