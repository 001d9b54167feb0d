import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { crc32, deflateSync } from 'node:zlib'
import sharp from 'sharp'
import { afterEach, describe, expect, it } from 'vitest'
import { createStorage, IMAGE_KEY_RE } from '../../server/storage.js'
import { InvalidImageError, verifyJpeg, verifyPng, verifyPngSliced } from '../../server/imageCheck.js'
import { sniffImageMime as sniffImage } from '../../server/providers/sniff.js'
import { tempDir } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

async function store() {
  const t = await tempDir()
  cleanups.push(t.cleanup)
  return { dir: t.dir, storage: await createStorage({ dataDir: t.dir, thumbnail: { width: 300, height: 169 } }) }
}

const img = (format: 'png' | 'jpeg' | 'webp') => sharp({ create: { width: 1376, height: 768, channels: 3, background: '#123456' } })[format]().toBuffer()
/** pixels that do not compress away, so image data spans many bytes (and several IDAT chunks) */
const noisy = (format: 'png' | 'jpeg', size = 256) => sharp(Buffer.from(Array.from({ length: size * size * 3 }, (_, i) => (i * 7919) % 251)), { raw: { width: size, height: size, channels: 3 } })[format]().toBuffer()

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'latin1')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}

/** A PNG whose every chunk and CRC is right but whose IDAT is not a valid zlib stream of its pixels. */
function structurallyValidUndecodablePng(): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(64, 0)
  ihdr.writeUInt32BE(36, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  const garbage = Buffer.concat([deflateSync(Buffer.alloc(10)), Buffer.from('not the pixels')])
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', garbage), chunk('IEND', Buffer.alloc(0))])
}

