// Everything the proxy keeps on disk under DATA_DIR:
//   images/<key>.png|jpg, <key>.embed.jpg, <key>.thumb.jpg — each written once, never rewritten
//   batches/<batch_id>.json | .done.json              — batch state, atomically replaced on change (batchFiles.ts)
//   cache.json                                         — duplicate-request cache (request hash → image)
// Keys are 128 random bits; only names matching IMAGE_KEY_RE are ever turned into a path.
//
// Saving an image is on the page's critical path, so it does only what the page needs: a structural
// check of the bytes (PNG: every chunk's CRC, IHDR … IDAT … IEND; JPEG: the marker segments from SOI
// to EOI), which rejects truncated and corrupted images, then the write. The thumbnail needs a full
// decode (~30 ms of CPU for a 2K PNG) and is made right after, off the critical path, one image at a
// time per spare core; a request for a thumbnail still being made waits for it, and a missing
// thumbnail (failed, or lost in a restart) is made on request from the stored image.
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { crc32 } from 'node:zlib'
import PQueue from 'p-queue'
import sharp, { type Sharp } from 'sharp'
import { ProviderError, type ImageMime } from './providers/types.js'
import { sniffImageMime } from './providers/sniff.js'
import { coalescingWriter, createBatchFiles } from './batchFiles.js'
import type { StatePersistence } from './engine/stateStore.js'
import { sweepImageDir } from './imageSweep.js'

// Every image is processed once (verify + thumbnail), so libvips' operation cache only holds memory.
sharp.cache(false)

// Decoding a 2K/4K image takes 13–50 MB and a core's worth of CPU. One core is left to the event loop
// (HTTP, SSE, the SDK's JSON) so a burst of finished pages does not delay the next upstream answers.
/**
 * How long a state change waits for others to join its file's write: none (group commit — the changes
 * of one turn of the event loop, e.g. the pages of one upstream round, go in one write, and changes
 * made while it runs go in the next). A fixed delay here was on every page's way to `completed`.
 */
const STATE_WRITE_DELAY_MS = 0

const imageWork = new PQueue({ concurrency: Math.max(1, Math.min(4, os.availableParallelism() - 1)) })

/**
 * Largest image decoded (pixels): a 4K 21:9 slide is 6336×2688 ≈ 17 MP; 40 MP leaves room. A PNG
 * "bomb" (tiny file, huge declared size) is refused from its header instead of taking GBs to decode.
 */
export const MAX_IMAGE_PIXELS = 40_000_000

export const IMAGE_KEY_RE = /^[a-f0-9]{32}(\.thumb|\.embed)?\.(png|jpg)$/

/** The compact JPEG the extension embeds in a deck ("embed images"): ≤ this wide, this quality. */
export const EMBED_VARIANT = { maxWidth: 1600, quality: 85 }

/** `<id>.embed.jpg` and `<id>.thumb.jpg` (made after each page, again on request when missing) are derived from `<id>.png|jpg`. */
export function isVariantKey(key: string): boolean {
  return key.endsWith('.thumb.jpg') || key.endsWith('.embed.jpg')
}

export interface ThumbnailOutcome {
  ok: boolean
  /** from saveImage() returning to the thumbnail being on disk (includes waiting for a free core) */
  readyMs: number
  /** decode, resize, encode and write of this thumbnail alone */
  workMs: number
  error?: string
}

export interface StoredImage {
  imageKey: string
  thumbnailKey: string
  mime: ImageMime
  width: number
  height: number
  /** settles (never rejects) once the thumbnail is written or has failed; a failure is not the page's */
  thumbnail: Promise<ThumbnailOutcome>
  /** the store reads the bytes saveImage() was given until this settles (never rejects); absent: until saveImage() resolved */
  inputHeld?: Promise<unknown>
}

export class InvalidImageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidImageError'
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
/** allowed bit depths per PNG colour type (PNG spec, table 11.1) */
const PNG_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] }
const MAX_SIDE = 65535

