// State store seam: batch and page records, atomic changes to them together with the events they
// cause (ids increase by one per batch), the event log for Last-Event-ID replays, the
// duplicate-request cache, and the numbers admission control and estimates need.
//
// MemoryStateStore is the one-process set-up: records written to DATA_DIR/batches/ (atomically,
// coalesced) so a restart finds them; the event log lives in memory only. Start-up cost does not
// grow with history: only unfinished batches are read at start and kept in memory; a finished batch
// is read from disk when asked for and kept in a bounded cache of recently used ones, and swept
// (its file deleted) BATCH_RETENTION_HOURS after it finished.
import { BatchEventLog, type BatchEventName, type LoggedEvent } from '../events.js'
import type { Logger } from '../logger.js'
import type { FinishedBatchFile } from '../batchFiles.js'
import { doneEvent, isFinal, unfinishedPages, type BatchRecord, type CacheEntry, type EmitEvent } from './records.js'

export type { EmitEvent } from './records.js'

/**
 * A change of one batch. It runs on the current record and may mutate it; `emit` queues events that
 * are committed together with the change. It must be synchronous and depend only on its inputs: a
 * shared store may run it again on a fresh copy when another replica changed the batch meanwhile.
 */
export type Mutation<T> = (record: BatchRecord, emit: EmitEvent) => T

export interface MutateResult<T> {
  value: T
  /** the record as committed */
  record: BatchRecord
  /** the events committed with it, ids assigned, in order */
  events: LoggedEvent[]
}

export interface MutateOptions {
  /** false: do not write this change to durable storage (restart recovery re-derives it) */
  persist?: boolean
  /** resolve only once the change is on disk (a completed page is announced only after that) */
  durable?: boolean
}

export interface StateStore {
  /** Unfinished batches a previous process left behind, to be recovered (memory + disk: those on disk; shared stores: none). */
  init(): Promise<string[]>
  create(record: BatchRecord): Promise<void>
  /** A copy of the record, or null. */
  get(batchId: string): Promise<BatchRecord | null>
  /** Applies a change atomically; null when there is no such batch. */
  mutate<T>(batchId: string, fn: Mutation<T>, opts?: MutateOptions): Promise<MutateResult<T> | null>
  /** Events after `lastId`, or null when they cannot be replayed (unknown, pre-restart or compacted id). */
  eventsSince(batchId: string, lastId: number): Promise<LoggedEvent[] | null>
  /** The batch's last event when it is a `done` (the batch is finished and nothing happened since). */
  lastDone(batchId: string): Promise<LoggedEvent | null>
  /** Batches not finished, across the set-up. */
  activeBatches(): Promise<number>
  /** Pending + generating pages across the set-up (of one client's batches when `client` is given). */
  unfinishedPages(client?: string): Promise<number>
  cacheGet(key: string): Promise<CacheEntry | null>
  cacheSet(key: string, entry: CacheEntry): Promise<void>
  cacheDelete(key: string): Promise<void>
  /**
   * Retention: removes finished batches whose last change is before `cutoffMs` (ms since the epoch)
   * and duplicate-cache entries past their time; returns the ids removed. Stores whose records
   * expire by themselves (Redis TTLs) return [].
   */
  sweepExpired(cutoffMs: number): Promise<string[]>
  /** Resolves once every accepted change is durable. */
  flush(): Promise<void>
  close(): Promise<void>
}

/** Where MemoryStateStore writes (the disk side of Storage; batch files: server/batchFiles.ts). */
export interface StatePersistence {
  saveJson(name: 'cache', data: unknown): Promise<void>
  loadJson(name: 'cache'): Promise<unknown>
  /** finished: saved where start-up does not read it */
  saveBatch(id: string, state: unknown, finished?: boolean): Promise<void>
  /** null: no such batch, or its file is damaged (reported by the persistence) */
  loadBatch(id: string): Promise<unknown | null>
  /** batches saved as unfinished (and files from before finished ones were kept apart) */
  liveBatchIds(): Promise<string[]>
  /** moves a finished batch's file saved under the unfinished name to the finished one, unchanged */
  markFinished(id: string): Promise<void>
  finishedBatches(): Promise<FinishedBatchFile[]>
  deleteBatch(id: string): Promise<void>
}

