// Event bus seam: a batch's committed events to the SSE streams of every process that follows it,
// and cancel signals to the process whose page runner holds the upstream call. Delivery is
// best-effort and may reorder across processes; the SSE writer fills gaps from the state store's
// event log, which is the record of truth.
import type { LoggedEvent } from '../events.js'

export type EventListener = (e: LoggedEvent) => void
export type CancelListener = (batchId: string) => void

export interface EventBus {
  publish(batchId: string, events: LoggedEvent[]): void
  /** Live events of one batch; resolves (with the unsubscribe function) once delivery has started. */
  subscribe(batchId: string, listener: EventListener): Promise<() => void>
  /** Tells every process that the batch was cancelled (each aborts its own upstream calls). */
  publishCancel(batchId: string): void
  onCancel(listener: CancelListener): () => void
  close(): Promise<void>
}

/** One process: listeners are called synchronously, in publish order. */
export class LocalEventBus implements EventBus {
  private readonly listeners = new Map<string, Set<EventListener>>()
  private readonly cancelListeners = new Set<CancelListener>()

  publish(batchId: string, events: LoggedEvent[]): void {
    const set = this.listeners.get(batchId)
    if (!set) return
    for (const e of events) for (const l of [...set]) l(e)
  }

  async subscribe(batchId: string, listener: EventListener): Promise<() => void> {
    let set = this.listeners.get(batchId)
    if (!set) {
      set = new Set()
      this.listeners.set(batchId, set)
    }
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0 && this.listeners.get(batchId) === set) this.listeners.delete(batchId)
    }
  }

  publishCancel(batchId: string): void {
    for (const l of [...this.cancelListeners]) l(batchId)
  }

  onCancel(listener: CancelListener): () => void {
    this.cancelListeners.add(listener)
    return () => this.cancelListeners.delete(listener)
  }

  async close(): Promise<void> {
    this.listeners.clear()
    this.cancelListeners.clear()
  }
}
