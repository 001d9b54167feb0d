import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BatchEventLog } from '../../server/events.js'
import { ProviderError } from '../../server/providers/types.js'
import {
  fakePublicDir, okImage, openSse, pages, postJson, scriptedProvider, startTestServer, tempDir, waitUntil, type SseEvent, type TestServer,
} from './helpers.js'

const BATCHES = '/api/v1/slide-generations/batches'

describe('BatchEventLog', () => {
  it('numbers events and replays exactly those after an id', () => {
    const log = new BatchEventLog()
    log.append('page', { n: 1 })
    log.append('progress', { n: 2 })
    log.append('done', { n: 3 })
    expect(log.since(0)!.map(e => e.id)).toEqual([1, 2, 3])
    expect(log.since(1)!.map(e => e.id)).toEqual([2, 3])
    expect(log.since(3)).toEqual([])
    expect(log.since(4)).toBeNull()
  })

  it('compaction keeps only the last event; older ids then get no replay', () => {
    const log = new BatchEventLog()
    for (let i = 0; i < 5; i++) log.append('page', { i })
    log.append('done', {})
    log.compact()
    expect(log.since(2)).toBeNull()
    expect(log.since(5)!.map(e => e.event)).toEqual(['done'])
    expect(log.lastDone()?.id).toBe(6)
    expect(log.append('page', {}).id).toBe(7)
  })

  it('continues ids after a restart and cannot replay what came before', () => {
    const log = new BatchEventLog(41)
    expect(log.append('done', {}).id).toBe(42)
    expect(log.since(10)).toBeNull()
    expect(log.since(41)!.map(e => e.id)).toEqual([42])
  })
})

