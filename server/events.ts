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

  /** The log of a finished batch read back from disk: only its last event (`done`) is known. */
  static ending(last: LoggedEvent): BatchEventLog {
    const log = new BatchEventLog(last.id - 1)
    log.seq = last.id
    log.events.push(last)
    return log
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
  /** events after `lastId`, or null when they cannot be replayed */
  since(lastId: number): Promise<LoggedEvent[] | null>
  /**
   * The current full progress JSON with the id of the newest event it reflects, and the final `done`
   * when the batch has finished and nothing happened since.
   */
  snapshot(): Promise<{ data: unknown; lastId: number; done: LoggedEvent | null }>
  /** live events (possibly out of order or with gaps when they come from other processes) */
  subscribe(listener: (e: LoggedEvent) => void): Promise<() => void>
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
 * Events are written in id order exactly once: a live event that arrives ahead of one not yet seen
 * (another process published it first) makes the writer fetch the gap from the event log.
 */
export async function streamBatch(req: Request, res: Response, source: SseSource, opts: SseOptions): Promise<void> {
  const lastId = parseLastEventId(req)
  // subscribe before reading anything, so nothing committed in between is missed
  const early: LoggedEvent[] = []
  let onLive: (e: LoggedEvent) => void = e => { early.push(e) }
  let unsubscribe = await source.subscribe(e => onLive(e))
  let replay: LoggedEvent[] | null = null
  let snap: Awaited<ReturnType<SseSource['snapshot']>> | null = null
  try {
    if (lastId !== undefined) replay = await source.since(lastId)
    if (!replay || replay.length === 0) snap = await source.snapshot()
  } catch (err) {
    unsubscribe()
    throw err
  }
  if (replay && replay.length === 0 && snap?.done && snap.done.id <= lastId!) {
    unsubscribe()
    res.status(204).end()
    return
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
  let sent = 0
  // live events and catch-ups go through one chain so gap fills keep the order
  let chain = Promise.resolve()
  const ping = setInterval(() => {
    if (closed) return
    res.write(': ping\n\n')
    // catch up on anything a lost bus message did not bring (another process died after committing)
    chain = chain.then(async () => {
      const missing = closed ? null : await source.since(sent).catch(() => null)
      if (missing) missing.forEach((m, i) => { if (m.id > sent) write(m, i === missing.length - 1) })
    }).catch(() => close())
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

  // a `done` closes the stream unless newer events follow it (a page retry reopened the batch)
  const write = (e: LoggedEvent, last = true) => {
    if (closed) return
    res.write(formatEvent(e))
    sent = Math.max(sent, e.id)
    if (e.event === 'done' && last) close()
  }

  const deliver = async (e: LoggedEvent) => {
    if (closed || e.id <= sent) return
    if (e.id === sent + 1) return write(e)
    const missing = await source.since(sent).catch(() => null)
    if (missing) {
      for (const m of missing) if (m.id > sent && m.id < e.id) write(m, false)
    }
    if (e.id > sent) write(e)
  }
  const enqueue = (e: LoggedEvent) => {
    chain = chain.then(() => deliver(e)).catch(() => close())
  }

  res.write('retry: 3000\n\n')
  if (replay) {
    sent = lastId!
    replay.forEach((e, i) => write(e, i === replay!.length - 1))
  } else if (snap) {
    // The snapshot carries the id of the latest event it already reflects, so a reconnect from it
    // replays only newer events.
    if (snap.done && snap.done.id === snap.lastId) {
      // finished: the snapshot stands just before the final `done`, which follows and closes
      write({ id: snap.done.id - 1, event: 'snapshot', data: snap.data })
      write(snap.done)
    } else {
      write({ id: snap.lastId, event: 'snapshot', data: snap.data })
    }
  }
  if (closed) return
  onLive = enqueue
  for (const e of early) enqueue(e)
}
