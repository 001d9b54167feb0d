// Event bus over Redis pub/sub, for several replicas. Each batch has a channel P:ev:{id} (a replica
// subscribes while one of its SSE clients follows the batch); cancels go to P:cancel, which every
// replica follows. Listeners in the publishing process are called at once; the echo of its own
// message is skipped. Pub/sub may drop a message (a replica dies between commit and publish): the
// SSE writer fills gaps from the state store's event log, and checks it on every keep-alive.
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { LoggedEvent } from '../events.js'
import type { Logger } from '../logger.js'
import type { CancelListener, EventBus, EventListener } from './eventBus.js'

interface Message {
  origin: string
  events?: LoggedEvent[]
  cancel?: string
}

export interface RedisEventBusOptions {
  /** for PUBLISH */
  redis: Redis
  /** a connection of its own, used only for SUBSCRIBE (Redis puts it in subscriber mode) */
  subscriber: Redis
  prefix: string
  logger: Logger
}

export class RedisEventBus implements EventBus {
  private readonly origin = randomBytes(8).toString('hex')
  private readonly listeners = new Map<string, Set<EventListener>>()
  private readonly cancelListeners = new Set<CancelListener>()
  private readonly ready: Promise<void>

  constructor(private readonly opts: RedisEventBusOptions) {
    opts.subscriber.on('message', (channel: string, raw: string) => this.onMessage(channel, raw))
    this.ready = opts.subscriber.subscribe(this.cancelChannel()).then(() => undefined)
  }

  /** Resolves once this replica receives cancels from the others. */
  whenReady(): Promise<void> {
    return this.ready
  }

  publish(batchId: string, events: LoggedEvent[]): void {
    if (events.length === 0) return
    this.deliver(batchId, events)
    const msg: Message = { origin: this.origin, events }
    this.opts.redis.publish(this.channel(batchId), JSON.stringify(msg)).catch(err => this.failed('publish', err))
  }

  async subscribe(batchId: string, listener: EventListener): Promise<() => void> {
    let set = this.listeners.get(batchId)
    const first = !set
    if (!set) {
      set = new Set()
      this.listeners.set(batchId, set)
    }
    set.add(listener)
    if (first) await this.opts.subscriber.subscribe(this.channel(batchId))
    return () => {
      set.delete(listener)
      if (set.size === 0 && this.listeners.get(batchId) === set) {
        this.listeners.delete(batchId)
        this.opts.subscriber.unsubscribe(this.channel(batchId)).catch(err => this.failed('unsubscribe', err))
      }
    }
  }

  publishCancel(batchId: string): void {
    for (const l of [...this.cancelListeners]) l(batchId)
    const msg: Message = { origin: this.origin, cancel: batchId }
    this.opts.redis.publish(this.cancelChannel(), JSON.stringify(msg)).catch(err => this.failed('publish', err))
  }

  onCancel(listener: CancelListener): () => void {
    this.cancelListeners.add(listener)
    return () => this.cancelListeners.delete(listener)
  }

  async close(): Promise<void> {
    this.listeners.clear()
    this.cancelListeners.clear()
  }

  private onMessage(channel: string, raw: string): void {
    let msg: Message
    try {
      msg = JSON.parse(raw) as Message
    } catch {
      return
    }
    if (msg.origin === this.origin) return
    if (channel === this.cancelChannel()) {
      if (typeof msg.cancel === 'string') for (const l of [...this.cancelListeners]) l(msg.cancel)
      return
    }
    const prefix = `${this.opts.prefix}:ev:`
    if (channel.startsWith(prefix) && Array.isArray(msg.events)) this.deliver(channel.slice(prefix.length), msg.events)
  }

  private deliver(batchId: string, events: LoggedEvent[]): void {
    const set = this.listeners.get(batchId)
    if (!set) return
    for (const e of events) for (const l of [...set]) l(e)
  }

  private failed(what: string, err: unknown): void {
    this.opts.logger.warn(`redis ${what} failed (SSE clients catch up from the event log)`, { error: err instanceof Error ? err.message : String(err) })
  }

  private channel(batchId: string): string {
    return `${this.opts.prefix}:ev:${batchId}`
  }

  private cancelChannel(): string {
    return `${this.opts.prefix}:cancel`
  }
}