export interface MemoryStateStoreOptions {
  persistence: StatePersistence
  logger: Logger
  now?: () => number
  /** how long a finished batch keeps its full event history for Last-Event-ID replays (default 10 min) */
  eventRetentionMs?: number
  /**
   * How long a duplicate-cache entry may be reused after it was stored (ms; undefined: always). The
   * set-up makes it IMAGE_RETENTION − BATCH_RETENTION, so a reused image outlives the batch it joins.
   */
  cacheTtlMs?: number
  /** finished batches kept in memory after they were read or finished (default 500, least recently used go first) */
  maxCachedFinished?: number
}

interface Entry {
  record: BatchRecord
  log: BatchEventLog
}

/** a cache entry as kept here: when it was stored (ms since the epoch) */
type TimedCacheEntry = CacheEntry & { stored_at: number }

export class MemoryStateStore implements StateStore {
  /** batches not finished: always in memory */
  private readonly live = new Map<string, Entry>()
  /** finished batches read or finished recently, least recently used first */
  private readonly finished = new Map<string, Entry>()
  private readonly loading = new Map<string, Promise<Entry | null>>()
  private readonly cache = new Map<string, TimedCacheEntry>()
  private readonly writes = new Set<Promise<void>>()
  private readonly now: () => number
  private readonly maxFinished: number

  constructor(private readonly opts: MemoryStateStoreOptions) {
    this.now = opts.now ?? Date.now
    this.maxFinished = Math.max(1, opts.maxCachedFinished ?? 500)
  }

  /** Reads the cache and the unfinished batches only; finished files from before the split are moved aside. */
  async init(): Promise<string[]> {
    const cache = await this.opts.persistence.loadJson('cache')
    if (cache && typeof cache === 'object') {
      for (const [k, v] of Object.entries(cache as Record<string, unknown>)) {
        const e = v as Partial<TimedCacheEntry> | null
        if (e && typeof e.image_key === 'string' && typeof e.thumbnail_key === 'string') {
          // entries from before stored_at count from now (the image store still checks the image exists)
          this.cache.set(k, { image_key: e.image_key, thumbnail_key: e.thumbnail_key, ...(e.shortened ? { shortened: true } : {}), stored_at: typeof e.stored_at === 'number' ? e.stored_at : this.now() })
        }
      }
    }
    const ids: string[] = []
    const all = await this.opts.persistence.liveBatchIds()
    // a few files at a time: an upgraded DATA_DIR may hold thousands (read once, then moved aside)
    for (let i = 0; i < all.length; i += 32) {
      await Promise.all(all.slice(i, i + 32).map(async id => {
        const state = this.checked(await this.opts.persistence.loadBatch(id), id, `batches/${id}.json`)
        if (!state) return
        if (isFinal(state)) {
          // a file from before finished batches were kept apart: renamed, not kept in memory
          await this.opts.persistence.markFinished(id)
          return
        }
        this.live.set(id, { record: state, log: new BatchEventLog(state.last_event_id ?? 0) })
        ids.push(id)
      }))
    }
    return ids
  }

  async create(record: BatchRecord): Promise<void> {
    const entry = { record: structuredClone(record), log: new BatchEventLog(record.last_event_id) }
    this.live.set(record.batch_id, entry)
    this.persist(entry)
  }

  async get(batchId: string): Promise<BatchRecord | null> {
    const e = await this.entry(batchId)
    return e ? structuredClone(e.record) : null
  }