/**
 * Walks a PNG's chunks: signature, IHDR first and valid, every chunk inside the buffer with a matching
 * CRC, one run of IDAT chunks, IEND. Bytes after IEND are ignored (decoders ignore them too).
 */
export function verifyPng(bytes: Buffer): { width: number; height: number } {
  const bad = (why: string) => new InvalidImageError(`The PNG from the model is truncated or corrupt (${why})`)
  if (bytes.length < 8 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) throw bad('bad signature')
  let pos = 8
  let width = 0
  let height = 0
  let idat: 'none' | 'in' | 'after' = 'none'
  for (let index = 0; ; index++) {
    if (pos + 12 > bytes.length) throw bad('ends before IEND')
    const length = bytes.readUInt32BE(pos)
    const type = bytes.toString('latin1', pos + 4, pos + 8)
    if (length > 0x7fffffff || pos + 12 + length > bytes.length) throw bad(`${/^[A-Za-z]{4}$/.test(type) ? type : 'a'} chunk runs past the end`)
    if (!/^[A-Za-z]{4}$/.test(type)) throw bad('invalid chunk type')
    if (crc32(bytes.subarray(pos + 4, pos + 8 + length)) !== bytes.readUInt32BE(pos + 8 + length)) throw bad(`CRC mismatch in ${type}`)
    const data = bytes.subarray(pos + 8, pos + 8 + length)
    if (index === 0) {
      if (type !== 'IHDR' || length !== 13) throw bad('IHDR is not the first chunk')
      width = data.readUInt32BE(0)
      height = data.readUInt32BE(4)
      const [depth, colour, compression, filter, interlace] = data.subarray(8)
      if (width === 0 || height === 0 || width > MAX_SIDE || height > MAX_SIDE) throw bad('invalid size')
      if (!PNG_DEPTHS[colour]?.includes(depth) || compression !== 0 || filter !== 0 || interlace > 1) throw bad('invalid IHDR')
    } else if (type === 'IHDR') {
      throw bad('second IHDR')
    }
    if (type === 'IDAT') {
      if (idat === 'after') throw bad('IDAT chunks are not consecutive')
      idat = 'in'
    } else if (idat === 'in') {
      idat = 'after'
    }
    pos += 12 + length
    if (type === 'IEND') break
  }
  if (idat === 'none') throw bad('no image data')
  return { width, height }
}

/**
 * Walks a JPEG's marker segments from SOI to EOI, through every scan's entropy-coded data: each
 * segment inside the buffer, a frame header (SOF) with a size before the first scan, and EOI at the end.
 */
export function verifyJpeg(bytes: Buffer): { width: number; height: number } {
  const bad = (why: string) => new InvalidImageError(`The JPEG from the model is truncated or corrupt (${why})`)
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw bad('no SOI marker')
  let pos = 2
  let width = 0
  let height = 0
  let scans = 0
  for (;;) {
    if (pos + 2 > bytes.length) throw bad('ends before EOI')
    if (bytes[pos] !== 0xff) throw bad('expected a marker')
    while (pos + 1 < bytes.length && bytes[pos + 1] === 0xff) pos++ // fill bytes
    if (pos + 2 > bytes.length) throw bad('ends before EOI')
    const marker = bytes[pos + 1]
    pos += 2
    if (marker === 0xd9) break // EOI
    if (marker === 0xd8 || marker === 0x00) throw bad('unexpected marker')
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue // no length
    if (pos + 2 > bytes.length) throw bad('ends inside a segment')
    const length = bytes.readUInt16BE(pos)
    if (length < 2 || pos + length > bytes.length) throw bad('segment runs past the end')
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
    if (isSof) {
      if (length < 8) throw bad('short frame header')
      height = bytes.readUInt16BE(pos + 3)
      width = bytes.readUInt16BE(pos + 5)
      if (width === 0 || height === 0) throw bad('invalid size')
    }
    pos += length
    if (marker === 0xda) {
      if (width === 0) throw bad('scan before the frame header')
      scans++
      // entropy-coded data: runs until a 0xFF that is neither a stuffed 0x00 nor a restart marker
      for (;;) {
        const ff = bytes.indexOf(0xff, pos)
        if (ff < 0 || ff + 1 >= bytes.length) throw bad('ends inside the image data')
        const next = bytes[ff + 1]
        if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xff) {
          pos = next === 0xff ? ff + 1 : ff + 2
          continue
        }
        pos = ff
        break
      }
    }
  }
  if (scans === 0) throw bad('no image data')
  return { width, height }
}

