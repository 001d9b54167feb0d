// The image store seam against both set-ups: DATA_DIR/images and an S3 bucket on a real S3-compatible
// server (moto, test/server/s3Server.ts). The same behaviour is asked of both; the S3 extras (the
// bucket's readiness, redirects to S3_PUBLIC_BASE_URL, streaming through the proxy, a PUT that fails)
// follow.
import { stat } from 'node:fs/promises'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { diskImageStore, type ImageStore } from '../../server/engine/imageStore.js'
import { createS3DeckStore } from '../../server/engine/s3DeckStore.js'
import { readDeck } from '../../server/pptx/read.js'
import { S3ImageStore } from '../../server/engine/s3ImageStore.js'
import { createStorage } from '../../server/storage.js'
import { fakePublicDir, getJson, okImage, pages, postJson, scriptedProvider, startTestServer, tempDir, waitUntil } from './helpers.js'
import { fixture } from './pptx/helpers.js'
import { startTestS3, type TestS3 } from './s3Server.js'
import { dropRedisPrefix, redisSetup } from './setups.js'

const THUMB = { width: 160, height: 90 }
const BATCHES = '/api/v1/slide-generations/batches'

let s3: TestS3
const cleanups: Array<() => Promise<void>> = []
beforeAll(async () => {
  s3 = await startTestS3()
}, 40_000)
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined)
  await s3?.stop()
})

type Kind = 'disk' | 's3'
/** Two stores on the same images (two replicas, or a restart): the second never saw the first's saves. */
async function stores(kind: Kind): Promise<[ImageStore, ImageStore]> {
  if (kind === 'disk') {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    return [
      diskImageStore(await createStorage({ dataDir: t.dir, thumbnail: THUMB })),
      diskImageStore(await createStorage({ dataDir: t.dir, thumbnail: THUMB })),
    ]
  }
  const bucket = await s3.createBucket()
  const make = () => {
    const store = new S3ImageStore({ settings: s3.settings(bucket), thumbnail: THUMB })
    cleanups.push(async () => store.close())
    return store
  }
  return [make(), make()]
}

const png = () => sharp({ create: { width: 640, height: 360, channels: 3, background: '#d14424' } }).png().toBuffer()

