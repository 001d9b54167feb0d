// Everything the proxy keeps on disk under DATA_DIR:
//   images/<key>.png|jpg and images/<key>.thumb.jpg — each written once, never rewritten
//   batches/<batch_id>.json                           — batch state, atomically replaced on change
//   cache.json                                         — duplicate-request cache (request hash → image)
// Keys are 128 random bits; only names matching IMAGE_KEY_RE are ever turned into a path.
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import PQueue from 'p-queue'
import sharp from 'sharp'
import type { ImageMime } from './providers/types.js'

// Every image is processed once (verify + thumbnail), so libvips' operation cache only holds memory.
sharp.cache(false)

// Decoding a 2K/4K image takes 13–50 MB; more decodes at once than cores only raises peak memory.
const imageWork = new PQueue({ concurrency: Math.max(1, Math.min(4, os.availableParallelism())) })

export const IMAGE_KEY_RE = /^[a-f0-9]{32}(\.thumb)?\.(png|jpg)$/

export interface StoredImage {
  imageKey: string
  thumbnailKey: string
  mime: ImageMime
  width: number
  height: number
}

export class InvalidImageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidImageError'
  }
}

/** Image type from magic bytes; upstream labels are not trusted. */
export function sniffImage(bytes: Buffer): ImageMime | 'image/webp' | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png'
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg'
  if (bytes.length >= 12 && bytes.toString('ascii', 0, 4) === 'RIFF' && bytes.toString('ascii', 8, 12) === 'WEBP') return 'image/webp'
  return null
}

/** Writes a file atomically: temp file in the same directory, then rename. */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await fs.writeFile(tmp, data)
  try {
    await fs.rename(tmp, file)
  } catch (err) {
    await fs.rm(tmp, { force: true })
    throw err
  }
}

export interface Storage {
  readonly dataDir: string
  /** verify, store once and thumbnail; the bytes can be dropped by the caller afterwards */
  saveImage(bytes: Buffer): Promise<StoredImage>
  /** path and type of a stored image, or null for anything that is not a stored key */
  resolveImage(key: string): Promise<{ file: string; mime: ImageMime; size: number } | null>
  readImage(key: string): Promise<Buffer | null>
  saveJson(name: 'cache', data: unknown): Promise<void>
  loadJson(name: 'cache'): Promise<unknown>
  saveBatch(id: string, state: unknown): Promise<void>
  loadBatches(): Promise<unknown[]>
}

export interface StorageOptions {
  dataDir: string
  thumbnail: { width: number; height: number }
}

export async function createStorage(opts: StorageOptions): Promise<Storage> {
  const dataDir = path.resolve(opts.dataDir)
  const imagesDir = path.join(dataDir, 'images')
  const batchesDir = path.join(dataDir, 'batches')
  await fs.mkdir(imagesDir, { recursive: true })
  await fs.mkdir(batchesDir, { recursive: true })

  // one write at a time per file, and only the newest state is written when several queue up
  const pending = new Map<string, { data: string; running: Promise<void> | null; waiters: Array<() => void> }>()
  const writeCoalesced = (file: string, data: string): Promise<void> => {
    const entry = pending.get(file)
    if (entry) {
      entry.data = data
      return new Promise(resolve => entry.waiters.push(resolve))
    }
    const e = { data, running: null as Promise<void> | null, waiters: [] as Array<() => void> }
    pending.set(file, e)
    const loop = async () => {
      let last = ''
      try {
        while (e.data !== last) {
          last = e.data
          await writeFileAtomic(file, last)
        }
      } finally {
        pending.delete(file)
        for (const w of e.waiters) w()
      }
    }
    e.running = loop()
    return e.running
  }

  async function saveNow(input: Buffer): Promise<StoredImage> {
    let bytes = input
    let mime = sniffImage(bytes)
    if (mime === null) throw new InvalidImageError('The model returned something that is not a PNG or JPEG image')
    // WebP breaks PPTX export; keep what the slide needs (PNG) instead.
    if (mime === 'image/webp') {
      bytes = await sharp(bytes).png().toBuffer()
      mime = 'image/png'
    }
    let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>
    try {
      meta = await sharp(bytes).metadata()
    } catch {
      throw new InvalidImageError('The image from the model could not be decoded (truncated or corrupt)')
    }
    if (!meta.width || !meta.height) throw new InvalidImageError('The image from the model has no size')
    const id = randomBytes(16).toString('hex')
    const imageKey = `${id}.${mime === 'image/png' ? 'png' : 'jpg'}`
    const thumbnailKey = `${id}.thumb.jpg`
    let thumb: Buffer
    try {
      // decoding every pixel for the thumbnail is also the full integrity check
      let pipeline = sharp(bytes, { sequentialRead: true }).resize(opts.thumbnail.width, opts.thumbnail.height, { fit: 'cover' })
      if (meta.hasAlpha) pipeline = pipeline.flatten({ background: '#ffffff' })
      thumb = await pipeline.jpeg({ quality: 80 }).toBuffer()
    } catch {
      throw new InvalidImageError('The image from the model could not be decoded (truncated or corrupt)')
    }
    await Promise.all([
      fs.writeFile(path.join(imagesDir, imageKey), bytes, { flag: 'wx' }),
      fs.writeFile(path.join(imagesDir, thumbnailKey), thumb, { flag: 'wx' }),
    ])
    return { imageKey, thumbnailKey, mime, width: meta.width, height: meta.height }
  }

  return {
    dataDir,

    saveImage(input: Buffer): Promise<StoredImage> {
      return imageWork.add(() => saveNow(input))
    },

    async resolveImage(key: string) {
      if (!IMAGE_KEY_RE.test(key)) return null
      const file = path.join(imagesDir, key)
      try {
        const st = await fs.stat(file)
        if (!st.isFile()) return null
        return { file, mime: key.endsWith('.png') ? 'image/png' : 'image/jpeg', size: st.size }
      } catch {
        return null
      }
    },

    async readImage(key: string) {
      if (!IMAGE_KEY_RE.test(key)) return null
      try {
        return await fs.readFile(path.join(imagesDir, key))
      } catch {
        return null
      }
    },

    async saveJson(name, data) {
      await writeCoalesced(path.join(dataDir, `${name}.json`), JSON.stringify(data))
    },

    async loadJson(name) {
      try {
        return JSON.parse(await fs.readFile(path.join(dataDir, `${name}.json`), 'utf8'))
      } catch {
        return null
      }
    },

    async saveBatch(id, state) {
      if (!/^b_[a-f0-9]{24}$/.test(id)) throw new Error('invalid batch id')
      await writeCoalesced(path.join(batchesDir, `${id}.json`), JSON.stringify(state))
    },

    async loadBatches() {
      const out: unknown[] = []
      for (const name of await fs.readdir(batchesDir)) {
        if (!/^b_[a-f0-9]{24}\.json$/.test(name)) continue
        try {
          out.push(JSON.parse(await fs.readFile(path.join(batchesDir, name), 'utf8')))
        } catch {
          // a corrupt file (should not happen with atomic writes) is skipped rather than blocking start-up
        }
      }
      return out
    },
  }
}