  async mutate<T>(batchId: string, fn: Mutation<T>, opts: MutateOptions = {}): Promise<MutateResult<T> | null> {
    const entry = await this.entry(batchId)
    if (!entry) return null
    // single-threaded from here: the change and its events are applied without anything in between
    const queued: Array<{ event: Exclude<BatchEventName, 'snapshot'>; data: unknown }> = []
    const value = fn(entry.record, (event, data) => { queued.push({ event, data }) })
    const events = queued.map(q => entry.log.append(q.event, q.data))
    entry.record.last_event_id = entry.log.lastId
    if (events.some(e => e.event === 'done')) this.scheduleCompaction(entry)
    this.file(batchId, entry)
    if (opts.persist !== false) {
      const written = this.persist(entry)
      if (opts.durable) await written
    }
    return { value, record: structuredClone(entry.record), events }
  }

  async eventsSince(batchId: string, lastId: number): Promise<LoggedEvent[] | null> {
    return (await this.entry(batchId))?.log.since(lastId) ?? null
  }

  async lastDone(batchId: string): Promise<LoggedEvent | null> {
    const log = (await this.entry(batchId))?.log
    const done = log?.lastDone()
    return done && done.id === log!.lastId ? done : null
  }

  async activeBatches(): Promise<number> {
    let n = 0
    for (const e of this.live.values()) if (!isFinal(e.record)) n++
    return n
  }

  async unfinishedPages(client?: string): Promise<number> {
    let n = 0
    for (const e of this.live.values()) if (client === undefined || e.record.client === client) n += unfinishedPages(e.record)
    return n
  }

  async cacheGet(key: string): Promise<CacheEntry | null> {
    const e = this.cache.get(key)
    if (!e) return null
    if (this.cacheExpired(e)) {
      this.cache.delete(key)
      return null
    }
    return e
  }

  async cacheSet(key: string, entry: CacheEntry): Promise<void> {
    if (this.opts.cacheTtlMs !== undefined && this.opts.cacheTtlMs <= 0) return
    this.cache.set(key, { ...entry, stored_at: this.now() })
    this.saveCache()
  }

  async cacheDelete(key: string): Promise<void> {
    this.cache.delete(key)
  }

  async sweepExpired(cutoffMs: number): Promise<string[]> {
    const gone: string[] = []
    for (const f of await this.opts.persistence.finishedBatches()) {
      // a batch a retry reopened meanwhile is live again: kept
      if (f.changedAt >= cutoffMs || this.live.has(f.id)) continue
      this.finished.delete(f.id)
      await this.opts.persistence.deleteBatch(f.id)
      gone.push(f.id)
    }
    let pruned = 0
    for (const [k, e] of this.cache) if (this.cacheExpired(e)) { this.cache.delete(k); pruned++ }
    if (pruned) this.saveCache()
    return gone
  }

  async flush(): Promise<void> {
    while (this.writes.size) await Promise.allSettled([...this.writes])
  }

  async close(): Promise<void> {
    await this.flush()
  }

  /** In memory, or read from disk (finished batches); concurrent readers share one read. */
  private async entry(batchId: string): Promise<Entry | null> {
    const hot = this.live.get(batchId)
    if (hot) return hot
    const done = this.finished.get(batchId)
    if (done) {
      // most recently used last
      this.finished.delete(batchId)
      this.finished.set(batchId, done)
      return done
    }
    if (!/^b_[a-f0-9]{24}$/.test(batchId)) return null
    let loading = this.loading.get(batchId)
    if (!loading) {
      loading = this.load(batchId).finally(() => this.loading.delete(batchId))
      this.loading.set(batchId, loading)
    }
    return loading
  }