describe('SSE /events', () => {
  let srv: TestServer
  let cleanup: () => Promise<void>
  const gates = new Map<string, () => void>()
  let gated = false
  const provider = scriptedProvider(async (page, _attempt, req) => {
    if (req.page.deckTitle === 'flaky' && page === 2 && _attempt === 1) return new ProviderError('retryable', 'upstream_unavailable', 'busy')
    if (req.page.deckTitle === 'reopened' && _attempt === 1) return new ProviderError('fatal', 'safety_refused', 'refused')
    if (gated) await new Promise<void>(resolve => gates.set(`${req.page.deckTitle}#${page}`, resolve))
    return okImage()
  })

  beforeAll(async () => {
    const t = await tempDir()
    cleanup = t.cleanup
    srv = await startTestServer({
      provider, dataDir: path.join(t.dir, 'data'), publicDir: await fakePublicDir(t.dir),
      pingIntervalMs: 40, config: { maxConcurrentGenerations: 2 },
    })
  })
  afterAll(async () => {
    await srv.stop()
    await cleanup()
  })

  function checkIds(events: SseEvent[]) {
    const ids = events.filter(e => e.event !== 'comment').map(e => e.id!)
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1])
  }

  it('sends snapshot, then page and progress events in order, then done, and closes; with the SSE headers', async () => {
    gated = true
    const created = await postJson(`${srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'order', pages: pages(3), options: { style_chain: false } })
    const id = created.body.batch_id
    const sse = await openSse(`${srv.url}${BATCHES}/${id}/events`)
    expect(sse.status).toBe(200)
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(sse.headers.get('cache-control')).toMatch(/no-cache/)
    expect(sse.headers.get('x-accel-buffering')).toBe('no')
    const snap = await sse.waitFor(e => e.event === 'snapshot')
    expect(snap.data).toMatchObject({ batch_id: id, progress: { total_pages: 3 } })
    await waitUntil(() => gates.size === 2)
    gated = false // page 3 runs straight through
    for (const [k, release] of gates) {
      gates.delete(k)
      release()
    }
    await sse.closed
    const evts = sse.events.filter(e => e.event !== 'comment')
    expect(evts[0].event).toBe('snapshot')
    expect(evts.at(-1)).toMatchObject({ event: 'done', data: { status: 'completed', completed_pages: 3, failed_pages: 0 } })
    checkIds(evts)
    // each page: generating before completed, and a progress event after each page change
    for (let n = 1; n <= 3; n++) {
      const statuses = evts.filter(e => e.event === 'page' && (e.data as { page_number: number }).page_number === n).map(e => (e.data as { status: string }).status)
      expect(statuses.at(-1)).toBe('completed')
      expect(statuses.filter(s => s === 'completed')).toHaveLength(1)
      // the snapshot may already show a page generating; then only completed follows
      if (statuses.length > 1) expect(statuses[0]).toBe('generating')
    }
    const lastProgress = evts.filter(e => e.event === 'progress').at(-1)!
    expect(lastProgress.data).toMatchObject({ completed_pages: 3, total_pages: 3, percentage: 100, estimated_remaining_time: 0 })
  })

  it('sends ": ping" comments at the injected interval', async () => {
    gated = true
    const created = await postJson(`${srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'ping', pages: pages(1), options: { style_chain: false } })
    const sse = await openSse(`${srv.url}${BATCHES}/${created.body.batch_id}/events`)
    await sse.waitFor(e => e.event === 'comment' && e.data === 'ping', 2000)
    expect(sse.raw.join('')).toContain(': ping\n\n')
    gated = false
    await waitUntil(() => gates.size === 1)
    for (const [k, release] of gates) {
      gates.delete(k)
      release()
    }
    await sse.closed
  })

  it('replays what a client missed after Last-Event-ID, without duplicates', async () => {
    gated = true
    const created = await postJson(`${srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'flaky', pages: pages(4), options: { style_chain: false } })
    const id = created.body.batch_id
    const first = await openSse(`${srv.url}${BATCHES}/${id}/events`)
    await first.waitFor(e => e.event === 'snapshot')
    // let page 1 finish while connected, then drop the connection (its call starts once its claim
    // is on disk: it may come after the snapshot)
    await waitUntil(() => gates.size >= 1)
    gated = false
    const [k1, r1] = [...gates][0]
    gates.delete(k1)
    r1()
    await first.waitFor(e => e.event === 'page' && (e.data as { status: string }).status === 'completed')
    first.abort()
    await first.closed
    const seen = first.events.filter(e => e.event !== 'comment')
    const lastId = seen.at(-1)!.id!
    // the rest happens while disconnected
    await waitUntil(async () => {
      for (const [k, release] of gates) {
        gates.delete(k)
        release()
      }
      return (await srv.batches.progress(id)).status === 'completed'
    })
    const second = await openSse(`${srv.url}${BATCHES}/${id}/events`, { 'Last-Event-ID': String(lastId) })
    await second.closed
    const replayed = second.events.filter(e => e.event !== 'comment')
    expect(replayed.some(e => e.event === 'snapshot')).toBe(false)
    expect(replayed[0].id).toBe(lastId + 1)
    checkIds(replayed)
    expect(replayed.at(-1)!.event).toBe('done')
    // together: exactly the full log, nothing lost, nothing twice
    const all = [...seen.filter(e => e.event !== 'snapshot'), ...replayed]
    const full = (await srv.batches.eventsSince(id, 0))!
    expect(all.map(e => e.id)).toEqual(full.filter(e => e.id > (seen[0].id ?? 0)).map(e => e.id))
    // a retried page shows its retry in the stream
    const page2 = full.filter(e => e.event === 'page' && (e.data as { page_number: number }).page_number === 2)
    expect(page2.some(e => (e.data as { retry_count: number }).retry_count === 1)).toBe(true)

    // reconnecting after done was delivered: 204 tells EventSource to stop
    const third = await fetch(`${srv.url}${BATCHES}/${id}/events`, { headers: { 'Last-Event-ID': String(replayed.at(-1)!.id) } })
    expect(third.status).toBe(204)
  })

  it('a fresh connection to a finished batch gets snapshot then done, then the stream closes', async () => {
    const created = await postJson(`${srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'finished', pages: pages(2), options: { style_chain: false } })
    const id = created.body.batch_id
    await waitUntil(async () => {
      for (const [k, release] of gates) {
        gates.delete(k)
        release()
      }
      return (await srv.batches.progress(id)).status === 'completed'
    })
    const sse = await openSse(`${srv.url}${BATCHES}/${id}/events`)
    await sse.closed
    const evts = sse.events.filter(e => e.event !== 'comment')
    expect(evts.map(e => e.event)).toEqual(['snapshot', 'done'])
    checkIds(evts)
    expect(evts[0].data).toMatchObject({ status: 'completed', progress: { completed_pages: 2 } })
  })

  it('a replay that passes an earlier done (a retry reopened the batch) goes on to the latest done', async () => {
    const created = await postJson(`${srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'reopened', pages: pages(1), options: { style_chain: false } })
    const id = created.body.batch_id
    const release = () => {
      for (const [k, r] of gates) {
        gates.delete(k)
        r()
      }
    }
    await waitUntil(async () => { release(); return (await srv.batches.progress(id)).status === 'failed' })
    const retried = await postJson(`${srv.url}${BATCHES}/${id}/pages/1/retry`, {})
    expect(retried.status).toBe(202)
    await waitUntil(async () => { release(); return (await srv.batches.progress(id)).status === 'completed' })
    const full = (await srv.batches.eventsSince(id, 0))!
    const dones = full.filter(e => e.event === 'done')
    expect(dones).toHaveLength(2)
    // a client that last saw the first event: the replay carries the first done and everything after it
    const sse = await openSse(`${srv.url}${BATCHES}/${id}/events`, { 'Last-Event-ID': String(full[0].id) })
    await sse.closed
    const replayed = sse.events.filter(e => e.event !== 'comment')
    checkIds(replayed)
    expect(replayed.map(e => e.id)).toEqual(full.slice(1).map(e => e.id))
    expect(replayed.at(-1)).toMatchObject({ event: 'done', data: { status: 'completed' } })
  })

  it('an unknown or pre-restart Last-Event-ID gets a fresh snapshot', async () => {
    gated = true
    const created = await postJson(`${srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'unknown-id', pages: pages(1), options: { style_chain: false } })
    const sse = await openSse(`${srv.url}${BATCHES}/${created.body.batch_id}/events`, { 'Last-Event-ID': '9999' })
    const snap = await sse.waitFor(e => e.event === 'snapshot')
    expect(snap.data).toMatchObject({ batch_id: created.body.batch_id })
    gated = false
    await waitUntil(() => {
      for (const [k, release] of gates) {
        gates.delete(k)
        release()
      }
      return sse.events.some(e => e.event === 'done')
    })
    await sse.closed
  })
})