/**
 * Writes a file atomically and durably: temp file in the same directory, fsync, rename over the
 * target, fsync of the directory (so the rename itself survives a crash or power loss). A reader or
 * a restart sees the old content or the new one, never a part. Rejects (ENOSPC, EROFS, …) leaving
 * no temp file behind.
 */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const handle = await fs.open(tmp, 'wx')
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.rename(tmp, file)
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined)
    throw err
  }
  await syncDirGrouped(path.dirname(file))
}

/**
 * Directory fsyncs are shared (group commit): a caller whose rename happened while a sync of its
 * directory was already running waits for the next one, which serves everyone who came meanwhile.
 * Five pages saved in the same round cost two directory syncs instead of five.
 */
const dirSyncs = new Map<string, { running: Promise<void> | null; next: Promise<void> | null }>()
function syncDirGrouped(dir: string): Promise<void> {
  let s = dirSyncs.get(dir)
  if (!s) dirSyncs.set(dir, s = { running: null, next: null })
  const state = s
  if (!state.running) {
    const running = syncDir(dir).finally(() => {
      state.running = null
      if (!state.next) dirSyncs.delete(dir)
    })
    state.running = running
    return running
  }
  state.next ??= state.running.catch(() => undefined).then(() => {
    state.next = null
    return syncDirGrouped(dir)
  })
  return state.next
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Free space below which DATA_DIR counts as full (new batches get 503 storage_unavailable). */
export const MIN_FREE_BYTES = 64 * 1024 * 1024

/**
 * Whether new work can be stored: the directory accepts a durable write and has at least
 * `minFreeBytes` free (statfs). Returns the cause in one sentence, or null when all is well.
 */
export async function storageProblem(dir: string, minFreeBytes = MIN_FREE_BYTES): Promise<string | null> {
  try {
    await writeFileAtomic(path.join(dir, '.write-check'), String(Date.now()))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return `DATA_DIR (${dir}) is not writable${code ? ` (${code})` : ''}`
  }
  try {
    const st = await fs.statfs(dir)
    const free = st.bavail * st.bsize
    if (free < minFreeBytes) return `DATA_DIR (${dir}) is almost full (${Math.floor(free / 1024 / 1024)} MB free, needs ${Math.round(minFreeBytes / 1024 / 1024)} MB)`
  } catch {
    // statfs unsupported here: the write check above stands
  }
  return null
}

/** The embed variant (≤ 1600 px wide JPEG, alpha flattened on white) of an image file or its bytes. */
export function embedJpeg(source: string | Buffer): Sharp {
  return sharp(source, { sequentialRead: true, limitInputPixels: MAX_IMAGE_PIXELS })
    .resize({ width: EMBED_VARIANT.maxWidth, withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: EMBED_VARIANT.quality })
}

/** The thumbnail (cover-cropped to `size`, JPEG q80, alpha flattened on white) of an image file or its bytes. */
export function thumbnailJpeg(source: string | Buffer, size: { width: number; height: number }): Sharp {
  return sharp(source, { sequentialRead: true, limitInputPixels: MAX_IMAGE_PIXELS })
    .resize(size.width, size.height, { fit: 'cover' })
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: 80 })
}

