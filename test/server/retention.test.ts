// Retention and start-up cost: finished batches are not read at start-up yet answer when asked for;
// batches past BATCH_RETENTION_HOURS are swept (404 in the api.md shape), images past
// IMAGE_RETENTION_HOURS with their variants; on Redis the records of a finished batch and the
// duplicate-cache entries carry TTLs. (Start-up time and RSS with 5,000 batches: npm run bench.)
import { readdir, utimes, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryLogger } from '../../server/logger.js'
import { MemoryStateStore, type StatePersistence } from '../../server/engine/stateStore.js'
import { RedisStateStore } from '../../server/engine/redisStateStore.js'
import { createStorage } from '../../server/storage.js'
import { batchRecord, newBatchId } from './batchRecords.js'
import { getJson, okImage, pages, postJson, scriptedProvider, startTestServer, tempDir, waitUntil } from './helpers.js'
import { dropRedisPrefix, redisSetup, TEST_REDIS_URL } from './setups.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

const DAY = 86_400_000
const backdate = (file: string, ms: number) => utimes(file, new Date(ms), new Date(ms))

describe('memory + disk', () => {
  it('reads only unfinished batches at start; a finished one is read when asked for; expired ones are swept', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const damaged: string[] = []
    const storage = await createStorage({ dataDir: t.dir, thumbnail: { width: 64, height: 36 }, onDamaged: file => damaged.push(file) })
    const finished = Array.from({ length: 20 }, newBatchId)
    const live = newBatchId()
    for (const id of finished) await storage.saveBatch(id, batchRecord(id), true)
    await storage.saveBatch(live, batchRecord(live, 8, { unfinished: true }))
    // a file from before finished batches were kept apart: moved aside at start-up, not kept in memory
    const legacy = newBatchId()
    await storage.saveBatch(legacy, batchRecord(legacy))

    const reads: string[] = []
    const counted: StatePersistence = { ...storage, loadBatch: id => { reads.push(id); return storage.loadBatch(id) } }
    const store = new MemoryStateStore({ persistence: counted, logger: createMemoryLogger() })
    // its writes (state, cache) start on the next turn: finish them before the directory goes
    cleanups.push(() => store.close())
    expect(await store.init()).toEqual([live])
    expect(reads.sort()).toEqual([legacy, live].sort())
    expect(await readdir(path.join(t.dir, 'batches'))).toContain(`${legacy}.done.json`)
    expect(await store.activeBatches()).toBe(1)

    // asked for: read from disk once, its stream can still say `done` with the id it had
    const rec = await store.get(finished[3])
    expect(rec).toMatchObject({ batch_id: finished[3], status: 'completed' })
    expect(await store.lastDone(finished[3])).toMatchObject({ id: rec!.last_event_id, event: 'done', data: { status: 'completed', completed_pages: 8 } })
    expect(await store.eventsSince(finished[3], rec!.last_event_id)).toEqual([])
    expect(reads.filter(id => id === finished[3])).toHaveLength(1)
    expect(await store.get(legacy)).toMatchObject({ status: 'completed' })
    expect(await store.get('b_' + 'f'.repeat(24))).toBeNull()
    // a damaged finished file, found when asked for: named, and the batch is a 404, nothing stops
    await writeFile(path.join(t.dir, 'batches', `${finished[19]}.done.json`), '{"version":1,"batch_')
    expect(await store.get(finished[19])).toBeNull()
    expect(damaged).toEqual([path.join(t.dir, 'batches', `${finished[19]}.done.json`)])

    // half of them finished 8 days ago: past a 7-day retention
    const now = Date.now()
    const old = finished.slice(0, 10)
    for (const id of old) await backdate(path.join(t.dir, 'batches', `${id}.done.json`), now - 8 * DAY)
    expect((await store.sweepExpired(now - 7 * DAY)).sort()).toEqual([...old].sort())
    for (const id of old) expect(await store.get(id)).toBeNull()
    expect(await store.get(finished[15])).toMatchObject({ status: 'completed' })
    expect(await store.get(live)).toMatchObject({ status: 'generating' })
    expect((await readdir(path.join(t.dir, 'batches'))).length).toBe(20 - 10 + 2)
  })

  it('an expired batch answers 404 in the api.md shape; old images go with their thumbnails, new ones stay', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const retention = { batchHours: 24 * 7, imageHours: 24 * 30 }
    const first = await startTestServer({ provider: scriptedProvider(() => okImage()), dataDir: t.dir, config: { retention } })
    cleanups.push(() => first.stop())
    // different decks: the duplicate cache does not hand the first one's images to the second
    const make = async (title: string) => {
      const created = await postJson(`${first.url}/api/v1/slide-generations/batches`, { template_id: 'nano_banana_1', deck_title: title, pages: pages(2), options: { style_chain: false } })
      expect(created.status).toBe(202)
      await waitUntil(async () => (await getJson(`${first.url}/api/v1/slide-generations/batches/${created.body.batch_id}/progress`)).body.status === 'completed')
      const p = await getJson(`${first.url}/api/v1/slide-generations/batches/${created.body.batch_id}/progress`)
      return { id: created.body.batch_id as string, images: p.body.results.flatMap((r: { image_url: string; thumbnail_url: string }) => [r.image_url, r.thumbnail_url]) as string[] }
    }
    const oldBatch = await make('Old deck')
    const newBatch = await make('New deck')
    await first.batches.flush()
    // the old batch finished 8 days ago and its images were made 31 days ago
    const now = Date.now()
    await backdate(path.join(t.dir, 'batches', `${oldBatch.id}.done.json`), now - 8 * DAY)
    for (const url of oldBatch.images) await backdate(path.join(t.dir, 'images', url.split('/').pop()!), now - 31 * DAY)

    expect(await first.engine.retention.sweep()).toMatchObject({ batches: 1, images: 2 })
    const gone = await getJson(`${first.url}/api/v1/slide-generations/batches/${oldBatch.id}/progress`)
    expect(gone.status).toBe(404)
    expect(gone.body).toEqual({ error: { code: 'not_found', message: 'Batch not found', details: [] } })
    for (const url of oldBatch.images) expect((await fetch(`${first.url}${url}`)).status).toBe(404)
    expect((await getJson(`${first.url}/api/v1/slide-generations/batches/${newBatch.id}/progress`)).body.status).toBe('completed')
    for (const url of newBatch.images) expect((await fetch(`${first.url}${url}`)).status).toBe(200)
  })

  it('the duplicate cache reuses an image only within its time (IMAGE − BATCH retention), so a reused image outlives its new batch', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const storage = await createStorage({ dataDir: t.dir, thumbnail: { width: 64, height: 36 } })
    let now = Date.now()
    const store = new MemoryStateStore({ persistence: storage, logger: createMemoryLogger(), now: () => now, cacheTtlMs: 23 * DAY })
    cleanups.push(() => store.close())
    await store.init()
    const entry = { image_key: 'a'.repeat(32) + '.png', thumbnail_key: 'a'.repeat(32) + '.thumb.jpg' }
    await store.cacheSet('h', entry)
    now += 22 * DAY
    expect(await store.cacheGet('h')).toMatchObject(entry)
    now += 2 * DAY
    expect(await store.cacheGet('h')).toBeNull()
  })
})