  private async load(batchId: string): Promise<Entry | null> {
    const state = this.checked(await this.opts.persistence.loadBatch(batchId), batchId, `batches/${batchId}.done.json`)
    // an unfinished batch not in memory is not one this process knows (start-up read them all)
    if (!state || !isFinal(state) || state.batch_id !== batchId) return null
    const known = this.live.get(batchId) ?? this.finished.get(batchId)
    if (known) return known
    // the last event of a finished batch is its `done`: the stream of a batch read back can say it
    const log = BatchEventLog.ending({ id: state.last_event_id, event: 'done', data: doneEvent(state) })
    const entry = { record: state, log }
    this.file(batchId, entry)
    return entry
  }

  /** Files the entry as live or finished (and evicts the least recently used finished ones). */
  private file(batchId: string, entry: Entry): void {
    if (!isFinal(entry.record)) {
      this.finished.delete(batchId)
      this.live.set(batchId, entry)
      return
    }
    this.live.delete(batchId)
    this.finished.delete(batchId)
    this.finished.set(batchId, entry)
    while (this.finished.size > this.maxFinished) this.finished.delete(this.finished.keys().next().value!)
  }

  private checked(raw: unknown, id: string, file: string): BatchRecord | null {
    if (raw === null) return null
    const state = raw as BatchRecord
    if (wellFormed(state)) return state
    // a damaged batch never stops start-up; it is named (file under DATA_DIR, what is wrong) so the administrator can look at it
    this.opts.logger.warn('damaged batch file skipped', { batch: String((raw as { batch_id?: unknown } | null)?.batch_id ?? id), file, reason: malformation(state) })
    return null
  }

  private cacheExpired(e: TimedCacheEntry): boolean {
    return this.opts.cacheTtlMs !== undefined && e.stored_at + this.opts.cacheTtlMs < this.now()
  }

  private saveCache(): void {
    this.track(this.opts.persistence.saveJson('cache', Object.fromEntries(this.cache)))
  }

  private persist(entry: Entry): Promise<void> {
    entry.record.last_event_id = entry.log.lastId
    entry.record.updated_at = new Date(this.now()).toISOString()
    return this.track(this.opts.persistence.saveBatch(entry.record.batch_id, entry.record, isFinal(entry.record)))
  }

  private scheduleCompaction(entry: Entry): void {
    const doneId = entry.log.lastId
    const timer = setTimeout(() => {
      // only if nothing happened since (a page retry reopens the batch)
      if (entry.log.lastId === doneId) entry.log.compact()
    }, this.opts.eventRetentionMs ?? 10 * 60_000)
    timer.unref?.()
  }

  private track(p: Promise<void>): Promise<void> {
    const tracked = p.catch(err => {
      this.opts.logger.error('could not save state', { error: err instanceof Error ? err.message : String(err) })
    })
    this.writes.add(tracked)
    void tracked.finally(() => this.writes.delete(tracked))
    return tracked
  }
}

/** A persisted record the engine can work with: version 1, an id, and pages that are all objects with a number and a status. */
/** What makes a parsed batch file unusable, in a few words (for the warning). */
function malformation(state: BatchRecord | null | undefined): string {
  if (!state || typeof state !== 'object') return `not a batch record (${state === null ? 'null' : typeof state})`
  if (state.version !== 1 || typeof state.batch_id !== 'string') return 'not a batch record (no version 1 or batch_id)'
  if (!Array.isArray(state.pages) || state.pages.length === 0) return 'no pages'
  const bad = state.pages.findIndex(p => !p || typeof p !== 'object' || typeof p.page_number !== 'number' || typeof p.status !== 'string')
  return `page ${bad + 1} is ${state.pages[bad] === null ? 'null' : 'not a page record'}`
}

function wellFormed(state: BatchRecord | null | undefined): state is BatchRecord {
  if (!state || typeof state !== 'object' || state.version !== 1 || typeof state.batch_id !== 'string' || !Array.isArray(state.pages) || state.pages.length === 0) return false
  return state.pages.every(p => !!p && typeof p === 'object' && typeof p.page_number === 'number' && typeof p.status === 'string')
}
