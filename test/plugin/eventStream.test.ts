import { describe, expect, it } from 'vitest'
import { followBatchEvents, type BatchEvent } from '../../plugin/composables/useEventStream'
import { scriptedSseFetch } from './fakes/sse'

const page = (n: number, status: string) => ({
  page_number: n, slide_id: `s${n}`, status, image_url: status === 'completed' ? `/api/v1/images/${n}.png` : null,
  thumbnail_url: null, error_message: null, retry_count: 0,
})

function follow(fetchImpl: typeof fetch, extra: Partial<Parameters<typeof followBatchEvents>[0]> = {}) {
  const events: BatchEvent[] = []
  const ids: string[] = []
  const abort = new AbortController()
  const outcome = followBatchEvents({
    url: 'http://127.0.0.1:1/api/v1/slide-generations/batches/b1/events',
    token: 'secret-token',
    signal: abort.signal,
    fetchImpl,
    retryDelayMs: 1,
    onEvent: e => events.push(e),
    onEventId: id => ids.push(id),
    ...extra,
  })
  return { events, ids, abort, outcome }
}

describe('followBatchEvents', () => {
  it('sends the token, parses typed events and stops at done', async () => {
    const { fetchImpl, calls } = scriptedSseFetch([{
      events: [
        { id: '1', event: 'page', data: page(1, 'generating') },
        { id: '2', event: 'page', data: page(1, 'completed') },
        { id: '3', event: 'done', data: { status: 'completed', completed_pages: 1, failed_pages: 0 } },
      ],
      keepOpen: true,
    }])
    const run = follow(fetchImpl)
    expect(await run.outcome).toBe('done')
    expect(run.events.map(e => e.type)).toEqual(['page', 'page', 'done'])
    expect(run.ids).toEqual(['1', '2', '3'])
    expect(calls).toHaveLength(1)
    expect(calls[0].headers.authorization).toBe('Bearer secret-token')
    expect(calls[0].headers.accept).toBe('text/event-stream')
  })

  it('a stream that silently stops bringing data (not even pings) is taken as lost and opened again', async () => {
    const { fetchImpl, calls } = scriptedSseFetch([
      { events: [{ id: '4', event: 'page', data: page(1, 'generating') }], keepOpen: true }, // then nothing, ever
      { events: [{ id: '5', event: 'done', data: { status: 'completed', completed_pages: 1, failed_pages: 0 } }] },
    ])
    const connection: string[] = []
    const run = follow(fetchImpl, { stallTimeoutMs: 50, onConnection: state => connection.push(state) })
    expect(await run.outcome).toBe('done')
    expect(calls).toHaveLength(2)
    expect(calls[1].headers['last-event-id']).toBe('4')
    expect(connection).toEqual(['open', 'lost', 'open'])
  })

  it('reconnects after a dropped stream with Last-Event-ID', async () => {
    const { fetchImpl, calls } = scriptedSseFetch([
      { events: [{ id: '7', event: 'page', data: page(1, 'completed') }] }, // server dropped us
      { events: [{ id: '8', event: 'done', data: { status: 'completed', completed_pages: 1, failed_pages: 0 } }] },
    ])
    const run = follow(fetchImpl)
    expect(await run.outcome).toBe('done')
    expect(calls).toHaveLength(2)
    expect(calls[0].headers['last-event-id']).toBeUndefined()
    expect(calls[1].headers['last-event-id']).toBe('7')
  })

  it('resumes after a given event id on a fresh stream', async () => {
    const { fetchImpl, calls } = scriptedSseFetch([
      { events: [{ id: '12', event: 'done', data: { status: 'completed', completed_pages: 1, failed_pages: 0 } }] },
    ])
    expect(await follow(fetchImpl, { lastEventId: '11' }).outcome).toBe('done')
    expect(calls[0].headers['last-event-id']).toBe('11')
  })

  it('reports unavailable when the endpoint is missing (404) — no retry loop', async () => {
    const { fetchImpl, calls } = scriptedSseFetch([{ status: 404, contentType: 'application/json' }])
    expect(await follow(fetchImpl).outcome).toBe('unavailable')
    expect(calls).toHaveLength(1)
  })

  it('reports unavailable when a stream is answered with JSON (buffering proxy)', async () => {
    const { fetchImpl } = scriptedSseFetch([{ status: 200, contentType: 'application/json' }])
    expect(await follow(fetchImpl).outcome).toBe('unavailable')
  })

  it('gives up after repeated network errors', async () => {
    const { fetchImpl, calls } = scriptedSseFetch([{ networkError: true }])
    expect(await follow(fetchImpl, { maxFailures: 3 }).outcome).toBe('unavailable')
    expect(calls).toHaveLength(3)
  })

  it('ends quietly when aborted by the caller', async () => {
    const { fetchImpl } = scriptedSseFetch([{ events: [{ id: '1', event: 'page', data: page(1, 'generating') }], keepOpen: true }])
    const run = follow(fetchImpl)
    await new Promise(resolve => setTimeout(resolve, 20))
    run.abort.abort()
    expect(await run.outcome).toBe('aborted')
    expect(run.events).toHaveLength(1)
  })
})