/** Runs image work (decode, resize, encode) on the shared queue: one job per spare core; priority 1 goes first. */
export function queueImageWork<T>(job: () => Promise<T>, priority = 0): Promise<T> {
  return imageWork.add(job, { priority }) as Promise<T>
}

/** A verified image ready to store: its bytes (WebP already converted to PNG), type, size and fresh keys. */
export interface PreparedImage {
  bytes: Buffer
  mime: ImageMime
  width: number
  height: number
  imageKey: string
  thumbnailKey: string
}

/**
 * Sniffs, converts WebP to PNG, verifies the structure (verifyPng / verifyJpeg) and refuses images
 * over MAX_IMAGE_PIXELS from their header; picks a new random key. Shared by every image store.
 * Throws InvalidImageError, or ProviderError image_too_large.
 */
export async function prepareImage(input: Buffer): Promise<PreparedImage> {
  let bytes = input
  let mime = sniffImageMime(bytes)
  if (mime === null) throw new InvalidImageError('The model returned something that is not a PNG or JPEG image')
  // WebP breaks PPTX export; keep what the slide needs (PNG) instead (decoding it is its check).
  if (mime === 'image/webp') {
    try {
      bytes = await sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS }).png().toBuffer()
    } catch {
      throw new InvalidImageError('The WebP image from the model could not be decoded (truncated or corrupt)')
    }
    mime = 'image/png'
  }
  const { width, height } = mime === 'image/png' ? verifyPng(bytes) : verifyJpeg(bytes)
  // decompression bombs fail here, from the header alone, before any decode
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new ProviderError('fatal', 'image_too_large', `The image from the model is ${width}×${height} pixels, more than the ${Math.round(MAX_IMAGE_PIXELS / 1e6)} megapixels the proxy decodes`)
  }
  const id = randomBytes(16).toString('hex')
  return { bytes, mime, width, height, imageKey: `${id}.${mime === 'image/png' ? 'png' : 'jpg'}`, thumbnailKey: `${id}.thumb.jpg` }
}

/** Images on disk, and the state files the memory state store persists (batch state files: server/batchFiles.ts; finished ones are read on demand only). */
export interface Storage extends StatePersistence {
  readonly dataDir: string
  /**
   * Verifies (structurally) and stores the image once, then makes its thumbnail in the background
   * (`thumbnail` settles when done); the bytes can be dropped by the caller afterwards.
   */
  saveImage(bytes: Buffer): Promise<StoredImage>
  /**
   * Path and type of a stored image, or null for anything that is not a stored key. A thumbnail still
   * being made is waited for; a missing one is made from its stored image.
   */
  resolveImage(key: string): Promise<{ file: string; mime: ImageMime; size: number } | null>
  /**
   * For a thumbnail or embed variant key, never waiting: 'ready' (on disk), 'making' (being made —
   * started now when it was missing and its image is stored) or 'missing' (no such image). What the
   * image route answers thumbnail requests from, so none sits open on a busy image worker.
   */
  variantReady(key: string): Promise<'ready' | 'making' | 'missing'>
  readImage(key: string): Promise<Buffer | null>
  /** Deletes images stored before `cutoffMs` with their variants (ImageStore); returns how many. */
  deleteOlderThan(cutoffMs: number): Promise<number>
}

export interface StorageOptions {
  dataDir: string
  /** a batch file that cannot be read or parsed (it is skipped) */
  onDamaged?: (file: string, reason: string) => void
  thumbnail: { width: number; height: number }
}

