// Several proxy replicas on one Redis (state, events, BullMQ queue) and one image store (a shared
// DATA_DIR stands in for S3 here): any replica answers progress and SSE, Last-Event-ID replays on
// another replica, one concurrency limit holds across all, a cancel on one aborts the upstream calls
// another holds, and a replica that shuts down hands its pages to the others.
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { ImageProvider } from '../../server/providers/types.js'
import { fakePublicDir, getJson, okImage, openSse, pages, postJson, scriptedProvider, startTestServer, tempDir, waitUntil, type SseEvent, type TestServer } from './helpers.js'
import { BullScheduler } from '../../server/engine/bullScheduler.js'
import { dropRedisPrefix, redisSetup } from './setups.js'

const BATCHES = '/api/v1/slide-generations/batches'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined)
})

/** A provider for one replica that counts its own calls and in-flight calls into a shared tally. */
function replicaProvider(base: ImageProvider, tally: { inFlight: number; maxInFlight: number }, own: { calls: number; inFlight: number; maxInFlight: number }): ImageProvider {
  return {
    name: base.name,
    model: base.model,
    async generate(req) {
      own.calls++
      own.inFlight++
      own.maxInFlight = Math.max(own.maxInFlight, own.inFlight)
      tally.inFlight++
      tally.maxInFlight = Math.max(tally.maxInFlight, tally.inFlight)
      try {
        return await base.generate(req)
      } finally {
        own.inFlight--
        tally.inFlight--
      }
    },
  }
}

async function cluster(base: ImageProvider, opts: { concurrency: number }) {
  const t = await tempDir()
  cleanups.push(t.cleanup)
  const dataDir = path.join(t.dir, 'data')
  const publicDir = await fakePublicDir(t.dir)
  const redis = redisSetup()
  cleanups.push(() => dropRedisPrefix(redis.prefix))
  const tally = { inFlight: 0, maxInFlight: 0 }
  const start = async () => {
    const own = { calls: 0, inFlight: 0, maxInFlight: 0 }
    const srv: TestServer = await startTestServer({
      provider: replicaProvider(base, tally, own), dataDir, publicDir, pingIntervalMs: 200,
      config: { maxConcurrentGenerations: opts.concurrency, redis: { url: redis.url, prefix: redis.prefix } },
      redisTiming: { lockDurationMs: redis.lockDurationMs, stalledIntervalMs: redis.stalledIntervalMs },
    })
    cleanups.push(() => srv.stop())
    return { srv, own }
  }
  return { start, tally }
}