async function bodyOf(store: ImageStore, key: string): Promise<Buffer | null> {
  const opened = await store.openImage(key)
  if (!opened) return null
  if ('file' in opened) return (await import('node:fs/promises')).readFile(opened.file)
  const chunks: Buffer[] = []
  for await (const c of opened.stream) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

describe.each(['disk', 's3'] as const)('image store (%s)', kind => {
  it('stores an image once, reads and opens it from another instance, with its thumbnail', async () => {
    const [a, b] = await stores(kind)
    const bytes = await png()
    const saved = await a.saveImage(bytes)
    expect(saved).toMatchObject({ mime: 'image/png', width: 640, height: 360 })
    // stored before saveImage resolved: another instance (replica) reads it at once
    expect(await b.resolveImage(saved.imageKey)).toMatchObject({ mime: 'image/png', size: bytes.length })
    expect((await b.readImage(saved.imageKey))!.equals(bytes)).toBe(true)
    expect((await bodyOf(b, saved.imageKey))!.equals(bytes)).toBe(true)
    expect(await saved.thumbnail).toMatchObject({ ok: true })
    const thumb = await b.readImage(saved.thumbnailKey)
    expect(await sharp(thumb!).metadata()).toMatchObject({ format: 'jpeg', width: THUMB.width, height: THUMB.height })
    expect(await b.resolveImage(saved.thumbnailKey)).toMatchObject({ mime: 'image/jpeg', size: thumb!.length })
  })

  it('makes the embed variant on request on any instance; unknown and malformed keys are null', async () => {
    const [a, b] = await stores(kind)
    const big = await sharp({ create: { width: 2000, height: 1125, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.5 } } }).png().toBuffer()
    const saved = await a.saveImage(big)
    const embedKey = saved.imageKey.replace('.png', '.embed.jpg')
    const [one, two] = await Promise.all([b.resolveImage(embedKey), b.resolveImage(embedKey)])
    expect(one).toMatchObject({ mime: 'image/jpeg' })
    expect(two!.size).toBe(one!.size)
    expect(await sharp((await a.readImage(embedKey))!).metadata()).toMatchObject({ format: 'jpeg', width: 1600, height: 900 })
    for (const key of ['0'.repeat(32) + '.png', '0'.repeat(32) + '.thumb.jpg', '0'.repeat(32) + '.embed.jpg', '../etc/passwd', 'x.png']) {
      expect(await b.resolveImage(key), key).toBeNull()
      expect(await b.readImage(key), key).toBeNull()
      expect(await b.openImage(key), key).toBeNull()
    }
  })

  it('retention: deletes the images stored before the cutoff with their variants, also when two replicas sweep at once', async () => {
    const [a, b] = await stores(kind)
    const saved = await Promise.all([a.saveImage(await png()), a.saveImage(await png())])
    await Promise.all(saved.map(s => s.thumbnail))
    const embedKey = saved[0].imageKey.replace('.png', '.embed.jpg')
    expect(await b.resolveImage(embedKey)).not.toBeNull()
    expect(await a.deleteOlderThan(0)).toBe(0)
    expect(await b.readImage(saved[1].thumbnailKey)).not.toBeNull()
    // a cutoff in the future: everything is older
    const [one, two] = await Promise.all([a.deleteOlderThan(Date.now() + 60_000), b.deleteOlderThan(Date.now() + 60_000)])
    expect(Math.max(one, two)).toBe(2)
    for (const s of saved) {
      for (const key of [s.imageKey, s.thumbnailKey, s.imageKey.replace('.png', '.embed.jpg')]) expect(await b.resolveImage(key), key).toBeNull()
    }
  })

  it('refuses what is not an image before storing anything', async () => {
    const [a] = await stores(kind)
    await expect(a.saveImage(Buffer.from('<html>502</html>'))).rejects.toThrow(/not a PNG or JPEG/)
  })
})