export async function createStorage(opts: StorageOptions): Promise<Storage> {
  const dataDir = path.resolve(opts.dataDir)
  const imagesDir = path.join(dataDir, 'images')
  const batchesDir = path.join(dataDir, 'batches')
  await fs.mkdir(imagesDir, { recursive: true })
  await fs.mkdir(batchesDir, { recursive: true })

  // state files: one write at a time per file, only the newest of several (server/batchFiles.ts)
  const writer = coalescingWriter(STATE_WRITE_DELAY_MS, writeFileAtomic)
  const batchFiles = createBatchFiles(batchesDir, writer, opts.onDamaged)

  /** variants being made, by key: a request for one waits instead of missing it */
  const thumbnailsInProgress = new Map<string, Promise<ThumbnailOutcome>>()

  /**
   * Makes a thumbnail or an embed variant from the stored image's FILE (a queue of paths, not of
   * buffers: the image's bytes are not kept in memory while it waits for a core). A variant someone
   * is waiting for (`requested`) goes ahead of the thumbnails made after each page.
   */
  const embedPipeline = embedJpeg
  const thumbnailPipeline = (source: string | Buffer) => thumbnailJpeg(source, opts.thumbnail)

  /** Registers a variant being made, so requests for it wait (embed) or are answered not_ready (thumbnail). */
  const track = (key: string, running: Promise<ThumbnailOutcome>) => {
    thumbnailsInProgress.set(key, running)
    void running.finally(() => {
      if (thumbnailsInProgress.get(key) === running) thumbnailsInProgress.delete(key)
    })
  }

  /**
   * Makes a thumbnail or an embed variant from the stored image's FILE (a queue of paths, not of
   * buffers: the image's bytes are not kept in memory while it waits for a core). A variant someone
   * is waiting for (`requested`) goes ahead of the variants made after each page.
   */
  const makeThumbnail = (thumbnailKey: string, source: string, queuedAt: number, requested = false): Promise<ThumbnailOutcome> => {
    const running = imageWork.add(async (): Promise<ThumbnailOutcome> => {
      const started = performance.now()
      try {
        // the full decode; flatten only acts on images with alpha
        const thumb = await (thumbnailKey.endsWith('.embed.jpg') ? embedPipeline(source) : thumbnailPipeline(source)).toBuffer()
        // atomic: a reader that did not wait (or a restart) never sees half a thumbnail
        await writeFileAtomic(path.join(imagesDir, thumbnailKey), thumb)
        return { ok: true, readyMs: performance.now() - queuedAt, workMs: performance.now() - started }
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err)
        return { ok: false, readyMs: performance.now() - queuedAt, workMs: performance.now() - started, error }
      }
    }, { priority: requested ? 1 : 0 }) as Promise<ThumbnailOutcome>
    track(thumbnailKey, running)
    return running
  }

  /**
   * After each page: the embed variant from the image's one full decode, then the thumbnail from that
   * JPEG (a 1600 px JPEG decodes in a fraction of a 2K/4K PNG's time), in one job. So the editor's
   * "embed images" fetch finds its JPEG ready or nearly, and the thumbnail costs no second decode of
   * the full image. Resolves with the thumbnail's outcome (the embed variant is retried on request).
   */
  const makeVariants = (id: string, source: string, queuedAt: number): Promise<ThumbnailOutcome> => {
    const embedKey = `${id}.embed.jpg`
    let embedSettled: (outcome: ThumbnailOutcome) => void = () => undefined
    track(embedKey, new Promise<ThumbnailOutcome>(resolve => { embedSettled = resolve }))
    const running = imageWork.add(async (): Promise<ThumbnailOutcome> => {
      const started = performance.now()
      const outcome = (ok: boolean, error?: string): ThumbnailOutcome => ({ ok, readyMs: performance.now() - queuedAt, workMs: performance.now() - started, ...(error ? { error } : {}) })
      let embed: Buffer | null = null
      try {
        embed = await embedPipeline(source).toBuffer()
        await writeFileAtomic(path.join(imagesDir, embedKey), embed)
        embedSettled(outcome(true))
      } catch (err) {
        embedSettled(outcome(false, err instanceof Error ? err.message : String(err)))
      }
      try {
        await writeFileAtomic(path.join(imagesDir, `${id}.thumb.jpg`), await thumbnailPipeline(embed ?? source).toBuffer())
        return outcome(true)
      } catch (err) {
        return outcome(false, err instanceof Error ? err.message : String(err))
      }
    }).then(o => o as ThumbnailOutcome, (err: unknown) => {
      const failed: ThumbnailOutcome = { ok: false, readyMs: performance.now() - queuedAt, workMs: 0, error: String(err) }
      embedSettled(failed)
      return failed
    })
    track(`${id}.thumb.jpg`, running)
    return running
  }

  /**
   * A variant's state without waiting for it: on disk ('ready'), being made ('making', with the
   * promise; a missing one — failed earlier, or not made before a restart — is started here from its
   * stored image) or impossible ('missing': no stored image).
   */
  async function variantState(thumbnailKey: string): Promise<{ state: 'ready' | 'missing' } | { state: 'making'; done: Promise<ThumbnailOutcome> }> {
    const inProgress = thumbnailsInProgress.get(thumbnailKey)
    if (inProgress) return { state: 'making', done: inProgress }
    try {
      await fs.access(path.join(imagesDir, thumbnailKey))
      return { state: 'ready' }
    } catch { /* missing: make it below */ }
    const id = thumbnailKey.slice(0, 32)
    for (const ext of ['png', 'jpg']) {
      const source = path.join(imagesDir, `${id}.${ext}`)
      try {
        await fs.access(source)
      } catch {
        continue
      }
      // another request may have started it while this one looked at the disk
      return { state: 'making', done: thumbnailsInProgress.get(thumbnailKey) ?? makeThumbnail(thumbnailKey, source, performance.now(), true) }
    }
    return { state: 'missing' }
  }

  /** A variant still being made is waited for; a missing one is made from its stored image. */
  async function ensureThumbnail(thumbnailKey: string): Promise<void> {
    const variant = await variantState(thumbnailKey)
    if (variant.state === 'making') await variant.done
  }

  async function saveVerified(input: Buffer): Promise<StoredImage> {
    const { bytes, mime, width, height, imageKey, thumbnailKey } = await prepareImage(input)
    const id = imageKey.slice(0, 32)
    // durable before the page may be reported completed (temp + fsync + rename + dir fsync)
    await writeFileAtomic(path.join(imagesDir, imageKey), bytes)
    const thumbnail = makeVariants(id, path.join(imagesDir, imageKey), performance.now())
    return { imageKey, thumbnailKey, mime, width, height, thumbnail }
  }

  return {
    dataDir,

    saveImage: saveVerified,

    async variantReady(key: string) {
      if (!IMAGE_KEY_RE.test(key) || !isVariantKey(key)) return 'missing'
      return (await variantState(key)).state
    },

    async resolveImage(key: string) {
      if (!IMAGE_KEY_RE.test(key)) return null
      if (isVariantKey(key)) await ensureThumbnail(key)
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
      if (isVariantKey(key)) await ensureThumbnail(key)
      try {
        return await fs.readFile(path.join(imagesDir, key))
      } catch {
        return null
      }
    },

    async saveJson(name, data) {
      await writer.write(name, path.join(dataDir, `${name}.json`), JSON.stringify(data))
    },

    async loadJson(name) {
      try {
        return JSON.parse(await fs.readFile(path.join(dataDir, `${name}.json`), 'utf8'))
      } catch {
        return null
      }
    },

    saveBatch: (id, state, finished = false) => batchFiles.save(id, state, finished),
    loadBatch: id => batchFiles.load(id),
    liveBatchIds: () => batchFiles.liveIds(),
    markFinished: id => batchFiles.markFinished(id),
    finishedBatches: () => batchFiles.finished(),
    deleteBatch: id => batchFiles.remove(id),

    async deleteOlderThan(cutoffMs) {
      return (await sweepImageDir(imagesDir, cutoffMs)).images
    },
  }
}