describe('storage', () => {
  it('sniffs PNG, JPEG and WebP by magic bytes', async () => {
    expect(sniffImage(await img('png'))).toBe('image/png')
    expect(sniffImage(await img('jpeg'))).toBe('image/jpeg')
    expect(sniffImage(await img('webp'))).toBe('image/webp')
    expect(sniffImage(Buffer.from('<html>nope</html>'))).toBeNull()
  })

  it('stores PNG and JPEG as received with a JPEG thumbnail of the configured size', async () => {
    const { dir, storage } = await store()
    for (const [format, ext, mime] of [['png', 'png', 'image/png'], ['jpeg', 'jpg', 'image/jpeg']] as const) {
      const bytes = await img(format)
      const saved = await storage.saveImage(bytes)
      expect(saved).toMatchObject({ mime, width: 1376, height: 768 })
      expect(saved.imageKey).toMatch(new RegExp(`^[a-f0-9]{32}\\.${ext}$`))
      expect(saved.thumbnailKey).toBe(saved.imageKey.replace(/\.(png|jpg)$/, '.thumb.jpg'))
      expect((await readFile(path.join(dir, 'images', saved.imageKey))).equals(bytes)).toBe(true)
      expect(await saved.thumbnail).toMatchObject({ ok: true })
      const thumb = await sharp(path.join(dir, 'images', saved.thumbnailKey)).metadata()
      expect([thumb.format, thumb.width, thumb.height]).toEqual(['jpeg', 300, 169])
      expect(await storage.resolveImage(saved.imageKey)).toMatchObject({ mime, size: bytes.length })
    }
  })

  it('turns WebP into PNG and rejects non-images and truncated images', async () => {
    const { dir, storage } = await store()
    const saved = await storage.saveImage(await img('webp'))
    expect(saved.mime).toBe('image/png')
    await expect(storage.saveImage(Buffer.from('{"error":"x"}'))).rejects.toBeInstanceOf(InvalidImageError)
    const png = await img('png')
    await expect(storage.saveImage(png.subarray(0, 40))).rejects.toBeInstanceOf(InvalidImageError)
    // header intact, pixel data cut
    const cut = await noisy('png')
    await expect(storage.saveImage(cut.subarray(0, Math.floor(cut.length * 0.6)))).rejects.toBeInstanceOf(InvalidImageError)
    await saved.thumbnail
    // nothing but the WebP (as PNG) and its variants was stored
    expect((await readdir(path.join(dir, 'images'))).sort()).toEqual([saved.imageKey, saved.thumbnailKey, saved.thumbnailKey.replace('.thumb', '.embed')].sort())
  })

  it('structural check: PNG chunks, CRCs and IEND; JPEG segments, scans and EOI', async () => {
    const png = await noisy('png')
    expect(verifyPng(png)).toEqual({ width: 256, height: 256 })
    expect(() => verifyPng(png.subarray(0, png.length - 12))).toThrow(/ends before IEND/) // IEND cut off
    expect(() => verifyPng(png.subarray(0, png.length - 1))).toThrow(InvalidImageError)
    expect(() => verifyPng(png.subarray(0, 8 + 25 + 1000))).toThrow(/runs past the end/) // cut inside IDAT
    const flipped = Buffer.from(png)
    flipped[Math.floor(png.length / 2)] ^= 0x40 // one corrupted bit in the image data
    expect(() => verifyPng(flipped)).toThrow(/CRC mismatch in IDAT/)
    const noData = Buffer.concat([png.subarray(0, 33), chunk('IEND', Buffer.alloc(0))])
    expect(() => verifyPng(noData)).toThrow(/no image data/)
    const zeroWidth = Buffer.from(png)
    zeroWidth.writeUInt32BE(0, 16)
    expect(() => verifyPng(zeroWidth)).toThrow(InvalidImageError) // CRC of IHDR no longer matches either
    // bytes after IEND are ignored, as decoders do
    expect(verifyPng(Buffer.concat([png, Buffer.from('trailing')]))).toEqual({ width: 256, height: 256 })

    const jpeg = await noisy('jpeg')
    expect(verifyJpeg(jpeg)).toEqual({ width: 256, height: 256 })
    const progressive = await sharp(jpeg).jpeg({ progressive: true }).toBuffer()
    expect(verifyJpeg(progressive)).toEqual({ width: 256, height: 256 })
    expect(() => verifyJpeg(jpeg.subarray(0, jpeg.length - 2))).toThrow(/ends inside the image data/) // no EOI
    expect(() => verifyJpeg(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)))).toThrow(InvalidImageError)
    expect(() => verifyJpeg(jpeg.subarray(0, 100))).toThrow(InvalidImageError) // cut in the headers
    const badSegment = Buffer.from(jpeg)
    badSegment[2] = 0x12 // not a marker where the first segment should start
    expect(() => verifyJpeg(badSegment)).toThrow(/expected a marker/)
  })

  it('checks a large PNG in slices, returning to the event loop between them, with the same verdicts', async () => {
    const png = await noisy('png', 512)
    let turns = 0
    let checking = true
    const tick = () => {
      turns++
      if (checking) setImmediate(tick)
    }
    setImmediate(tick)
    expect(await verifyPngSliced(png, 8192)).toEqual({ width: 512, height: 512 })
    checking = false
    // other callbacks ran between the slices (one slice per 8 KB of CRC work)
    expect(turns).toBeGreaterThanOrEqual(Math.floor(png.length / 8192) - 1)
    // a bit flipped inside a chunk that is summed in several slices is still found
    const flipped = Buffer.from(png)
    flipped[Math.floor(png.length / 2)] ^= 0x40
    await expect(verifyPngSliced(flipped, 1000)).rejects.toThrow(/CRC mismatch in IDAT/)
    await expect(verifyPngSliced(png.subarray(0, png.length - 12), 1000)).rejects.toThrow(/ends before IEND/)
    expect(await verifyPngSliced(png, 7)).toEqual({ width: 512, height: 512 })
  })

  it('saves truncated or corrupted JPEGs and PNGs as invalid, never to disk', async () => {
    const { dir, storage } = await store()
    const jpeg = await noisy('jpeg')
    await expect(storage.saveImage(jpeg.subarray(0, jpeg.length - 2))).rejects.toBeInstanceOf(InvalidImageError)
    const png = await noisy('png')
    const flipped = Buffer.from(png)
    flipped[Math.floor(png.length / 2)] ^= 0x40
    await expect(storage.saveImage(flipped)).rejects.toBeInstanceOf(InvalidImageError)
    expect(await readdir(path.join(dir, 'images'))).toEqual([])
  })

  it('a thumbnail still being made is waited for, then served', async () => {
    const { storage } = await store()
    // thumbnails are made one after another (per spare core): the last of several is still pending
    const bytes = await noisy('png', 1024)
    const saved = await Promise.all(Array.from({ length: 6 }, () => storage.saveImage(bytes)))
    const settled = new Set<string>()
    for (const s of saved) void s.thumbnail.then(() => settled.add(s.thumbnailKey))
    await new Promise(resolve => setImmediate(resolve))
    const pending = saved.find(s => !settled.has(s.thumbnailKey))
    expect(pending).toBeDefined()
    const resolved = await storage.resolveImage(pending!.thumbnailKey)
    expect(settled.has(pending!.thumbnailKey)).toBe(true) // resolveImage returned only after the thumbnail was made
    expect(resolved).toMatchObject({ mime: 'image/jpeg' })
    const meta = await sharp(resolved!.file).metadata()
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 300, 169])
    expect(resolved!.size).toBe((await stat(resolved!.file)).size)
    await Promise.all(saved.map(s => s.thumbnail))
  })

  it('a missing thumbnail (e.g. lost in a restart) is made again on request', async () => {
    const { dir, storage } = await store()
    const saved = await storage.saveImage(await img('jpeg'))
    await saved.thumbnail
    await rm(path.join(dir, 'images', saved.thumbnailKey))
    const again = await createStorage({ dataDir: dir, thumbnail: { width: 300, height: 169 } })
    const resolved = await again.resolveImage(saved.thumbnailKey)
    expect(resolved).not.toBeNull()
    const meta = await sharp(resolved!.file).metadata()
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 300, 169])
    expect(await again.readImage(saved.thumbnailKey)).not.toBeNull()
    // a thumbnail key without a stored image stays unknown; only .thumb.jpg names are ever made
    expect(await again.resolveImage('0'.repeat(32) + '.thumb.jpg')).toBeNull()
    expect(await again.resolveImage(saved.thumbnailKey.replace('.jpg', '.png'))).toBeNull()
    expect((await readdir(path.join(dir, 'images'))).sort()).toEqual([saved.imageKey, saved.thumbnailKey, saved.thumbnailKey.replace('.thumb', '.embed')].sort())
  })

  it('makes the compact JPEG for embedding after each page (≤ 1600 px wide) and the thumbnail from it; again on request when lost', async () => {
    const { dir, storage } = await store()
    const big = await sharp({ create: { width: 2752, height: 1536, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } } }).png().toBuffer()
    const saved = await storage.saveImage(big)
    const key = saved.imageKey.replace('.png', '.embed.jpg')
    expect(IMAGE_KEY_RE.test(key)).toBe(true)
    // the queue was idle: made from the bytes, alongside the write
    expect(await saved.thumbnail).toMatchObject({ ok: true, from: 'bytes' })
    expect(await storage.variantReady(key)).toBe('ready')
    const early = await storage.resolveImage(key)
    expect(early).toMatchObject({ mime: 'image/jpeg' })
    expect((await readdir(path.join(dir, 'images'))).sort()).toEqual([saved.imageKey, saved.thumbnailKey, key].sort())
    const meta = await sharp(early!.file).metadata()
    expect([meta.format, meta.width, meta.height, meta.hasAlpha]).toEqual(['jpeg', 1600, 893, false])
    expect(early!.size).toBeLessThan(big.length)
    const thumb = await sharp((await storage.resolveImage(saved.thumbnailKey))!.file).metadata()
    expect([thumb.format, thumb.width, thumb.height]).toEqual(['jpeg', 300, 169])
    // lost: made again on the first request (two requests, one making)
    await rm(early!.file)
    const [a, b] = await Promise.all([storage.resolveImage(key), storage.resolveImage(key)])
    expect(b!.file).toBe(a!.file)
    expect((await sharp(a!.file).metadata()).width).toBe(1600)
    expect(await storage.variantReady(key)).toBe('ready')
    // a small image is not enlarged; an unknown id stays unknown
    const small = await storage.saveImage(await img('png'))
    const smallMeta = await sharp((await storage.resolveImage(small.imageKey.replace('.png', '.embed.jpg')))!.file).metadata()
    expect(smallMeta.width).toBe(1376)
    expect(await storage.resolveImage('0'.repeat(32) + '.embed.jpg')).toBeNull()
    expect(await storage.variantReady('0'.repeat(32) + '.embed.jpg')).toBe('missing')
    await small.thumbnail
    // several at once (more than the queue runs together): those queued are made from the stored
    // file after the save, and a request for one still being made waits for it instead of missing it
    const burst = await Promise.all(Array.from({ length: 6 }, () => storage.saveImage(big)))
    const embedKeys = burst.map(b => b.imageKey.replace('.png', '.embed.jpg'))
    const states = await Promise.all(embedKeys.map(k => storage.variantReady(k)))
    expect(states).toContain('making')
    const waited = await storage.resolveImage(embedKeys[states.lastIndexOf('making')])
    expect((await sharp(waited!.file).metadata()).width).toBe(1600)
    expect(new Set((await Promise.all(burst.map(b => b.thumbnail))).map(o => o.from))).toEqual(new Set(['bytes', 'stored']))
  })

  it('a thumbnail that cannot be made does not lose the image; it is 404 rather than an error', async () => {
    const { dir, storage } = await store()
    const bytes = structurallyValidUndecodablePng()
    const saved = await storage.saveImage(bytes)
    expect(saved).toMatchObject({ mime: 'image/png', width: 64, height: 36 })
    const outcome = await saved.thumbnail
    expect(outcome.ok).toBe(false)
    expect(outcome.error).toBeTruthy()
    expect((await readFile(path.join(dir, 'images', saved.imageKey))).equals(bytes)).toBe(true)
    expect(await storage.resolveImage(saved.imageKey)).toMatchObject({ mime: 'image/png' })
    // tried again on request, fails again: no thumbnail, no half-written file
    expect(await storage.resolveImage(saved.thumbnailKey)).toBeNull()
    expect(await readdir(path.join(dir, 'images'))).toEqual([saved.imageKey])
  })

  it('gives unguessable keys and resolves only stored keys', async () => {
    const { dir, storage } = await store()
    const a = await storage.saveImage(await img('png'))
    const b = await storage.saveImage(await img('png'))
    await Promise.all([a.thumbnail, b.thumbnail])
    expect(a.imageKey).not.toBe(b.imageKey)
    await writeFile(path.join(dir, 'secret.png'), 'x')
    for (const key of ['../secret.png', '..%2Fsecret.png', 'secret.png', '', a.imageKey.toUpperCase(), `${a.imageKey}/`, '0'.repeat(32) + '.png']) {
      expect(IMAGE_KEY_RE.test(key) && (await storage.resolveImage(key)) !== null, key).toBe(false)
      expect(await storage.resolveImage(key)).toBeNull()
    }
  })

  it('writes batch state atomically and keeps only the newest of rapid updates', async () => {
    const { dir, storage } = await store()
    const id = 'b_' + 'a'.repeat(24)
    await Promise.all(Array.from({ length: 20 }, (_, i) => storage.saveBatch(id, { version: 1, n: i })))
    const files = await readdir(path.join(dir, 'batches'))
    expect(files).toEqual([`${id}.json`]) // no temp files left behind
    expect(JSON.parse(await readFile(path.join(dir, 'batches', files[0]), 'utf8'))).toEqual({ version: 1, n: 19 })
    expect(await storage.loadBatch(id)).toEqual({ version: 1, n: 19 })
    expect(await storage.liveBatchIds()).toEqual([id])
    // finished: moved where start-up does not read it
    await storage.saveBatch(id, { version: 1, n: 20 }, true)
    expect(await readdir(path.join(dir, 'batches'))).toEqual([`${id}.done.json`])
    expect(await storage.liveBatchIds()).toEqual([])
    expect(await storage.loadBatch(id)).toEqual({ version: 1, n: 20 })
    await expect(storage.saveBatch('../evil', {})).rejects.toThrow()
  })
})

describe('decompression bombs', () => {
  /** A PNG declaring 20000×20000 RGB (1.2 GB decoded): one deflated row of zeros repeated is tiny. */
  function pngBomb(): Buffer {
    const ihdr = Buffer.alloc(13)
    ihdr.writeUInt32BE(20_000, 0)
    ihdr.writeUInt32BE(20_000, 4)
    ihdr.set([8, 2, 0, 0, 0], 8)
    return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(64 * 1024))), chunk('IEND', Buffer.alloc(0))])
  }

  it('a PNG bomb fails fast as image_too_large from its header, before any decode, and nothing is stored', async () => {
    const { dir, storage } = await store()
    const err = await storage.saveImage(pngBomb()).then(() => null, e => e as Error)
    expect(err).toMatchObject({ kind: 'fatal', code: 'image_too_large' })
    expect(err?.message).toMatch(/20000×20000 pixels/)
    expect(await readdir(path.join(dir, 'images'))).toEqual([])
  })
})
