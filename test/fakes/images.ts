// Valid image bytes for the fake upstream servers and tests, made with sharp and cached per size/format.
// Images are a flat colour plus a small mark, so even 4K PNGs encode fast and stay small.
//
//   slideImageSize('16:9', '2K')            → { width: 2752, height: 1536 } (Nano Banana Pro output sizes)
//   await fakeImage(2752, 1536, 'png')      → Buffer (cached promise: encoded once per width/height/format/tint)
//   await fakeImage(344, 192, 'png', 'draft') → a differently tinted image (used for thought drafts)
//   await realisticImage(2752, 1536)         → a poorly compressible PNG of a real answer's size
//                                              (2K ≈ 7.4 MB, 4K ≈ 30 MB), cached in os.tmpdir()
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'

export type FakeImageFormat = 'png' | 'jpeg' | 'webp'
export type FakeImageTint = 'final' | 'draft'

/** 1K output pixels of Nano Banana Pro per aspect ratio (2K doubles, 4K quadruples each side). */
const ONE_K: Record<string, [number, number]> = {
  '1:1': [1024, 1024],
  '2:3': [848, 1264],
  '3:2': [1264, 848],
  '3:4': [896, 1200],
  '4:3': [1200, 896],
  '4:5': [928, 1152],
  '5:4': [1152, 928],
  '9:16': [768, 1376],
  '16:9': [1376, 768],
  '21:9': [1584, 672],
}

export function slideImageSize(aspectRatio = '1:1', imageSize = '1K'): { width: number; height: number } {
  const scale = imageSize === '4K' ? 4 : imageSize === '2K' ? 2 : 1
  let base = ONE_K[aspectRatio]
  if (!base) {
    // an unknown ratio "w:h": keep about one megapixel at 1K, sides divisible by 16
    const [w, h] = aspectRatio.split(':').map(Number)
    const ratio = w > 0 && h > 0 ? w / h : 1
    const height = Math.round(Math.sqrt(1024 * 1024 / ratio) / 16) * 16
    base = [Math.round(height * ratio / 16) * 16, height]
  }
  return { width: base[0] * scale, height: base[1] * scale }
}

const cache = new Map<string, Promise<Buffer>>()

export function fakeImage(width: number, height: number, format: FakeImageFormat = 'png', tint: FakeImageTint = 'final'): Promise<Buffer> {
  const key = `${width}x${height}.${format}.${tint}`
  let cached = cache.get(key)
  if (!cached) {
    cached = encode(width, height, format, tint)
    cache.set(key, cached)
    cached.catch(() => cache.delete(key))
  }
  return cached
}

async function encode(width: number, height: number, format: FakeImageFormat, tint: FakeImageTint): Promise<Buffer> {
  const background = tint === 'draft' ? { r: 200, g: 200, b: 200 } : { r: 37, g: 99, b: 235 }
  const markSize = Math.max(4, Math.min(64, Math.floor(Math.min(width, height) / 8)))
  const mark = await sharp({ create: { width: markSize, height: markSize, channels: 3, background: { r: 255, g: 214, b: 10 } } }).png().toBuffer()
  const image = sharp({ create: { width, height, channels: 3, background } })
    .composite([{ input: mark, left: Math.floor(width / 16), top: Math.floor(height / 16) }])
  if (format === 'jpeg') return image.jpeg({ quality: 80 }).toBuffer()
  if (format === 'webp') return image.webp({ quality: 80 }).toBuffer()
  return image.png({ compressionLevel: 6 }).toBuffer()
}

const realistic = new Map<string, Promise<Buffer>>()

/**
 * A PNG as poorly compressible as Nano Banana Pro's answers (photographic detail): Gaussian noise
 * (σ 5) over the slide's blue, 3 channels, so 2752×1536 is ≈ 7.4 MB and 5504×3072 ≈ 30 MB, like
 * the real 2K / 4K images. Encoding a 4K one takes seconds, so it is cached in os.tmpdir() across
 * processes (the benchmark starts several).
 */
export function realisticImage(width: number, height: number, tint: FakeImageTint = 'final'): Promise<Buffer> {
  const key = `${width}x${height}.${tint}`
  let cached = realistic.get(key)
  if (!cached) {
    cached = (async () => {
      const file = path.join(os.tmpdir(), `nb-fake-noise-v1-${key}.png`)
      try {
        return await fs.readFile(file)
      } catch { /* not made yet */ }
      const mean = tint === 'draft' ? 200 : 128
      const png = await sharp({ create: { width, height, channels: 3, background: { r: 37, g: 99, b: 235 }, noise: { type: 'gaussian', mean, sigma: 5 } } })
        .png({ compressionLevel: 6 }).toBuffer()
      const tmp = `${file}.${process.pid}.tmp`
      await fs.writeFile(tmp, png)
      await fs.rename(tmp, file)
      return png
    })()
    realistic.set(key, cached)
    cached.catch(() => realistic.delete(key))
  }
  return cached
}
