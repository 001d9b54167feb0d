// Per-batch event log for Server-Sent Events. Every event gets the next id of its batch; the log is
// kept while the process lives so a client reconnecting with Last-Event-ID gets exactly what it
// missed. Ids continue across restarts (the batch state stores the last id), so a reconnect after a
// restart — when the old events are gone — is detected and answered with a fresh snapshot instead.
import type { Request, Response } from 'express'

export type BatchEventName = 'snapshot' | 'page' | 'progress' | 'done'

export interface LoggedEvent {
  id: number
  event: BatchEventName
  data: unknown
}

type Listener = (e: LoggedEvent) => void

export class BatchEventLog {
  private readonly events: LoggedEvent[] = []
  private readonly listeners = new Set<Listener>()
  private seq: number
  /** events with ids <= base are not in this log (emitted before a restart, or compacted away) */
  private base: number

  constructor(lastId = 0) {
    this.seq = lastId
    this.base = lastId
  }

  get lastId(): number {
    return this.seq
  }

  append(event: Exclude<BatchEventName, 'snapshot'>, data: unknown): LoggedEvent {
    const e: LoggedEvent = { id: ++this.seq, event, data }
    this.events.push(e)
    for (const l of [...this.listeners]) l(e)
    return e
  }

  /** Events after `lastId`, or null when they cannot be replayed (unknown or pre-restart id). */
  since(lastId: number): LoggedEvent[] | null {
    if (!Number.isInteger(lastId) || lastId < this.base || lastId > this.seq) return null
    return this.events.filter(e => e.id > lastId)
  }

  /**
   * Frees the history of a finished batch, keeping only its last event (`done`): a client that
   * reconnects from an older id gets a fresh snapshot instead of a replay.
   */
  compact(): void {
    const last = this.events.at(-1)
    this.events.length = 0
    if (last) this.events.push(last)
    this.base = last ? last.id - 1 : this.seq
  }

  lastDone(): LoggedEvent | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i].event === 'done') return this.events[i]
    return undefined
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}

export function formatEvent(e: { id: number; event: string; data: unknown }): string {
  return `id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`
}

export interface SseSource {
  log: BatchEventLog
  /** current full progress JSON (for the snapshot event) */
  snapshot(): unknown
  /** true when the batch has finished and its final `done` is the latest thing that happened */
  finished(): boolean
}

export interface SseOptions {
  pingIntervalMs: number
  /** told when a stream opens and when it closes (metrics) */
  clients?: { opened(): void; closed(): void }
}

function parseLastEventId(req: Request): number | undefined {
  const raw = req.get('Last-Event-ID') ?? (typeof req.query.last_event_id === 'string' ? req.query.last_event_id : undefined)
  if (raw === undefined || !/^\d{1,15}$/.test(raw.trim())) return undefined
  return Number(raw.trim())
}

/**
 * Streams a batch: snapshot (or the missed events on reconnect), then live events, closing after
 * `done`. A reconnect after `done` was already delivered gets 204, which tells EventSource to stop.
 */
export function streamBatch(req: Request, res: Response, source: SseSource, opts: SseOptions): void {
  const lastId = parseLastEventId(req)
  const log = source.log
  let replay: LoggedEvent[] | null = null
  if (lastId !== undefined) {
    replay = log.since(lastId)
    if (replay && replay.length === 0 && source.finished()) {
      res.status(204).end()
      return
    }
  }

  res.status(200)
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8')
  res.setHeader('Cache-Control', 'no-cache, no-transform')
  res.setHeader('Connection', 'keep-alive')
  res.setHeader('X-Accel-Buffering', 'no')
  res.flushHeaders()
  res.socket?.setNoDelay(true)
  opts.clients?.opened()

  let closed = false
  let unsubscribe = () => {}
  const ping = setInterval(() => {
    if (!closed) res.write(': ping\n\n')
  }, opts.pingIntervalMs)
  ping.unref?.()

  const close = () => {
    if (closed) return
    closed = true
    clearInterval(ping)
    unsubscribe()
    opts.clients?.closed()
    res.end()
  }
  res.on('close', close)

  const write = (e: LoggedEvent) => {
    if (closed) return
    res.write(formatEvent(e))
    if (e.event === 'done') close()
  }

  res.write('retry: 3000\n\n')
  if (replay) {
    for (const e of replay) write(e)
  } else {
    // The snapshot carries the id of the latest event it already reflects, so a reconnect from it
    // replays only newer events.
    const done = source.finished() ? log.lastDone() : undefined
    if (done && done.id === log.lastId) {
      // finished: the snapshot stands just before the final `done`, which follows and closes
      write({ id: done.id - 1, event: 'snapshot', data: source.snapshot() })
      write(done)
    } else {
      write({ id: log.lastId, event: 'snapshot', data: source.snapshot() })
    }
  }
  if (!closed) unsubscribe = log.subscribe(write)
}
