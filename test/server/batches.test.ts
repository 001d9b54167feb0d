import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { crc32, deflateSync } from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { BatchManager, PageTiming } from '../../server/batches.js'
import { createEngine, type EngineOptions } from '../../server/engine/setup.js'
import type { ImageStore } from '../../server/engine/imageStore.js'
import type { Scheduler } from '../../server/engine/scheduler.js'
import { ApiError } from '../../server/errors.js'
import { createMemoryLogger } from '../../server/logger.js'
import { ProviderError, type ImageProvider } from '../../server/providers/types.js'
import { TemplateReferences, toReference } from '../../server/references.js'
import { createBatchSchema } from '../../server/schemas.js'
import { createStorage } from '../../server/storage.js'
import { fakePublicDir, okImage, pages, scriptedProvider, solidPng, tempDir, testPrompt, waitUntil } from './helpers.js'
import { dropRedisPrefix, redisSetup, SETUPS, type SetupName } from './setups.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

interface Setup {
  manager: BatchManager
  queue: Scheduler
  sleeps: number[]
  dir: string
  logLines: string[]
  /** Redis key prefix (redis set-up) */
  prefix?: string
  /** the engine's image store (a test may wrap its methods) */
  images: ImageStore
  close(): Promise<void>
}

/** the set-up the current describe block runs on */
let mode: SetupName = 'memory'

async function setup(provider: ImageProvider, over: Partial<EngineOptions> & { dir?: string; publicDir?: string; prefix?: string } = {}): Promise<Setup> {
  let dir = over.dir
  if (!dir) {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    dir = t.dir
  }
  const publicDir = over.publicDir ?? await fakePublicDir(dir)
  const storage = await createStorage({ dataDir: path.join(dir, 'data'), thumbnail: { width: 120, height: 68 } })
  const logger = createMemoryLogger()
  const sleeps: number[] = []
  const redis = mode === 'redis' ? redisSetup(over.prefix) : undefined
  const engine = createEngine({
    provider, storage, logger,
    concurrency: 3,
    templateRefs: new TemplateReferences(publicDir),
    buildPrompt: testPrompt,
    maxRetries: 3,
    maxQueuedPages: 500,
    defaultResolution: '1K',
    // record the backoff delays, wait only a tick
    sleep: (ms, signal) => {
      sleeps.push(ms)
      return new Promise((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason)
        setTimeout(resolve, 1)
      })
    },
    random: () => 0.5,
    ...(redis ? { redis, backoff: { baseMs: 5 } } : {}),
    ...over,
  })
  if (redis) {
    // delayed jobs wait for real in BullMQ: record the delays asked for
    const enqueue = engine.scheduler.enqueue.bind(engine.scheduler)
    engine.scheduler.enqueue = (job, o) => {
      if (o?.delayMs !== undefined) sleeps.push(o.delayMs)
      return enqueue(job, o)
    }
    if (!over.prefix) cleanups.push(() => dropRedisPrefix(redis.prefix))
  }
  const manager = engine.batches
  await engine.init()
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await engine.close()
  }
  cleanups.push(close)
  return { manager, queue: engine.scheduler, sleeps, dir, logLines: logger.lines, prefix: redis?.prefix, images: engine.images, close }
}

/** DATA_DIR of a set-up made by setup() (its images are files there: no S3_BUCKET in these tests) */
function storageDir(dir: string): string {
  return path.join(dir, 'data')
}

function input(n: number, over: Record<string, unknown> = {}) {
  return createBatchSchema.parse({ template_id: 'nano_banana_1', deck_title: 'Deck', pages: pages(n), options: { style_chain: false }, ...over })
}

async function finished(manager: BatchManager, id: string) {
  await waitUntil(async () => ['completed', 'partial', 'failed', 'cancelled'].includes((await manager.progress(id)).status))
  await manager.flush()
  return await manager.progress(id)
}

/** every PNG chunk and CRC right, but the IDAT is not the pixels: passes the structural check, fails a decode */
function undecodablePng(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const out = Buffer.alloc(12 + data.length)
    out.writeUInt32BE(data.length, 0)
    body.copy(out, 4)
    out.writeUInt32BE(crc32(body), 8 + data.length)
    return out
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(64, 0)
  ihdr.writeUInt32BE(36, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.concat([deflateSync(Buffer.alloc(10)), Buffer.from('junk')])), chunk('IEND', Buffer.alloc(0))])
}