describe('several replicas on one Redis', () => {
  it('progress and SSE from any replica, Last-Event-ID replayed on another, one concurrency limit for all', async () => {
    const base = scriptedProvider(() => okImage(), { delayMs: 40 })
    const c = await cluster(base, { concurrency: 2 })
    const [a, b, cc] = [await c.start(), await c.start(), await c.start()]
    const created = await postJson(`${a.srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'replicas', pages: pages(12), options: { style_chain: false } })
    expect(created.status).toBe(202)
    const id = created.body.batch_id as string

    // follow on B until a few pages are done, then reconnect on C from the last id seen
    const first = await openSse(`${b.srv.url}${BATCHES}/${id}/events`)
    await first.waitFor(e => e.event === 'page' && (e.data as { status: string }).status === 'completed', 10_000)
    first.abort()
    const seen = first.events.filter(e => e.event !== 'comment')
    const lastId = seen.at(-1)!.id!
    const second = await openSse(`${cc.srv.url}${BATCHES}/${id}/events`, { 'Last-Event-ID': String(lastId) })
    await second.closed
    const rest = second.events.filter(e => e.event !== 'comment')
    expect(rest.some(e => e.event === 'snapshot')).toBe(false)
    expect(rest.at(-1)).toMatchObject({ event: 'done', data: { status: 'completed', completed_pages: 12 } })

    // nothing lost, nothing twice: after the snapshot, every logged event exactly once, in order
    const received: SseEvent[] = [...seen.slice(1), ...rest]
    const log = (await cc.srv.batches.eventsSince(id, seen[0].id!))!
    expect(received.map(e => e.id)).toEqual(log.map(e => e.id))
    for (let n = 1; n <= 12; n++) {
      const statuses = received.filter(e => e.event === 'page' && (e.data as { page_number: number }).page_number === n).map(e => (e.data as { status: string }).status)
      expect(statuses.filter(s => s === 'completed'), `page ${n}`).toHaveLength(1)
    }

    // progress from the third replica; every page called upstream once, never above the global limit
    const progress = await getJson(`${cc.srv.url}${BATCHES}/${id}/progress`)
    expect(progress.body).toMatchObject({ status: 'completed', progress: { completed_pages: 12 } })
    expect(base.calls).toHaveLength(12)
    expect(c.tally.maxInFlight).toBeLessThanOrEqual(2)
    expect(c.tally.maxInFlight).toBe(2)
    // the images are distinct and each answers on any replica
    const urls = (progress.body.results as Array<{ image_url: string }>).map(r => r.image_url)
    expect(new Set(urls).size).toBe(12)
    expect((await fetch(`${b.srv.url}${urls[0]}`)).status).toBe(200)
  })

  it('fair across replicas: a 3-page deck created on B while a 100-page deck from A fills the queue gets its calls within a few rounds', async () => {
    // the first calls wait at a gate until the small deck is queued, so the order of the calls after
    // it says who was served next (not timing)
    let openGate = () => {}
    const gate = new Promise<void>(resolve => { openGate = resolve })
    const base = scriptedProvider(async () => { await gate; return okImage() }, { delayMs: 5 })
    const c = await cluster(base, { concurrency: 3 })
    const [a, b, cc] = [await c.start(), await c.start(), await c.start()]
    const big = await postJson(`${a.srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'big', pages: pages(100), options: { style_chain: false } })
    expect(big.status).toBe(202)
    await waitUntil(() => c.tally.inFlight === 3)
    const callsBefore = base.calls.length
    const small = await postJson(`${b.srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'small', pages: pages(3, 's').map(p => ({ ...p, content: `Small ${p.content}` })), options: { style_chain: false } })
    expect(small.status).toBe(202)
    openGate()
    const status = async (id: string) => (await getJson(`${cc.srv.url}${BATCHES}/${id}/progress`)).body as { status: string; progress: { completed_pages: number } }
    await waitUntil(async () => (await status(small.body.batch_id as string)).status === 'completed', 20_000)
    // the big deck is far from done when the small one is (first come, first served: 100 pages before it)
    expect((await status(big.body.batch_id as string)).progress.completed_pages).toBeLessThan(50)
    await waitUntil(async () => (await status(big.body.batch_id as string)).status === 'completed', 60_000)
    // taking turns page by page: the small deck's three pages are among the next calls (first come,
    // first served: after 97 more). Each replica takes its next job while it still stores the last
    // answers, so a call may start a round later than its job was taken: within four rounds of 3
    const order = base.calls.slice(callsBefore).map(call => call.req.page.deckTitle)
    expect(order.filter(t => t === 'small')).toHaveLength(3)
    expect(order.lastIndexOf('small')).toBeLessThan(12)
    expect(base.calls).toHaveLength(103)
    expect(c.tally.maxInFlight).toBe(3)
  }, 90_000)

  it('work is spread over the replicas: each runs its share of the one limit, and takes up more when another leaves', async () => {
    const base = scriptedProvider(() => okImage(), { delayMs: 60 })
    const c = await cluster(base, { concurrency: 3 })
    const rs = [await c.start(), await c.start(), await c.start()]
    const share = (r: typeof rs[number]) => (r.srv.engine.scheduler as BullScheduler).localConcurrency
    // every replica has heard the others' heartbeats: a third of the limit each
    await waitUntil(() => rs.every(r => share(r) === 1), 10_000)
    const created = await postJson(`${rs[0].srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'spread', pages: pages(24), options: { style_chain: false } })
    const id = created.body.batch_id as string
    await waitUntil(async () => (await getJson(`${rs[2].srv.url}${BATCHES}/${id}/progress`)).body.status === 'completed', 30_000)
    // the limit is reached only with all three working, one call each (a BullMQ worker with the
    // whole limit keeps fetching for itself: the replica that created the batch made most calls)
    expect(c.tally.maxInFlight).toBe(3)
    for (const r of rs) expect(r.own.maxInFlight).toBe(1)
    expect(rs.map(r => r.own.calls).reduce((a, b) => a + b)).toBe(24)
    // one leaves: the other two run two each
    await rs[2].srv.stop()
    await waitUntil(() => share(rs[0]) === 2 && share(rs[1]) === 2, 10_000)
  })

  it('a cancel sent to one replica aborts the upstream calls another replica holds', async () => {
    const base = scriptedProvider(() => 'hang')
    const c = await cluster(base, { concurrency: 2 })
    const a = await c.start()
    const created = await postJson(`${a.srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'cancel', pages: pages(5), options: { style_chain: false } })
    const id = created.body.batch_id as string
    await waitUntil(() => a.own.inFlight === 2)
    // C joins now, so the calls in flight are certainly A's
    const cc = await c.start()
    const sent = Date.now()
    const cancelled = await postJson(`${cc.srv.url}${BATCHES}/${id}/cancel`, {})
    expect(cancelled.body.status).toBe('cancelled')
    await waitUntil(() => c.tally.inFlight === 0, 5000, 5)
    expect(Date.now() - sent).toBeLessThan(1500)
    expect(base.stats.aborted).toBe(2)
    // the queued pages were dropped: nobody calls upstream for them
    await new Promise(r => setTimeout(r, 300))
    expect(base.calls).toHaveLength(2)
    expect((await getJson(`${a.srv.url}${BATCHES}/${id}/progress`)).body.results.every((r: { status: string }) => r.status === 'cancelled')).toBe(true)
  })

  it('a replica that shuts down hands the pages it was working on to another replica', async () => {
    let hang = true
    const base = scriptedProvider(() => (hang ? 'hang' : okImage()))
    const c = await cluster(base, { concurrency: 2 })
    const a = await c.start()
    const created = await postJson(`${a.srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'handover', pages: pages(4), options: { style_chain: false } })
    const id = created.body.batch_id as string
    await waitUntil(() => a.own.inFlight === 2)
    hang = false
    const b = await c.start()
    await a.srv.stop()
    await waitUntil(async () => (await getJson(`${b.srv.url}${BATCHES}/${id}/progress`)).body.status === 'completed', 15_000)
    const p = await getJson(`${b.srv.url}${BATCHES}/${id}/progress`)
    expect(p.body.progress.completed_pages).toBe(4)
    // the two pages A gave up were attempted again by B
    expect(b.own.calls).toBeGreaterThanOrEqual(2)
  })
  // a replica SIGKILLed mid-call (another process): test/server/replicas.e2e.test.ts
})
