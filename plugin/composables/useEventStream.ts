// Follows a batch's Server-Sent Events (api.md). fetch-event-source lets us send the Authorization
// header (EventSource cannot), reconnects with Last-Event-ID, and keeps going in hidden tabs.
import { fetchEventSource, type EventSourceMessage } from '@microsoft/fetch-event-source'
import type { BatchProgress, DoneEvent, PageResult, ProgressEvent } from '../types/api'
import { authHeaders } from '../api/client'

export type BatchEvent =
  | { type: 'snapshot'; data: BatchProgress }
  | { type: 'page'; data: PageResult }
  | { type: 'progress'; data: ProgressEvent }
  | { type: 'done'; data: DoneEvent }

export type StreamOutcome = 'done' | 'aborted' | 'unavailable'

export interface FollowEventsOptions {
  url: string
  token?: string
  /** resume after this event id (a stream opened again after a retry) */
  lastEventId?: string
  signal: AbortSignal
  onEvent(event: BatchEvent): void
  /** every event id seen, so a later stream can resume after it */
  onEventId?(id: string): void
  /** 'open' when the stream (re)opened, 'lost' when the connection dropped or could not be made */
  onConnection?(state: 'open' | 'lost'): void
  fetchImpl?: typeof fetch
  /** consecutive failed (re)connections before we give up on SSE */
  maxFailures?: number
  retryDelayMs?: number
  /**
   * A stream (or its opening) that brings no byte for this long is taken as lost and opened again
   * (default 45 s: the proxy writes `: ping` every 15 s, api.md). A connection that silently went
   * away (sleep, a NAT or VPN dropping it) would otherwise leave the float frozen.
   */
  stallTimeoutMs?: number
}

const STALL_TIMEOUT_MS = 45_000

/**
 * `fetch` whose request is aborted when no byte arrives for `stallMs` (headers or body); the
 * caller's own abort still goes through. fetch-event-source then sees an error and reconnects.
 */
export function stallWatchedFetch(base: typeof fetch, stallMs: number): typeof fetch {
  return async (input, init) => {
    const inner = new AbortController()
    const outer = init?.signal
    let timer: ReturnType<typeof setTimeout> | undefined
    const stop = () => clearTimeout(timer)
    const arm = () => {
      stop()
      timer = setTimeout(() => inner.abort(new DOMException('no data from the event stream', 'TimeoutError')), stallMs)
    }
    const onOuterAbort = () => {
      stop()
      inner.abort(outer?.reason)
    }
    if (outer?.aborted) onOuterAbort()
    else outer?.addEventListener('abort', onOuterAbort, { once: true })
    arm()
    let response: Response
    try {
      response = await base(input, { ...init, signal: inner.signal })
    }
    catch (error) {
      stop()
      throw error
    }
    if (!response.body) {
      stop()
      return response
    }
    arm()
    const body = response.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        arm()
        controller.enqueue(chunk)
      },
      flush: stop,
    }), { signal: inner.signal })
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
  }
}

class StreamUnavailable extends Error {}
class StreamInterrupted extends Error {}

const EVENT_TYPES = ['snapshot', 'page', 'progress', 'done'] as const

function toBatchEvent(message: EventSourceMessage): BatchEvent | null {
  const type = (EVENT_TYPES as readonly string[]).includes(message.event) ? message.event as BatchEvent['type'] : null
  if (!type || !message.data) return null
  try {
    return { type, data: JSON.parse(message.data) } as BatchEvent
  }
  catch {
    return null
  }
}

export async function followBatchEvents(options: FollowEventsOptions): Promise<StreamOutcome> {
  const maxFailures = options.maxFailures ?? 3
  const retryDelayMs = options.retryDelayMs ?? 1000
  const controller = new AbortController()
  const onOuterAbort = () => controller.abort()
  options.signal.addEventListener('abort', onOuterAbort)
  let done = false
  let failures = 0
  const headers: Record<string, string> = { ...authHeaders(options.token) }
  // lower-case: the library writes the same key when it reconnects, so there is never two.
  if (options.lastEventId) headers['last-event-id'] = options.lastEventId

  try {
    await fetchEventSource(options.url, {
      headers,
      signal: controller.signal,
      openWhenHidden: true,
      fetch: stallWatchedFetch(options.fetchImpl ?? ((input, init) => fetch(input, init)), options.stallTimeoutMs ?? STALL_TIMEOUT_MS),
      // fetch-event-source wants a Promise back; nothing to await here (PPTist's lint: require-await)
      // eslint-disable-next-line require-await
      async onopen(response) {
        const type = response.headers.get('content-type') || ''
        if (response.ok && type.startsWith('text/event-stream')) {
          failures = 0
          options.onConnection?.('open')
          return
        }
        // No stream here (404, 401, a proxy that buffers, an old server): use polling instead.
        throw new StreamUnavailable(`events endpoint answered ${response.status} ${type}`)
      },
      onmessage(message) {
        if (message.id) options.onEventId?.(message.id)
        const event = toBatchEvent(message)
        if (!event) return
        options.onEvent(event)
        if (event.type === 'done') {
          done = true
          controller.abort()
        }
      },
      onclose() {
        // The server closes only after `done`; any other close is a dropped connection.
        if (!done) throw new StreamInterrupted('stream closed before done')
      },
      onerror(error) {
        if (error instanceof StreamUnavailable) throw error
        options.onConnection?.('lost')
        failures++
        if (failures >= maxFailures) throw new StreamUnavailable('too many dropped connections')
        return retryDelayMs * failures
      },
    })
  }
  catch (error) {
    if (error instanceof StreamUnavailable) return 'unavailable'
    throw error
  }
  finally {
    options.signal.removeEventListener('abort', onOuterAbort)
  }
  return done ? 'done' : 'aborted'
}