describe('S3 image store', () => {
  it('a PUT the store refuses fails the save (the page is never completed) and readiness names the bucket', async () => {
    const store = new S3ImageStore({ settings: s3.settings('nbt-no-such-bucket'), thumbnail: THUMB })
    cleanups.push(async () => store.close())
    await expect(store.saveImage(await png())).rejects.toMatchObject({ name: 'ImageStoreError', message: expect.stringMatching(/nbt-no-such-bucket/) })
    await expect(store.readiness[0].check()).rejects.toThrow('bucket nbt-no-such-bucket does not exist')
  })

  it('through the proxy: the images of the pages go to the bucket and stream back with CORS and cache headers; /readyz checks the bucket', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const bucket = await s3.createBucket()
    const base = scriptedProvider(() => okImage())
    const srv = await startTestServer({
      provider: base, dataDir: path.join(t.dir, 'data'), publicDir: await fakePublicDir(t.dir),
      config: { s3: s3.settings(bucket), corsOrigins: '*' },
    })
    cleanups.push(() => srv.stop())
    const created = await postJson(`${srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 's3', pages: pages(2), options: { style_chain: false } })
    const id = created.body.batch_id as string
    await waitUntil(async () => (await getJson(`${srv.url}${BATCHES}/${id}/progress`)).body.status === 'completed')
    const results = (await getJson(`${srv.url}${BATCHES}/${id}/progress`)).body.results as Array<{ image_url: string; thumbnail_url: string }>
    // the images are in the bucket, not under DATA_DIR
    const key = results[0].image_url.split('/').pop()!
    expect(s3.putCounts().get(`${bucket}/images/${key}`)).toBe(1)
    const res = await fetch(`${srv.url}${results[0].image_url}`, { headers: { Origin: 'https://pptist.example' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/png')
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    const body = Buffer.from(await res.arrayBuffer())
    expect(Number(res.headers.get('content-length'))).toBe(body.length)
    expect(body.equals((await okImage()).bytes)).toBe(true)
    // a thumbnail still being made answers 404 not_ready at once (asked again, as the extension does)
    let thumb!: Response
    await waitUntil(async () => (thumb = await fetch(`${srv.url}${results[0].thumbnail_url}`)).status === 200)
    expect(await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).toMatchObject({ format: 'jpeg', width: 120, height: 68 })
    expect((await fetch(`${srv.url}/api/v1/images/${'0'.repeat(32)}.png`)).status).toBe(404)
    expect((await getJson(`${srv.url}/readyz`)).body.checks.s3).toMatchObject({ ok: true })
  })

  it('S3_PUBLIC_BASE_URL: the proxy redirects known keys to the CDN and 404s unknown ones', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const bucket = await s3.createBucket()
    const srv = await startTestServer({
      provider: scriptedProvider(() => okImage()), dataDir: path.join(t.dir, 'data'), publicDir: await fakePublicDir(t.dir),
      config: { s3: { ...s3.settings(bucket), publicBaseUrl: `${s3.endpoint}/${bucket}` } },
    })
    cleanups.push(() => srv.stop())
    const created = await postJson(`${srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'cdn', pages: pages(1), options: { style_chain: false } })
    const id = created.body.batch_id as string
    await waitUntil(async () => (await getJson(`${srv.url}${BATCHES}/${id}/progress`)).body.status === 'completed')
    const { image_url: imageUrl } = (await getJson(`${srv.url}${BATCHES}/${id}/progress`)).body.results[0]
    const key = String(imageUrl).split('/').pop()!
    // the variants made after the page (embed, then thumbnail) are in the bucket once the thumbnail is
    await waitUntil(async () => (await fetch(`${srv.url}/api/v1/images/${key.replace('.png', '.thumb.jpg')}`, { redirect: 'manual' })).status === 302)
    const res = await fetch(`${srv.url}${imageUrl}`, { redirect: 'manual' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe(`${s3.endpoint}/${bucket}/images/${key}`)
    // the CDN has the embed variant, made once
    const embed = await fetch(`${srv.url}/api/v1/images/${key.replace('.png', '.embed.jpg')}`, { redirect: 'manual' })
    expect(embed.status).toBe(302)
    expect(s3.putCounts().get(`${bucket}/images/${key.replace('.png', '.embed.jpg')}`)).toBe(1)
    expect((await fetch(`${srv.url}/api/v1/images/${'1'.repeat(32)}.png`, { redirect: 'manual' })).status).toBe(404)
  })

  it('a variant asked of another replica while the one that stored the image makes it is waited for, not made and PUT twice', async () => {
    const bucket = await s3.createBucket()
    const [a, b] = [0, 1].map(() => {
      const store = new S3ImageStore({ settings: s3.settings(bucket), thumbnail: THUMB })
      cleanups.push(async () => store.close())
      return store
    })
    // big enough that A's variants are still being made when B is asked (as the editor asks at the page event)
    const saved = await a.saveImage(await sharp({ create: { width: 2752, height: 1536, channels: 3, background: '#336699' } }).png().toBuffer())
    const embedKey = saved.imageKey.replace('.png', '.embed.jpg')
    const [embed, thumbState] = await Promise.all([b.resolveImage(embedKey), b.variantReady(saved.thumbnailKey)])
    expect(embed).toMatchObject({ mime: 'image/jpeg' })
    expect(thumbState).not.toBe('missing')
    expect(await saved.thumbnail).toMatchObject({ ok: true })
    await waitUntil(async () => (await b.variantReady(saved.thumbnailKey)) === 'ready')
    expect(s3.putCounts().get(`${bucket}/images/${embedKey}`)).toBe(1)
    expect(s3.putCounts().get(`${bucket}/images/${saved.thumbnailKey}`)).toBe(1)
  })

  it('a variant whose maker went away (image stored, variants never PUT) is made by the replica asked once the grace is over', async () => {
    const bucket = await s3.createBucket()
    const store = new S3ImageStore({ settings: s3.settings(bucket), thumbnail: THUMB, variantGraceMs: 2000, variantPollMs: 50 })
    cleanups.push(async () => store.close())
    // another replica stored the image and died before its variants: PUT the original alone
    const bytes = await png()
    const { client, sdk } = await store.start()
    const id = 'ab'.repeat(16)
    await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: `images/${id}.png`, Body: bytes, ContentType: 'image/png' }))
    expect(await store.variantReady(`${id}.thumb.jpg`)).toBe('making')
    const started = Date.now()
    expect(await store.resolveImage(`${id}.embed.jpg`)).toMatchObject({ mime: 'image/jpeg' })
    // it waited for the maker first (S3's LastModified has whole seconds: the 2 s grace ends 1–2 s after the PUT)
    expect(Date.now() - started).toBeGreaterThan(500)
    await waitUntil(async () => (await store.variantReady(`${id}.thumb.jpg`)) === 'ready', 5000)
    expect(await sharp((await store.readImage(`${id}.thumb.jpg`))!).metadata()).toMatchObject({ format: 'jpeg', width: THUMB.width, height: THUMB.height })
  })

  it('a deck uploaded to one replica is written back as .pptx by another (decks in the bucket, not in each DATA_DIR)', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const bucket = await s3.createBucket()
    const redis = redisSetup()
    cleanups.push(() => dropRedisPrefix(redis.prefix))
    const publicDir = await fakePublicDir(t.dir)
    const [a, b] = await Promise.all(['a', 'b'].map(async name => {
      const srv = await startTestServer({
        provider: scriptedProvider(() => okImage()), dataDir: path.join(t.dir, `data-${name}`), publicDir,
        // images and decks older than a second go at the next sweep (called below, never on its own in a test)
        config: { s3: s3.settings(bucket), redis: { url: redis.url, prefix: redis.prefix }, retention: { batchHours: 0, imageHours: 1 / 3600 } },
        redisTiming: { lockDurationMs: redis.lockDurationMs, stalledIntervalMs: redis.stalledIntervalMs },
      })
      cleanups.push(() => srv.stop())
      return srv
    }))
    const f = new FormData()
    for (const [k, v] of Object.entries({ template_id: 'nano_banana_1', mode: 'background', resolution: '1K' })) f.append(k, v)
    f.append('file', new Blob([new Uint8Array(fixture('lo-groups-4x3.pptx'))]), 'deck.pptx')
    const up = await fetch(`${a.url}/api/v1/decks`, { method: 'POST', body: f })
    expect(up.status).toBe(202)
    const id = (await up.json() as { batch_id: string }).batch_id
    await waitUntil(async () => (await getJson(`${b.url}${BATCHES}/${id}/progress`)).body.status === 'completed', 15_000)
    const res = await fetch(`${b.url}${BATCHES}/${id}/pptx`)
    expect(res.status).toBe(200)
    expect(s3.putCounts().get(`${bucket}/decks/${id}.json`)).toBe(1)
    expect(res.headers.get('x-slides-rendered')).toBe('1,2')
    // a whole .pptx: the deck read back has the upload's slides and text
    const again = await readDeck(Buffer.from(await res.arrayBuffer()))
    const original = await readDeck(fixture('lo-groups-4x3.pptx'))
    expect(again.slides.map(s => s.textBoxes.map(t => t.text))).toEqual(original.slides.map(s => s.textBoxes.map(t => t.text)))
    // nothing of it in either replica's DATA_DIR
    for (const name of ['a', 'b']) await expect(stat(path.join(t.dir, `data-${name}`, 'decks', `${id}.json`))).rejects.toThrow(/ENOENT/)
    // retention covers the bucket's decks: a sweep on A removes it, B then has no deck to write
    await waitUntil(async () => (await a.engine.retention.sweep()).extra === 1, 10_000)
    expect(s3.putCounts().get(`${bucket}/decks/${id}.json`)).toBe(1)
    const gone = await getJson(`${b.url}${BATCHES}/${id}/pptx`)
    expect([gone.status, gone.body.error.code]).toEqual([404, 'no_deck'])
  })

  it('S3 deck store: load what was saved, null for unknown ids, retention removes decks older than the cutoff', async () => {
    const store = createS3DeckStore(s3.settings(await s3.createBucket()))
    cleanups.push(async () => store.close())
    const record = { deck: { width: 720, height: 405, aspectRatio: '16:9', slides: [] }, fileName: 'a.pptx', mode: 'full' as const, language: '', pageSlides: [1] }
    const ids = ['b_' + 'a'.repeat(24), 'b_' + 'b'.repeat(24)]
    for (const id of ids) await store.save(id, record)
    expect(await store.load(ids[0])).toEqual(record)
    expect(await store.load('b_' + 'c'.repeat(24))).toBeNull()
    expect(await store.load('../x')).toBeNull()
    expect(await store.deleteOlderThan!(0)).toBe(0)
    expect(await store.deleteOlderThan!(Date.now() + 60_000)).toBe(2)
    for (const id of ids) expect(await store.load(id)).toBeNull()
  })

  it('a bucket that is gone: /readyz says so, new batches get 503 storage_unavailable, a page whose PUT fails is failed, not completed, and the pages queued behind it fail without being paid', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    let release!: () => void
    const gate = new Promise<void>(r => { release = r })
    const base = scriptedProvider(async () => { await gate; return okImage() })
    const srv = await startTestServer({
      provider: base, dataDir: path.join(t.dir, 'data'), publicDir: await fakePublicDir(t.dir),
      config: { s3: s3.settings(await s3.createBucket()), maxConcurrentGenerations: 1 },
    })
    cleanups.push(() => srv.stop())
    const created = await postJson(`${srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'gone', pages: pages(3), options: { style_chain: false } })
    expect(created.status).toBe(202)
    const id = created.body.batch_id as string
    await waitUntil(() => base.calls.length === 1)
    // the bucket's store disappears while the upstream call runs
    // (moto's reset drops every bucket; this is the file's last test)
    await fetch(`${s3.endpoint}/moto-api/reset`, { method: 'POST' })
    release()
    await waitUntil(async () => (await getJson(`${srv.url}${BATCHES}/${id}/progress`)).body.status === 'failed', 15_000)
    const results = (await getJson(`${srv.url}${BATCHES}/${id}/progress`)).body.results
    expect(results.map((r: { status: string; error_code: string }) => [r.status, r.error_code])).toEqual(Array(3).fill(['failed', 'storage_unavailable']))
    // page 2's call may run while page 1's image is stored (its slot is freed for that; it starts once
    // its claim is on disk, by when the PUT may have failed); page 3 starts after a PUT failed, within
    // the storage check's one-second cache of the all-clear: it is not called
    const called = base.calls.map(c => c.req.page.pageNumber)
    expect(called[0]).toBe(1)
    expect(called).not.toContain(3)
    const ready = await getJson(`${srv.url}/readyz`)
    expect(ready.status).toBe(503)
    expect(ready.body.checks.s3.ok).toBe(false)
    // the routes keep the storage verdict for 1 s (it was taken when this batch was created)
    await new Promise(r => setTimeout(r, 1100))
    const refused = await postJson(`${srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'gone', pages: pages(1), options: { style_chain: false } })
    expect(refused.status).toBe(503)
    expect(refused.body.error.code).toBe('storage_unavailable')
  })
})