describe.each(SETUPS)('BatchManager (%s)', setupName => {
  beforeEach(() => {
    mode = setupName
  })

  it('a corrupted image is retried as invalid_image; a page whose thumbnail fails still completes', async () => {
    const good = await solidPng(64, 36, '#336699')
    const corrupt = Buffer.from(good)
    corrupt[corrupt.length - 20] ^= 0xff // inside the last IDAT / its CRC
    const provider = scriptedProvider((page, attempt) => {
      if (page === 1) return { bytes: attempt === 1 ? corrupt : good, mime: 'image/png' as const }
      return { bytes: undecodablePng(), mime: 'image/png' as const }
    })
    const timings: PageTiming[] = []
    const { manager, logLines } = await setup(provider, { onPageTiming: t => timings.push(t) })
    const { batch_id } = await manager.create(input(2))
    const done = await finished(manager, batch_id)
    expect(done.status).toBe('completed')
    expect(done.results[0]).toMatchObject({ status: 'completed', retry_count: 1 })
    expect(logLines.some(l => l.includes('invalid_image'))).toBe(true)
    // page 2: completed with its image; the thumbnail failure is logged, not the page's
    expect(done.results[1]).toMatchObject({ status: 'completed', retry_count: 0, error_code: null })
    expect(done.results[1].thumbnail_url).toMatch(/\.thumb\.jpg$/)
    expect(logLines.some(l => l.includes('thumbnail could not be made'))).toBe(true)
    // flush() also waited for the thumbnails: both reported
    expect(timings.map(t => t.thumbnailOk).sort()).toEqual([false, true])
  })

  it('completes a batch and reports progress, image urls and thumbnails', async () => {
    const provider = scriptedProvider(() => okImage())
    const { manager } = await setup(provider)
    const created = await manager.create(input(4))
    expect(created).toMatchObject({ status: 'pending', total_pages: 4 })
    expect(created.batch_id).toMatch(/^b_[a-f0-9]{24}$/)
    expect(created.estimated_time).toBeGreaterThan(0)
    const p = await finished(manager, created.batch_id)
    expect(p.status).toBe('completed')
    expect(p.progress).toEqual({ current_page: 4, total_pages: 4, completed_pages: 4, failed_pages: 0, percentage: 100 })
    expect(p.estimated_remaining_time).toBe(0)
    for (const r of p.results) {
      expect(r.image_url).toMatch(/^\/api\/v1\/images\/[a-f0-9]{32}\.png$/)
      expect(r.thumbnail_url).toMatch(/^\/api\/v1\/images\/[a-f0-9]{32}\.thumb\.jpg$/)
      expect(r.error_message).toBeNull()
    }
    expect(p.results.map(r => r.slide_id)).toEqual(['p1', 'p2', 'p3', 'p4'])
  })

  it('retries retryable errors with exponential backoff, honouring retryAfterMs', async () => {
    const provider = scriptedProvider((page, attempt) => {
      if (page === 1 && attempt === 1) return new ProviderError('retryable', 'upstream_unavailable', 'busy', { status: 503, retryAfterMs: 700 })
      if (page === 1 && attempt === 2) return new ProviderError('retryable', 'upstream_unavailable', 'overloaded', { status: 503 })
      if (page === 1 && attempt === 3) return new ProviderError('retryable', 'upstream_unavailable', 'overloaded', { status: 503 })
      return okImage()
    })
    const { manager, sleeps } = await setup(provider, { backoff: { baseMs: 100, maxMs: 10_000 } })
    const { batch_id } = await manager.create(input(2))
    const p = await finished(manager, batch_id)
    expect(p.status).toBe('completed')
    expect(p.results[0].retry_count).toBe(3)
    expect(p.results[1].retry_count).toBe(0)
    // retry 1 waits the server-suggested 700 ms; then 200 and 400 ms base doubling, × jitter (random 0.5 → 0.75)
    expect(sleeps).toEqual([700, 150, 300])
    expect(provider.calls.filter(c => c.page === 1)).toHaveLength(4)
  })

  it('gives up after MAX_RETRIES and fails only that page (partial)', async () => {
    const provider = scriptedProvider(page => page === 2 ? new ProviderError('retryable', 'upstream_unavailable', 'The model is overloaded', { status: 503 }) : okImage())
    const { manager } = await setup(provider)
    const { batch_id } = await manager.create(input(3))
    const p = await finished(manager, batch_id)
    expect(p.status).toBe('partial')
    expect(provider.calls.filter(c => c.page === 2)).toHaveLength(4) // 1 + 3 retries
    expect(p.results[1]).toMatchObject({ status: 'failed', error_code: 'upstream_unavailable', retry_count: 3 })
    expect(p.results[1].error_message).toContain('The model is overloaded')
    expect(p.results.filter(r => r.status === 'completed')).toHaveLength(2)
    expect(p.progress).toMatchObject({ completed_pages: 2, failed_pages: 1, percentage: 100 })
  })

  it.each([
    ['fatal', 'invalid_api_key', 'The Gemini API key is not valid: set a valid GEMINI_API_KEY'],
    ['refused', 'safety_refused', 'The model refused this page: the image would break the safety policy'],
  ] as const)('does not retry %s errors and passes their message and code on', async (kind, code, message) => {
    const provider = scriptedProvider(() => new ProviderError(kind, code, message))
    const { manager, sleeps } = await setup(provider)
    const { batch_id } = await manager.create(input(2))
    const p = await finished(manager, batch_id)
    expect(p.status).toBe('failed')
    expect(provider.calls).toHaveLength(2)
    expect(sleeps).toEqual([])
    for (const r of p.results) expect(r).toMatchObject({ status: 'failed', error_code: code, error_message: message, retry_count: 0 })
  })

  it('style_chain: page 1 first, then sent as a second reference with the template for every other page', async () => {
    const page1 = await solidPng(320, 180, '#ff0000')
    const provider = scriptedProvider(async page => (page === 1 ? { bytes: page1, mime: 'image/png' as const } : okImage()), { delayMs: 5 })
    const { manager } = await setup(provider)
    const { batch_id } = await manager.create(input(5, { options: { style_chain: true } }))
    const p = await finished(manager, batch_id)
    expect(p.status).toBe('completed')
    const first = provider.calls[0]
    expect(first.page).toBe(1)
    expect(first.req.references.map(r => r.role)).toEqual(['template'])
    expect(first.req.prompt).toContain('template')
    const others = provider.calls.slice(1)
    expect(others).toHaveLength(4)
    const expectedChain = await toReference(page1, 'style_chain')
    for (const c of others) {
      expect(c.req.references.map(r => r.role)).toEqual(['template', 'style_chain'])
      expect(c.req.references[1].bytes.equals(expectedChain.bytes)).toBe(true)
      expect(c.req.references[0].mime).toBe('image/jpeg')
    }
    // others started only after page 1's call had returned
    expect(Math.min(...others.map(c => c.startedAt))).toBeGreaterThanOrEqual(first.startedAt + 5)
  })

  it('style_chain: when page 1 fails the others proceed with the template only', async () => {
    const provider = scriptedProvider(page => (page === 1 ? new ProviderError('refused', 'safety_refused', 'refused') : okImage()))
    const { manager } = await setup(provider)
    const { batch_id } = await manager.create(input(3, { options: { style_chain: true } }))
    const p = await finished(manager, batch_id)
    expect(p.status).toBe('partial')
    expect(provider.calls[0].page).toBe(1)
    for (const c of provider.calls.slice(1)) expect(c.req.references.map(r => r.role)).toEqual(['template'])
  })

  it('cancel aborts in-flight upstream calls and drops queued pages', async () => {
    const provider = scriptedProvider(() => 'hang')
    const { manager, queue } = await setup(provider, { concurrency: 2 })
    const { batch_id } = await manager.create(input(6))
    await waitUntil(() => provider.stats.inFlight === 2)
    expect((await queue.stats()).queued).toBe(4)
    const p = await manager.cancel(batch_id)
    expect(p.status).toBe('cancelled')
    expect(p.results.every(r => r.status === 'cancelled')).toBe(true)
    await waitUntil(() => provider.stats.inFlight === 0)
    expect(provider.stats.aborted).toBe(2)
    // the aborted attempts settle (a state-store round trip) and free their slots
    await waitUntil(async () => (await queue.stats()).running === 0)
    expect(await queue.stats()).toMatchObject({ queued: 0, running: 0 })
    await new Promise(r => setTimeout(r, 30))
    expect(provider.calls).toHaveLength(2)
    expect((await manager.progress(batch_id)).status).toBe('cancelled')
    // the stream ends with done
    const events = (await manager.eventsSince(batch_id, 0))!
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { status: 'cancelled', completed_pages: 0, failed_pages: 0 } })
  })

  it('cancel also stops a page waiting out a retry backoff', async () => {
    const provider = scriptedProvider(() => new ProviderError('retryable', 'upstream_unavailable', 'busy', { status: 503, retryAfterMs: 60_000 }))
    // the real sleep (memory) or a real delayed job (redis): the 60 s wait must end through the cancel
    const { manager, close } = await setup(provider, { concurrency: 2, sleep: undefined, backoff: undefined })
    const { batch_id } = await manager.create(input(1))
    await waitUntil(async () => (await manager.progress(batch_id)).results[0].retry_count === 1)
    await manager.cancel(batch_id)
    await new Promise(r => setTimeout(r, 20))
    expect(provider.calls).toHaveLength(1)
    expect((await manager.progress(batch_id)).results[0].status).toBe('cancelled')
    await close()
  })

  // quota-aware scheduling lives in the memory scheduler (BullMQ: ordinary retries for now)
  it.runIf(setupName === 'memory')('a rate-limited page waits for quota at the front of its lane without using up MAX_RETRIES', async () => {
    // page 1 is rate limited five times (more than MAX_RETRIES = 3), then succeeds
    const provider = scriptedProvider((page, attempt) => (page === 1 && attempt <= 5
      ? new ProviderError('retryable', 'rate_limited', 'quota', { status: 429, retryAfterMs: 15, quota: 'PerMinute' })
      : okImage()))
    const { manager, sleeps } = await setup(provider, { concurrency: 1 })
    const { batch_id } = await manager.create(input(3))
    const p = await finished(manager, batch_id)
    expect(p.status).toBe('completed')
    expect(p.results.map(r => r.retry_count)).toEqual([0, 0, 0])
    // no per-page backoff: the scheduler held every call instead
    expect(sleeps).toEqual([])
    // order kept: page 1 (six calls) before pages 2 and 3
    expect(provider.calls.map(c => c.page)).toEqual([1, 1, 1, 1, 1, 1, 2, 3])
    // each call after a 429 started no earlier than the hold allowed
    for (let i = 1; i <= 5; i++) expect(provider.calls[i].startedAt - provider.calls[i - 1].startedAt).toBeGreaterThanOrEqual(14)
  })

  // quota-aware scheduling lives in the memory scheduler (BullMQ: ordinary retries for now)
  it.runIf(setupName === 'memory')('a page rate limited beyond maxQuotaWaitMs fails with a message naming the quota', async () => {
    const provider = scriptedProvider(() => new ProviderError('retryable', 'rate_limited', 'Gemini is rate limiting requests', { status: 429, retryAfterMs: 20, quota: 'GenerateRequestsPerMinutePerProjectPerModel' }))
    // MAX_RETRIES 0: were rate limits retries, the page would fail after its first call
    const { manager } = await setup(provider, { concurrency: 1, maxQuotaWaitMs: 100, maxRetries: 0 })
    const { batch_id } = await manager.create(input(1))
    const p = await finished(manager, batch_id)
    expect(p.results[0]).toMatchObject({ status: 'failed', error_code: 'rate_limited', retry_count: 0 })
    expect(p.results[0].error_message).toContain('quota GenerateRequestsPerMinutePerProjectPerModel did not free up within 0.1 s of waiting')
    expect(p.results[0].error_message).toContain('RATE_LIMIT_MAX_WAIT')
    // it kept waiting for quota (20 ms holds) until the 100 ms bound, past MAX_RETRIES
    expect(provider.calls.length).toBeGreaterThanOrEqual(2)
    expect(p.results[0].error_message).not.toContain('gave up after')
  })

  // quota-aware scheduling lives in the memory scheduler (BullMQ: ordinary retries for now)
  it.runIf(setupName === 'memory')('cancel while the scheduler waits for quota drops the waiting pages', async () => {
    const provider = scriptedProvider(() => new ProviderError('retryable', 'rate_limited', 'quota', { status: 429, retryAfterMs: 60_000 }))
    const { manager, queue } = await setup(provider, { concurrency: 2 })
    const { batch_id } = await manager.create(input(4))
    await waitUntil(async () => queue.quota!().waiting && (await manager.progress(batch_id)).results.every(r => r.status === 'pending'))
    expect((await manager.progress(batch_id)).waiting_for_quota).toBe(true)
    const calls = provider.calls.length
    const p = await manager.cancel(batch_id)
    expect(p.results.every(r => r.status === 'cancelled')).toBe(true)
    expect((await queue.stats()).queued).toBe(0)
    expect(provider.calls).toHaveLength(calls)
  })

  it('retries one page, with an instruction sending the previous image as a reference; 409 while running', async () => {
    let hold = false
    const provider = scriptedProvider(async (_page, attempt) => {
      while (hold) await new Promise(r => setTimeout(r, 2))
      return { bytes: await solidPng(64, 36, attempt === 1 ? '#111111' : '#eeeeee'), mime: 'image/png' as const }
    })
    const { manager, dir } = await setup(provider)
    const { batch_id } = await manager.create(input(2))
    const before = await finished(manager, batch_id)
    const oldKey = before.results[0].image_url!.split('/').pop()!

    hold = true
    const queued = await manager.retryPage(batch_id, 1, 'Make the title larger')
    expect(queued.status).toBe('generating')
    expect(queued.results[0]).toMatchObject({ retry_count: 1, image_url: null })
    expect(['pending', 'generating']).toContain(queued.results[0].status)
    await waitUntil(() => provider.calls.length === 3)
    await expect(manager.retryPage(batch_id, 1)).rejects.toThrow(ApiError)
    try {
      await manager.retryPage(batch_id, 1)
    } catch (e) {
      expect((e as ApiError).status).toBe(409)
    }
    hold = false
    const after = await finished(manager, batch_id)
    expect(after.status).toBe('completed')
    expect(after.results[0].image_url).not.toBe(before.results[0].image_url)
    const call = provider.calls[2]
    expect(call.req.prompt).toContain('Make the title larger')
    expect(call.req.references.map(r => r.role)).toEqual(['template', 'previous'])
    const prev = await readFile(path.join(storageDir(dir), 'images', oldKey))
    expect(call.req.references[1].bytes.equals((await toReference(prev, 'previous')).bytes)).toBe(true)

    // a retry without instruction makes a fresh call (no cache hit) and sends no previous image
    await manager.retryPage(batch_id, 2)
    await finished(manager, batch_id)
    expect(provider.calls).toHaveLength(4)
    expect(provider.calls[3].req.references.map(r => r.role)).toEqual(['template'])
    await expect(manager.retryPage(batch_id, 3)).rejects.toThrow(/not found/)
  })

  it('a revision that failed keeps the last good image as the reference for the next one', async () => {
    let fail = false
    const provider = scriptedProvider(() => (fail ? new ProviderError('refused', 'safety_refused', 'refused') : okImage()))
    const { manager, dir } = await setup(provider)
    const { batch_id } = await manager.create(input(1))
    const good = (await finished(manager, batch_id)).results[0].image_url!
    fail = true
    await manager.retryPage(batch_id, 1, 'first try')
    expect((await finished(manager, batch_id)).results[0]).toMatchObject({ status: 'failed', image_url: null })
    fail = false
    await manager.retryPage(batch_id, 1, 'second try')
    await finished(manager, batch_id)
    const prevBytes = await readFile(path.join(storageDir(dir), 'images', good.split('/').pop()!))
    const last = provider.calls.at(-1)!
    expect(last.req.references.map(r => r.role)).toEqual(['template', 'previous'])
    expect(last.req.references[1].bytes.equals((await toReference(prevBytes, 'previous')).bytes)).toBe(true)
  })

  it('a plain retry of a revision that did not complete repeats the revision; "" or a completed page re-draws plainly', async () => {
    let fail = false
    const provider = scriptedProvider(() => (fail ? new ProviderError('fatal', 'upstream_error', 'boom') : okImage()))
    const { manager, dir } = await setup(provider)
    const { batch_id } = await manager.create(input(1))
    const good = (await finished(manager, batch_id)).results[0].image_url!
    const goodRef = await toReference(await readFile(path.join(storageDir(dir), 'images', good.split('/').pop()!)), 'previous')
    fail = true
    await manager.retryPage(batch_id, 1, 'Make the title larger')
    expect((await finished(manager, batch_id)).results[0].status).toBe('failed')
    fail = false
    // what the extension's 重试 on the failed page sends: no instruction
    await manager.retryPage(batch_id, 1)
    expect((await finished(manager, batch_id)).results[0].status).toBe('completed')
    const repeated = provider.calls.at(-1)!.req
    expect(repeated.prompt).toContain('Make the title larger')
    expect(repeated.references.map(r => r.role)).toEqual(['template', 'previous'])
    expect(repeated.references[1].bytes.equals(goodRef.bytes)).toBe(true)
    // the revision was delivered: the next plain retry re-draws the page without it
    await manager.retryPage(batch_id, 1)
    await finished(manager, batch_id)
    expect(provider.calls.at(-1)!.req.prompt).not.toContain('Make the title larger')
    expect(provider.calls.at(-1)!.req.references.map(r => r.role)).toEqual(['template'])
    // an empty instruction drops a revision that did not complete
    fail = true
    await manager.retryPage(batch_id, 1, 'Use a darker blue')
    await finished(manager, batch_id)
    fail = false
    await manager.retryPage(batch_id, 1, '')
    await finished(manager, batch_id)
    expect(provider.calls.at(-1)!.req.prompt).not.toContain('Use a darker blue')
    expect(provider.calls.at(-1)!.req.references.map(r => r.role)).toEqual(['template'])
  })

  it('a revision interrupted by a restart keeps its instruction (memory: failed "interrupted", 重试 repeats it; redis: taken over)', async () => {
    let hang = false
    const provider = scriptedProvider(() => (hang ? 'hang' : okImage()))
    const s1 = await setup(provider)
    const { batch_id } = await s1.manager.create(input(1))
    const good = (await finished(s1.manager, batch_id)).results[0].image_url!
    hang = true
    await s1.manager.retryPage(batch_id, 1, 'Make the title larger')
    await waitUntil(() => provider.stats.inFlight === 1)
    await s1.close()

    const provider2 = scriptedProvider(() => okImage())
    const s2 = await setup(provider2, { dir: s1.dir, prefix: s1.prefix })
    if (setupName === 'memory') {
      expect((await s2.manager.progress(batch_id)).results[0]).toMatchObject({ status: 'failed', error_code: 'interrupted' })
      await s2.manager.retryPage(batch_id, 1)
    }
    const after = await finished(s2.manager, batch_id)
    expect(after.results[0].status).toBe('completed')
    expect(after.results[0].image_url).not.toBe(good)
    expect(provider2.calls).toHaveLength(1)
    expect(provider2.calls[0].req.prompt).toContain('Make the title larger')
    expect(provider2.calls[0].req.references.map(r => r.role)).toEqual(['template', 'previous'])
    if (setupName === 'memory') expect(s2.logLines.some(l => l.includes('page retry queued') && l.includes('"with_instruction":true') && l.includes('"instruction_kept":true'))).toBe(true)
  })

  it('reuses the stored image for an identical request, also after a restart', async () => {
    const provider = scriptedProvider(() => okImage())
    const s1 = await setup(provider)
    const a = await manager1Create(s1.manager)
    const pa = await finished(s1.manager, a)
    expect(provider.calls).toHaveLength(3)
    const b = await manager1Create(s1.manager)
    const pb = await finished(s1.manager, b)
    expect(provider.calls).toHaveLength(3)
    expect(pb.results.map(r => r.image_url)).toEqual(pa.results.map(r => r.image_url))
    // different options → a new call
    const c = (await s1.manager.create(input(3, { options: { style_chain: false, resolution: '2K' } }))).batch_id
    await finished(s1.manager, c)
    expect(provider.calls).toHaveLength(6)

    await s1.close()
    const s2 = await setup(provider, { dir: s1.dir, prefix: s1.prefix })
    const d = await manager1Create(s2.manager)
    const pd = await finished(s2.manager, d)
    expect(provider.calls).toHaveLength(6)
    expect(pd.results.map(r => r.image_url)).toEqual(pa.results.map(r => r.image_url))

    async function manager1Create(m: BatchManager) {
      return (await m.create(input(3))).batch_id
    }
  })

  it.skipIf(setupName === 'redis')('after a restart, finished pages are still listed and unfinished ones are failed "interrupted" and retryable', async () => {
    const provider = scriptedProvider(page => (page <= 2 ? okImage() : 'hang'))
    const s1 = await setup(provider, { concurrency: 2 })
    const { batch_id } = await s1.manager.create(input(4))
    await waitUntil(async () => (await s1.manager.progress(batch_id)).progress.completed_pages === 2 && provider.stats.inFlight === 2)
    const before = await s1.manager.progress(batch_id)
    await s1.close()

    const provider2 = scriptedProvider(() => okImage())
    const finishedBatches: string[] = []
    const s2 = await setup(provider2, { dir: s1.dir, concurrency: 2, lifecycle: { batchFinished: b => finishedBatches.push(`${b.batch_id} ${b.status}`) } })
    const p = await s2.manager.progress(batch_id)
    expect(p.status).toBe('partial')
    // nothing was left to run: it finished at start-up, and its webhook hears so
    expect(finishedBatches).toEqual([`${batch_id} partial`])
    expect(p.results.slice(0, 2).map(r => r.image_url)).toEqual(before.results.slice(0, 2).map(r => r.image_url))
    for (const r of p.results.slice(2)) expect(r).toMatchObject({ status: 'failed', error_code: 'interrupted', error_message: 'interrupted — retry' })
    // the stream of a recovered batch still ends with done
    expect((await (await s2.manager.sseSource(batch_id)).snapshot()).done?.event).toBe('done')
    await s2.manager.retryPage(batch_id, 3)
    await s2.manager.retryPage(batch_id, 4)
    const after = await finished(s2.manager, batch_id)
    expect(after.status).toBe('completed')
    expect(provider2.calls).toHaveLength(2)
  })

  it.skipIf(setupName === 'redis')('after a restart, queued pages go on by themselves, batches in turn; only the page whose call was running fails "interrupted"', async () => {
    const provider = scriptedProvider((page, _attempt, req) => (req.page.deckTitle === 'A' && page === 1 ? okImage() : 'hang'))
    const s1 = await setup(provider, { concurrency: 1 })
    const a = (await s1.manager.create(input(4, { deck_title: 'A' }))).batch_id
    const b = (await s1.manager.create(input(2, { deck_title: 'B' }))).batch_id
    await waitUntil(async () => (await s1.manager.progress(a)).progress.completed_pages === 1 && provider.stats.inFlight === 1)
    const running = `${provider.calls.at(-1)!.req.page.deckTitle}#${provider.calls.at(-1)!.page}`
    const seenBefore = (await (await s1.manager.sseSource(a)).snapshot()).lastId
    await s1.close()

    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const provider2 = scriptedProvider(async () => {
      await gate
      return okImage()
    })
    const s2 = await setup(provider2, { dir: s1.dir, concurrency: 1 })
    await waitUntil(() => provider2.stats.inFlight === 1)
    const [deck, page] = running.split('#')
    const id = deck === 'A' ? a : b
    expect((await s2.manager.progress(id)).results[Number(page) - 1]).toMatchObject({ status: 'failed', error_code: 'interrupted', error_message: 'interrupted — retry' })
    // the other four unfinished pages are queued (one running): they count as waiting, nothing finished
    expect(await s2.manager.stats()).toMatchObject({ running: 1, queued: 3 })
    expect((await s2.manager.progress(a)).status).not.toMatch(/completed|partial|failed/)
    expect((await s2.manager.progress(b)).status).not.toMatch(/completed|partial|failed/)
    release()
    const [pa, pb] = [await finished(s2.manager, a), await finished(s2.manager, b)]
    const called = provider2.calls.map(c => `${c.req.page.deckTitle}#${c.page}`)
    const expected = ['A#2', 'A#3', 'A#4', 'B#1', 'B#2'].filter(k => k !== running)
    // each queued page once, page 1 of A (completed before the restart) never again
    expect([...called].sort()).toEqual(expected)
    // each batch's pages in order, the two batches taking turns
    for (const d of ['A', 'B']) expect(called.filter(k => k.startsWith(d))).toEqual(expected.filter(k => k.startsWith(d)))
    expect(called[0].slice(0, 1)).not.toBe(called[1].slice(0, 1))
    for (const [p, d] of [[pa, 'A'], [pb, 'B']] as const) {
      for (const r of p.results) expect(r.status).toBe(`${d}#${r.page_number}` === running ? 'failed' : 'completed')
    }
    expect(pa.status).toBe(running.startsWith('A') ? 'partial' : 'completed')
    // a client reconnecting with its Last-Event-ID hears the queued pages complete, then done
    const later = (await s2.manager.eventsSince(a, seenBefore))!
    const completedPages = later.filter(e => e.event === 'page' && (e.data as { status: string }).status === 'completed').map(e => (e.data as { page_number: number }).page_number)
    expect(completedPages.sort()).toEqual(expected.filter(k => k.startsWith('A')).map(k => Number(k.slice(2))))
    expect(later.at(-1)!.event).toBe('done')
    expect(later.filter(e => e.event === 'done')).toHaveLength(1)
  })

  it.skipIf(setupName === 'redis')('after a restart, a page that was waiting out a retry backoff is tried again by itself (its call was over)', async () => {
    const provider = scriptedProvider((page, attempt) => {
      if (page === 1 && attempt === 1) return new ProviderError('retryable', 'upstream_unavailable', 'overloaded', { status: 503 })
      return 'hang'
    })
    // the backoff never ends in the first process
    const neverEnds = (_ms: number, signal: AbortSignal) => new Promise<void>((_resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
    const s1 = await setup(provider, { concurrency: 1, sleep: neverEnds })
    const { batch_id } = await s1.manager.create(input(2))
    await waitUntil(() => provider.calls.length === 2 && provider.stats.inFlight === 1)
    await s1.close()

    const provider2 = scriptedProvider(() => okImage())
    const s2 = await setup(provider2, { dir: s1.dir, concurrency: 1 })
    const p = await finished(s2.manager, batch_id)
    expect(p.results[0]).toMatchObject({ status: 'completed', retry_count: 1 })
    expect(p.results[1]).toMatchObject({ status: 'failed', error_code: 'interrupted' })
    expect(provider2.calls.map(c => c.page)).toEqual([1])
  })

  it.skipIf(setupName === 'redis')('after a restart, pages that were waiting for budget wait again (never "interrupted") and run once it allows', async () => {
    const provider = scriptedProvider(() => okImage())
    const neverEnds = (_ms: number, signal: AbortSignal) => new Promise<void>((_resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
    const s1 = await setup(provider, { concurrency: 1, sleep: neverEnds, budgetWait: () => ({ recheckMs: 60_000, resumesInMs: 60_000 }) })
    const { batch_id } = await s1.manager.create(input(2))
    await waitUntil(async () => (await s1.manager.progress(batch_id)).results.every(r => r.waiting_for_budget))
    await s1.close()

    // still no budget after the restart: the pages are waiting again, not failed
    let budget = false
    const provider2 = scriptedProvider(() => okImage())
    const s2 = await setup(provider2, { dir: s1.dir, concurrency: 1, budgetWait: () => (budget ? { recheckMs: 0, resumesInMs: 0 } : { recheckMs: 20, resumesInMs: 60_000 }) })
    await new Promise(resolve => setTimeout(resolve, 100))
    const waiting = await s2.manager.progress(batch_id)
    expect(waiting.status).toBe('pending')
    expect(waiting.waiting_for_budget).toBe(true)
    for (const r of waiting.results) expect(r).toMatchObject({ status: 'pending', waiting_for_budget: true })
    expect(provider2.calls).toHaveLength(0)
    budget = true
    const p = await finished(s2.manager, batch_id)
    expect(p.results.map(r => r.status)).toEqual(['completed', 'completed'])
    expect(provider.calls).toHaveLength(0)
    // each once (pages waking from a budget wait together may go in either order)
    expect(provider2.calls.map(c => c.page).sort()).toEqual([1, 2])
  })

  it('refuses a batch beyond MAX_QUEUED_PAGES with 429 queue_full and Retry-After', async () => {
    const provider = scriptedProvider(() => 'hang')
    const { manager } = await setup(provider, { concurrency: 1, maxQueuedPages: 5 })
    await manager.create(input(4))
    await waitUntil(() => provider.stats.inFlight === 1)
    expect(await manager.stats()).toEqual({ running: 1, queued: 3, capacity: 5, concurrency: 1 })
    await manager.create(input(2)) // 3 + 2 = 5 waiting: still fits
    let err: unknown
    try {
      await manager.create(input(1))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(429)
    expect((err as ApiError).code).toBe('queue_full')
    expect(Number((err as ApiError).headers['Retry-After'])).toBeGreaterThanOrEqual(1)
  })

  it('frees the event history of a finished batch after the retention time', async () => {
    const { manager } = await setup(scriptedProvider(() => okImage()), { eventRetentionMs: 500 }) // longer than finished()'s flush (state writes, thumbnails)
    const { batch_id } = await manager.create(input(2))
    await finished(manager, batch_id)
    const all = (await manager.eventsSince(batch_id, 0))!
    expect(all.length).toBeGreaterThan(3)
    await waitUntil(async () => (await manager.eventsSince(batch_id, 0)) === null)
    expect((await manager.eventsSince(batch_id, all.at(-1)!.id - 1))!.map(e => e.event)).toEqual(['done'])
  })

  it('shares the concurrency limit fairly: a 3-page batch after a 30-page one finishes early, never above the limit', async () => {
    // the first three calls wait at a gate until the small batch is queued, so no big page can start
    // while create() runs (under load, polling for "3 in flight" on 15 ms calls could miss it, and
    // big pages started during a slow create() were counted against the small batch)
    let openGate = () => {}
    const gate = new Promise<void>(resolve => { openGate = resolve })
    const provider = scriptedProvider(async () => { await gate; return okImage() }, { delayMs: 15 })
    const { manager } = await setup(provider, { concurrency: 3 })
    const big = (await manager.create(input(30, { deck_title: 'big' }))).batch_id
    await waitUntil(() => provider.stats.inFlight === 3)
    const callsBefore = provider.calls.length
    const small = (await manager.create(input(3, { deck_title: 'small' }))).batch_id
    openGate()
    await finished(manager, small)
    await finished(manager, big)
    // judged by the order of upstream calls, not by timing: taking turns, the small batch's three
    // pages are among the next six calls (first come, first served would put them after all 30)
    const order = provider.calls.slice(callsBefore).map(c => c.req.page.deckTitle)
    expect(order.indexOf('small')).toBeGreaterThanOrEqual(0)
    expect(order.lastIndexOf('small')).toBeLessThan(6)
    expect(order.filter(t => t === 'small')).toHaveLength(3)
    expect(provider.stats.maxInFlight).toBe(3)
  })

  it('storing slower than the upstream: answered images waiting to be stored stay within the concurrency (the calls wait)', async () => {
    const provider = scriptedProvider(() => okImage())
    const { manager, images } = await setup(provider, { concurrency: 2 })
    // every save waits until the test lets it through
    let openGate = () => {}
    const gate = new Promise<void>(resolve => { openGate = resolve })
    const save = images.saveImage.bind(images)
    let saving = 0
    images.saveImage = async bytes => {
      saving++
      await gate
      return save(bytes)
    }
    const { batch_id } = await manager.create(input(8))
    // two jobs freed their slots and left their images to be stored; the next two keep theirs
    await waitUntil(() => saving === 4)
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(provider.calls).toHaveLength(4)
    expect(saving).toBe(4)
    openGate()
    const done = await finished(manager, batch_id)
    expect(done.progress.completed_pages).toBe(8)
    expect(provider.calls).toHaveLength(8)
  })

  it('sends a progress event only when progress changed', async () => {
    const provider = scriptedProvider(() => okImage(), { delayMs: 5 })
    const { manager } = await setup(provider, { concurrency: 2 })
    const { batch_id } = await manager.create(input(4))
    await finished(manager, batch_id)
    const progress = (await manager.eventsSince(batch_id, 0))!.filter(e => e.event === 'progress').map(e => JSON.stringify(e.data))
    expect(progress.length).toBeGreaterThanOrEqual(4)
    for (let i = 1; i < progress.length; i++) expect(progress[i]).not.toBe(progress[i - 1])
  })

  it('rejects an unknown template with 400', async () => {
    const { manager } = await setup(scriptedProvider(() => okImage()))
    await expect(manager.create(input(1, { template_id: 'nope' }))).rejects.toThrow(/Unknown template/)
  })

  it('estimates remaining time from a moving average of page durations', async () => {
    const provider = scriptedProvider(() => okImage(), { delayMs: 40 })
    const { manager } = await setup(provider, { concurrency: 1, initialPageSeconds: 20 })
    const first = await manager.create(input(3))
    expect(first.estimated_time).toBe(60) // 3 rounds × the initial 20 s guess
    await finished(manager, first.batch_id)
    expect(manager.averagePageSeconds()).toBeGreaterThan(0.03)
    expect(manager.averagePageSeconds()).toBeLessThan(1)
    const second = await manager.create(input(3, { deck_title: 'Another' }))
    expect(second.estimated_time).toBe(1) // measured ~40 ms per page, rounded up
  })
})
