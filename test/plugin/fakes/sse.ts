// A fake SSE endpoint for fetch-event-source: each connection is scripted as a list of events;
// the stream can end (server closes), stay open, or fail to open.
export interface SseEvent {
  id?: string
  event: string
  data: unknown
}

export interface ScriptedConnection {
  status?: number
  contentType?: string
  events?: SseEvent[]
  /** leave the stream open after the events (until aborted) */
  keepOpen?: boolean
  /** throw a network error instead of answering */
  networkError?: boolean
}

export interface FetchCall {
  url: string
  headers: Record<string, string>
}

export function encodeEvents(events: SseEvent[]): string {
  return events.map(e => `${e.id ? `id: ${e.id}\n` : ''}event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`).join('')
}

/** fetch that answers the n-th call with the n-th scripted connection (the last one repeats) */
export function scriptedSseFetch(connections: ScriptedConnection[]) {
  const calls: FetchCall[] = []
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers: Record<string, string> = {}
    new Headers(init?.headers).forEach((value, key) => { headers[key.toLowerCase()] = value })
    calls.push({ url: String(input), headers })
    const script = connections[Math.min(calls.length - 1, connections.length - 1)]
    if (script.networkError) throw new TypeError('Failed to fetch')
    const signal = init?.signal
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(': ping\n\n' + encodeEvents(script.events ?? [])))
        if (!script.keepOpen) controller.close()
        else signal?.addEventListener('abort', () => {
          try {
            controller.error(new DOMException('aborted', 'AbortError'))
          }
          catch { /* already closed */ }
        })
      },
    })
    return new Response(body, {
      status: script.status ?? 200,
      headers: { 'content-type': script.contentType ?? 'text/event-stream' },
    })
  }) as typeof fetch
  return { fetchImpl, calls }
}
