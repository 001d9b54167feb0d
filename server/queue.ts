// The one global generation queue: at most `concurrency` upstream calls at once across every batch,
// shared fairly between batches.
//
// Why a small round-robin layer on top of p-queue: p-queue enforces the concurrency limit, but its
// waiting list is FIFO (or by fixed priority), so a 60-page deck queued first would run all 60 pages
// before a 3-page deck queued a second later got a slot. Here each batch keeps its own lane and a
// task is handed to p-queue only when p-queue has a free slot, taking lanes in turn. p-queue thus
// never has a waiting list of its own, and every freed slot goes to the batch served longest ago.
import PQueue from 'p-queue'

export interface QueueTask {
  batchId: string
  /** one upstream attempt; must not throw (errors are handled by the caller's run function) */
  run: () => Promise<void>
}

export interface QueueStats {
  running: number
  queued: number
  concurrency: number
}

export class GenerationQueue {
  private readonly pq: PQueue
  private readonly lanes = new Map<string, QueueTask[]>()
  /** when each batch last got a slot: a batch whose lane empties and refills keeps its place */
  private readonly lastServed = new Map<string, number>()
  private serveCounter = 0
  private dispatched = 0

  /**
   * @param concurrency upstream calls at once
   * @param limit.rpm UPSTREAM_RPM: at most this many task starts per `intervalMs` (default 60 000 ms,
   *   i.e. requests per minute; p-queue's interval cap). A task waiting for the cap holds its slot.
   */
  constructor(readonly concurrency: number, limit: { rpm?: number; intervalMs?: number } = {}) {
    this.pq = new PQueue({ concurrency, ...(limit.rpm ? { intervalCap: limit.rpm, interval: limit.intervalMs ?? 60_000 } : {}) })
  }

  /** Queue a task at the back of its batch's lane (or the front, e.g. a retry after backoff). */
  push(task: QueueTask, opts: { front?: boolean } = {}): void {
    let lane = this.lanes.get(task.batchId)
    if (!lane) {
      lane = []
      this.lanes.set(task.batchId, lane)
    }
    if (opts.front) lane.unshift(task)
    else lane.push(task)
    this.pump()
  }

  /** Drop every queued (not yet running) task of a batch; returns how many were dropped. */
  dropBatch(batchId: string): number {
    const lane = this.lanes.get(batchId)
    const n = lane?.length ?? 0
    this.lanes.delete(batchId)
    return n
  }

  /** Drop queued tasks of a batch matching a predicate (e.g. one page). */
  dropWhere(batchId: string, match: (task: QueueTask) => boolean): number {
    const lane = this.lanes.get(batchId)
    if (!lane) return 0
    const kept = lane.filter(t => !match(t))
    const n = lane.length - kept.length
    if (kept.length) this.lanes.set(batchId, kept)
    else this.dropBatch(batchId)
    return n
  }

  queuedFor(batchId: string): number {
    return this.lanes.get(batchId)?.length ?? 0
  }

  stats(): QueueStats {
    let queued = 0
    for (const lane of this.lanes.values()) queued += lane.length
    return { running: this.dispatched, queued, concurrency: this.concurrency }
  }

  /** Resolves when nothing runs and nothing waits. */
  async onIdle(): Promise<void> {
    while (this.dispatched > 0 || this.stats().queued > 0) await this.pq.onIdle()
  }

  /** The oldest-served batch with work waiting goes next (never-served batches first). */
  private next(): QueueTask | undefined {
    let pick: string | undefined
    let pickServed = Infinity
    for (const [id, lane] of this.lanes) {
      if (lane.length === 0) continue
      const served = this.lastServed.get(id) ?? -1
      if (served < pickServed) {
        pick = id
        pickServed = served
      }
    }
    if (pick === undefined) return undefined
    const lane = this.lanes.get(pick)!
    const task = lane.shift()!
    if (lane.length === 0) this.lanes.delete(pick)
    this.lastServed.set(pick, ++this.serveCounter)
    if (this.lastServed.size > 1000) {
      for (const id of this.lastServed.keys()) if (!this.lanes.has(id) && id !== pick) this.lastServed.delete(id)
    }
    return task
  }

  private pump(): void {
    while (this.dispatched < this.concurrency) {
      const task = this.next()
      if (!task) return
      this.dispatched++
      void this.pq.add(async () => {
        try {
          await task.run()
        } catch {
          // run() owns its errors; a throw here must not stall the queue
        } finally {
          this.dispatched--
          // let the slot be freed before refilling it
          queueMicrotask(() => this.pump())
        }
      })
    }
  }
}
