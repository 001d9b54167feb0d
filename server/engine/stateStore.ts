// State store seam: batch and page records, atomic changes to them together with the events they
// cause (ids increase by one per batch), the event log for Last-Event-ID replays, the
// duplicate-request cache, and the numbers admission control and estimates need.
//
// MemoryStateStore is the one-process set-up: records in memory, written to DATA_DIR/batches/*.json
// (atomically, coalesced) so a restart finds them; the event log lives in memory only.
import { BatchEventLog, type BatchEventName, type LoggedEvent } from '../events.js'
import type { Logger } from '../logger.js'
import { isFinal, unfinishedPages, type BatchRecord, type CacheEntry, type EmitEvent } from './records.js'

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
  /** Records found at start-up that a previous process left behind (memory + disk: all of them; shared stores: none). */
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
  /** Resolves once every accepted change is durable. */
  flush(): Promise<void>
  close(): Promise<void>
}

/** Where MemoryStateStore writes (the disk side of Storage). */
export interface StatePersistence {
  saveJson(name: 'cache', data: unknown): Promise<void>
  loadJson(name: 'cache'): Promise<unknown>
  saveBatch(id: string, state: unknown): Promise<void>
  loadBatches(): Promise<unknown[]>
}

export interface MemoryStateStoreOptions {
  persistence: StatePersistence
  logger: Logger
  now?: () => number
  /** how long a finished batch keeps its full event history for Last-Event-ID replays (default 10 min) */
  eventRetentionMs?: number
}

interface Entry {
  record: BatchRecord
  log: BatchEventLog
}

export class MemoryStateStore implements StateStore {
  private readonly batches = new Map<string, Entry>()
  private readonly cache = new Map<string, CacheEntry>()
  private readonly writes = new Set<Promise<void>>()
  private readonly now: () => number

  constructor(private readonly opts: MemoryStateStoreOptions) {
    this.now = opts.now ?? Date.now
  }

  async init(): Promise<string[]> {
    const cache = await this.opts.persistence.loadJson('cache')
    if (cache && typeof cache === 'object') {
      for (const [k, v] of Object.entries(cache as Record<string, unknown>)) {
        const e = v as Partial<CacheEntry> | null
        if (e && typeof e.image_key === 'string' && typeof e.thumbnail_key === 'string') this.cache.set(k, { image_key: e.image_key, thumbnail_key: e.thumbnail_key, ...(e.shortened ? { shortened: true } : {}) })
      }
    }
    const ids: string[] = []
    for (const raw of await this.opts.persistence.loadBatches()) {
      const state = raw as BatchRecord
      if (!wellFormed(state)) {
        // a damaged batch never stops start-up; it is named so the administrator can look at it
        this.opts.logger.warn('damaged batch file skipped', { batch: String((raw as { batch_id?: unknown } | null)?.batch_id ?? '(unknown)') })
        continue
      }
      this.batches.set(state.batch_id, { record: state, log: new BatchEventLog(state.last_event_id ?? 0) })
      ids.push(state.batch_id)
    }
    return ids
  }

  async create(record: BatchRecord): Promise<void> {
    const entry = { record: structuredClone(record), log: new BatchEventLog(record.last_event_id) }
    this.batches.set(record.batch_id, entry)
    this.persist(entry)
  }

  async get(batchId: string): Promise<BatchRecord | null> {
    const e = this.batches.get(batchId)
    return e ? structuredClone(e.record) : null
  }

  async mutate<T>(batchId: string, fn: Mutation<T>, opts: MutateOptions = {}): Promise<MutateResult<T> | null> {
    const entry = this.batches.get(batchId)
    if (!entry) return null
    // single-threaded: the change and its events are applied without anything in between
    const queued: Array<{ event: Exclude<BatchEventName, 'snapshot'>; data: unknown }> = []
    const value = fn(entry.record, (event, data) => { queued.push({ event, data }) })
    const events = queued.map(q => entry.log.append(q.event, q.data))
    entry.record.last_event_id = entry.log.lastId
    if (events.some(e => e.event === 'done')) this.scheduleCompaction(entry)
    if (opts.persist !== false) {
      const written = this.persist(entry)
      if (opts.durable) await written
    }
    return { value, record: structuredClone(entry.record), events }
  }

  async eventsSince(batchId: string, lastId: number): Promise<LoggedEvent[] | null> {
    return this.batches.get(batchId)?.log.since(lastId) ?? null
  }

  async lastDone(batchId: string): Promise<LoggedEvent | null> {
    const log = this.batches.get(batchId)?.log
    const done = log?.lastDone()
    return done && done.id === log!.lastId ? done : null
  }

  async activeBatches(): Promise<number> {
    let n = 0
    for (const e of this.batches.values()) if (!isFinal(e.record)) n++
    return n
  }

  async unfinishedPages(client?: string): Promise<number> {
    let n = 0
    for (const e of this.batches.values()) if (client === undefined || e.record.client === client) n += unfinishedPages(e.record)
    return n
  }

  async cacheGet(key: string): Promise<CacheEntry | null> {
    return this.cache.get(key) ?? null
  }

  async cacheSet(key: string, entry: CacheEntry): Promise<void> {
    this.cache.set(key, entry)
    this.saveCache()
  }

  async cacheDelete(key: string): Promise<void> {
    this.cache.delete(key)
  }

  async flush(): Promise<void> {
    while (this.writes.size) await Promise.allSettled([...this.writes])
  }

  async close(): Promise<void> {
    await this.flush()
  }

  private saveCache(): void {
    this.track(this.opts.persistence.saveJson('cache', Object.fromEntries(this.cache)))
  }

  private persist(entry: Entry): Promise<void> {
    entry.record.last_event_id = entry.log.lastId
    entry.record.updated_at = new Date(this.now()).toISOString()
    return this.track(this.opts.persistence.saveBatch(entry.record.batch_id, entry.record))
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
function wellFormed(state: BatchRecord | null | undefined): state is BatchRecord {
  if (!state || typeof state !== 'object' || state.version !== 1 || typeof state.batch_id !== 'string' || !Array.isArray(state.pages) || state.pages.length === 0) return false
  return state.pages.every(p => !!p && typeof p === 'object' && typeof p.page_number === 'number' && typeof p.status === 'string')
}
