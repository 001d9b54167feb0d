import { readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import sharp from 'sharp'
import { afterEach, describe, expect, it } from 'vitest'
import { createStorage, IMAGE_KEY_RE, InvalidImageError, sniffImage } from '../../server/storage.js'
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
      const thumb = await sharp(path.join(dir, 'images', saved.thumbnailKey)).metadata()
      expect([thumb.format, thumb.width, thumb.height]).toEqual(['jpeg', 300, 169])
      expect(await storage.resolveImage(saved.imageKey)).toMatchObject({ mime, size: bytes.length })
    }
  })

  it('turns WebP into PNG and rejects non-images and truncated images', async () => {
    const { storage } = await store()
    const saved = await storage.saveImage(await img('webp'))
    expect(saved.mime).toBe('image/png')
    await expect(storage.saveImage(Buffer.from('{"error":"x"}'))).rejects.toBeInstanceOf(InvalidImageError)
    const png = await img('png')
    await expect(storage.saveImage(png.subarray(0, 40))).rejects.toBeInstanceOf(InvalidImageError)
    // header intact, pixel data cut: only a full decode notices
    const noisy = await sharp(Buffer.from(Array.from({ length: 256 * 256 * 3 }, (_, i) => (i * 7919) % 251)), { raw: { width: 256, height: 256, channels: 3 } }).png().toBuffer()
    await expect(storage.saveImage(noisy.subarray(0, Math.floor(noisy.length * 0.6)))).rejects.toBeInstanceOf(InvalidImageError)
  })

  it('gives unguessable keys and resolves only stored keys', async () => {
    const { dir, storage } = await store()
    const a = await storage.saveImage(await img('png'))
    const b = await storage.saveImage(await img('png'))
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
    expect(await storage.loadBatches()).toEqual([{ version: 1, n: 19 }])
    await expect(storage.saveBatch('../evil', {})).rejects.toThrow()
  })
})