describe('redis', () => {
  it('a finished batch and its done marker expire after the retention, a reopened one does not; cache entries expire', async () => {
    const { prefix } = redisSetup()
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 })
    cleanups.push(async () => { await dropRedisPrefix(prefix); redis.disconnect() })
    const store = new RedisStateStore({ redis, prefix, batchRetentionMs: 7 * DAY, cacheTtlMs: 23 * DAY })
    await store.init()
    const id = newBatchId()
    await store.create(batchRecord(id, 2, { unfinished: true }))
    expect(await redis.pttl(`${prefix}:batch:${id}`)).toBe(-1)
    const finish = () => store.mutate(id, (s, emit) => {
      for (const p of s.pages) p.status = 'completed'
      s.status = 'completed'
      emit('done', { status: 'completed', completed_pages: 2, failed_pages: 0 })
    })
    await finish()
    for (const key of [`${prefix}:batch:${id}`, `${prefix}:done:${id}`]) {
      const ttl = await redis.pttl(key)
      expect(ttl, key).toBeGreaterThan(7 * DAY - 60_000)
      expect(ttl, key).toBeLessThanOrEqual(7 * DAY)
    }
    // a page retry reopens it: kept again until it finishes
    await store.mutate(id, s => { s.pages[1].status = 'pending'; s.status = 'generating' })
    expect(await redis.pttl(`${prefix}:batch:${id}`)).toBe(-1)
    await finish()
    expect(await redis.pttl(`${prefix}:batch:${id}`)).toBeGreaterThan(0)

    await store.cacheSet('h1', { image_key: 'a'.repeat(32) + '.png', thumbnail_key: 'a'.repeat(32) + '.thumb.jpg' })
    expect(await store.cacheGet('h1')).toMatchObject({ image_key: 'a'.repeat(32) + '.png' })
    const ttl = await redis.pttl(`${prefix}:cache:h1`)
    expect(ttl).toBeGreaterThan(23 * DAY - 60_000)
    expect(ttl).toBeLessThanOrEqual(23 * DAY)
  })
})
