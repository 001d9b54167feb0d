// Pooled answer buffers (server/providers/bufferPool.ts) are handed back only once nothing reads them:
// through the real proxy with a pool that poisons every buffer it gets back, each stored image is still
// exactly the one the upstream sent; and the page runner waits for a store that reads the bytes after
// saveImage() (the S3 store makes its variants from them).
import { createHash } from 'node:crypto'
import sharp from 'sharp'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { startFakeGemini } from '../fakes/geminiServer.js'
import { startFakeOpenAI, type ChatShape } from '../fakes/openaiServer.js'
import { createOpenAIChatProvider } from '../../server/providers/openaiChat.js'
import { dimensions, makeRequest } from './providers.helpers.js'
import { BufferPool } from '../../server/providers/bufferPool.js'
import { PageRunner } from '../../server/engine/pageRunner.js'
import type { ImageStore } from '../../server/engine/imageStore.js'
import type { StoredImage, ThumbnailOutcome } from '../../server/storage.js'
import { createMemoryLogger } from '../../server/logger.js'
import { startProxy } from './proxyRun.helpers.js'

const KEY = 'AIzaSy-answer-buffers-test-key'
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('pooled answer buffers', () => {
  it('every page stores the bytes the upstream sent, while released buffers are poisoned and reused', async () => {
    const drawn = new Set<string>()
    // a different noisy (poorly compressible, ~3 MB) PNG per page: a buffer reused too early shows up as another page's or a poisoned image
    const image = async (prompt: string, width: number, height: number) => {
      const mean = Number.parseInt(sha(Buffer.from(prompt)).slice(0, 2), 16)
      const png = await sharp({ create: { width, height, channels: 3, background: '#000', noise: { type: 'gaussian', mean, sigma: 40 } } }).png({ compressionLevel: 1 }).toBuffer()
      drawn.add(sha(png))
      return png
    }
    const fake = await startFakeGemini({ validKey: KEY, mislabelRate: 0, latencyMs: 30, image })
    cleanups.push(() => fake.close())
    const pool = new BufferPool({ poison: 0 })
    const run = await startProxy({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.url, MAX_CONCURRENT_GENERATIONS: '3' }, { buffers: pool })
    cleanups.push(() => run.stop())

    const progress = await run.runBatch(8)
    expect(progress.results.map(r => r.status)).toEqual(Array(8).fill('completed'))
    const stored = await Promise.all(progress.results.map(async r => sha(Buffer.from(await (await fetch(`${run.srv.url}${r.image_url}`)).arrayBuffer()))))
    expect(stored.every(h => drawn.has(h))).toBe(true)
    expect(new Set(stored).size).toBe(8)
    const stats = pool.stats()
    expect(stats.reused).toBeGreaterThan(0)
    expect(stats.leased).toBe(0)
  })

  it('hands the bytes back after saveImage(), or once the store says it stopped reading them; never after a failed save', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123' } }).png().toBuffer()
    let held: () => void = () => {}
    let saves: Array<() => Promise<StoredImage>> = []
    const thumbnail = Promise.resolve<ThumbnailOutcome>({ ok: true, from: 'stored', readyMs: 0, workMs: 0 })
    const base = { imageKey: `${'a'.repeat(32)}.png`, thumbnailKey: `${'a'.repeat(32)}.thumb.jpg`, mime: 'image/png' as const, width: 8, height: 8, thumbnail }
    saves = [
      async () => base,
      async () => ({ ...base, inputHeld: new Promise<void>(resolve => { held = resolve }) }),
      async () => { throw new Error('disk full') },
    ]
    const images = { saveImage: () => saves.shift()!() } as unknown as ImageStore
    const runner = new PageRunner({ provider: { name: 'gemini', model: 'm' }, images, store: { cacheSet: async () => {} }, logger: createMemoryLogger() } as unknown as ConstructorParameters<typeof PageRunner>[0])

    const plain = vi.fn()
    await runner.store({ bytes: png, mime: 'image/png', release: plain }, 'k1', 10)
    await new Promise(resolve => setImmediate(resolve))
    expect(plain).toHaveBeenCalledTimes(1)

    const s3 = vi.fn()
    await runner.store({ bytes: png, mime: 'image/png', release: s3 }, 'k2', 10)
    await new Promise(resolve => setImmediate(resolve))
    expect(s3).not.toHaveBeenCalled()
    held()
    await new Promise(resolve => setImmediate(resolve))
    expect(s3).toHaveBeenCalledTimes(1)

    const failed = vi.fn()
    await expect(runner.store({ bytes: png, mime: 'image/png', release: failed }, 'k3', 10)).rejects.toThrow('disk full')
    await new Promise(resolve => setImmediate(resolve))
    expect(failed).not.toHaveBeenCalled()
  })

  it('a relay\'s inline image (every shape with base64) is decoded as the answer arrives, into a pooled buffer the image hands back', async () => {
    const shapes: ChatShape[] = ['openrouter', 'content_image_url', 'content_image_b64', 'images_api', 'event_stream']
    const pool = new BufferPool({ poison: 0 })
    for (const shape of shapes) {
      const relay = await startFakeOpenAI({ validKey: 'sk-buffers', shape })
      cleanups.push(() => relay.close())
      const provider = createOpenAIChatProvider({ apiKey: 'sk-buffers', baseUrl: `${relay.url}/v1`, model: 'google/gemini-3-pro-image', timeoutMs: 10_000, buffers: pool })
      const image = await provider.generate(await makeRequest({ resolution: '2K' }))
      expect(await dimensions(image.bytes), shape).toMatchObject({ width: 2752, height: 1536, format: 'png' })
      // the bytes are the pool's: released, they are poisoned
      expect(pool.stats().leased, shape).toBe(1)
      image.release?.()
      expect(pool.stats().leased, shape).toBe(0)
      expect(image.bytes.every(b => b === 0), shape).toBe(true)
    }
    expect(pool.stats().reused).toBe(shapes.length - 1)
  })
})
