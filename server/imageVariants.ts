// Image variants, derived from a stored image and shared by every image store: `<id>.embed.jpg`, the
// compact JPEG the extension embeds in a deck ("embed images"; background mode samples it too), and
// `<id>.thumb.jpg`, the progress window's thumbnail. Made after each page and again on request when
// missing (failed, lost in a restart).
//
// The work is one full decode of the image (2K PNG ~60 ms of a core, 4K ~240 ms, 13–50 MB), on a
// queue with one job per core (at most four). Pages arrive in bursts (the calls of one round answer
// together), after which the event loop is mostly idle: with one job at a time on 2 cores the fifth
// page of a 2K burst waited ~400 ms for its embed JPEG while a core idled (realistic bench: embed p95
// 269 → 164 ms with two; 4K at 10 s latency unchanged, loop stalls still ≤ ~50 ms). After a page the
// embed JPEG comes from the decode and the thumbnail from that JPEG (~5 ms), so each page costs one
// full decode. When a job can start at once as a page is saved, the decode starts from the image's
// bytes still in memory, alongside its write and fsync, so the embed JPEG (which the editor fetches
// on the page's event, in both modes) is ready about when the page completes; otherwise the job waits
// with the stored image's path instead of its bytes (a queue of ~100-byte entries, not of 7–30 MB
// buffers). Variants are written only once the image itself is stored.
import os from 'node:os'
import PQueue from 'p-queue'
import sharp, { type Sharp } from 'sharp'
import { MAX_IMAGE_PIXELS } from './imageCheck.js'

// Every image is decoded once for its variants, so libvips' operation cache only holds memory.
sharp.cache(false)

const imageWork = new PQueue({ concurrency: Math.max(1, Math.min(4, os.availableParallelism())) })

/** The compact JPEG the extension embeds in a deck ("embed images"): ≤ this wide, this quality. */
export const EMBED_VARIANT = { maxWidth: 1600, quality: 85 }

/** `<id>.embed.jpg` and `<id>.thumb.jpg` (made after each page, again on request when missing) are derived from `<id>.png|jpg`. */
export function isVariantKey(key: string): boolean {
  return key.endsWith('.thumb.jpg') || key.endsWith('.embed.jpg')
}

export interface ThumbnailOutcome {
  ok: boolean
  /** from the image being handed over to the variant being stored (includes waiting for a free core) */
  readyMs: number
  /** decode, resize and encode (after a page: of both variants; their writes come after) */
  workMs: number
  /** what was decoded: the image's bytes in memory (the queue was idle) or the stored image */
  from: 'bytes' | 'stored'
  error?: string
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

/** Where a store's variants go: its thumbnail size and how it stores one finished variant. */
export interface VariantTarget {
  thumbnail: { width: number; height: number }
  /** stores one variant (disk: atomic write; S3: PutObject); rejects on failure */
  put(key: string, jpeg: Buffer): Promise<void>
}

/** The jobs started for one saved image. Every promise settles; none rejects. */
export interface VariantJobs {
  embed: Promise<ThumbnailOutcome>
  thumbnail: Promise<ThumbnailOutcome>
  /** once the image's bytes (when they were the source) are no longer read */
  released: Promise<void>
}

/** Whether a job added now would start at once (no job waiting, a core free). */
export function imageWorkerIdle(): boolean {
  return imageWork.size === 0 && imageWork.pending < imageWork.concurrency
}

/**
 * After a page is saved: the embed JPEG of `id`'s image, then the thumbnail from that JPEG. `image`:
 * its bytes (decoded at once when the queue is idle now; never kept waiting in the queue) and
 * `storedAt`, what is decoded otherwise (a file path; a Buffer for a store without local files).
 * `stored` settles when the image itself is stored: nothing is read from `storedAt` or written
 * before it resolves, and when it rejects no variant is written. Only the decode and encode hold a
 * place in the queue; the variants are stored after it, side by side.
 */
export function makeVariants(id: string, image: { bytes: Buffer; storedAt: string | Buffer }, stored: Promise<unknown>, target: VariantTarget): VariantJobs {
  const queuedAt = performance.now()
  const storedAt = image.storedAt
  // only these two are captured below, so a queued job never keeps the bytes it does not decode
  let source: Buffer | null = imageWorkerIdle() ? image.bytes : null
  const from: ThumbnailOutcome['from'] = source ? 'bytes' : 'stored'
  const wroteImage = stored.then(() => true, () => false)
  let workMs = 0
  const outcome = (ok: boolean, err?: unknown): ThumbnailOutcome => ({
    ok, from, readyMs: performance.now() - queuedAt, workMs,
    ...(err !== undefined ? { error: err instanceof Error ? err.message : String(err) } : {}),
  })
  const encoded = imageWork.add(async () => {
    const started = performance.now()
    try {
      // from the bytes: decoded while the image is written; from the stored image: read once it is stored
      let embed: Buffer | null = null
      let embedError: unknown
      try {
        if (source) embed = await embedJpeg(source).toBuffer()
        else if (await wroteImage) embed = await embedJpeg(storedAt).toBuffer()
        else return null
      } catch (err) {
        embedError = err
      }
      // the thumbnail from the JPEG; when that failed, from the stored image (most likely failing alike)
      const thumbFrom = embed ?? ((await wroteImage) ? storedAt : null)
      const thumb = thumbFrom ? await thumbnailJpeg(thumbFrom, target.thumbnail).toBuffer().then(b => ({ b }), (err: unknown) => ({ err })) : { err: embedError }
      return { embed, embedError, thumb }
    } finally {
      source = null
      workMs = performance.now() - started
    }
  }) as Promise<{ embed: Buffer | null; embedError: unknown; thumb: { b: Buffer } | { err: unknown } } | null>
  const done = Promise.all([encoded.catch((err: unknown) => ({ failed: err })), wroteImage])
  const embed = done.then(async ([e, ok]): Promise<ThumbnailOutcome> => {
    if (!ok) return outcome(false, 'the image was not stored')
    if (!e || 'failed' in e) return outcome(false, e ? e.failed : 'no image')
    if (!e.embed) return outcome(false, e.embedError)
    return target.put(`${id}.embed.jpg`, e.embed).then(() => outcome(true), (err: unknown) => outcome(false, err))
  })
  const thumbnail = done.then(async ([e, ok]): Promise<ThumbnailOutcome> => {
    if (!ok) return outcome(false, 'the image was not stored')
    if (!e || 'failed' in e) return outcome(false, e ? e.failed : 'no image')
    if ('err' in e.thumb) return outcome(false, e.thumb.err)
    return target.put(`${id}.thumb.jpg`, e.thumb.b).then(() => outcome(true), (err: unknown) => outcome(false, err))
  })
  // the bytes are read only by the job: once it has run (or when they were never its source), they are free
  const released = (from === 'bytes' || typeof storedAt !== 'string') ? encoded.then(() => undefined, () => undefined) : Promise.resolve()
  return { embed, thumbnail: Promise.all([embed, thumbnail]).then(([, t]) => t), released }
}

/**
 * One variant (`<id>.embed.jpg` or `<id>.thumb.jpg`) asked for while missing, from the stored image
 * (`source`: path or bytes), ahead of the variants made after each page. Never rejects.
 */
export function makeVariant(variantKey: string, source: string | Buffer, target: VariantTarget): Promise<ThumbnailOutcome> {
  const queuedAt = performance.now()
  return imageWork.add(async (): Promise<ThumbnailOutcome> => {
    const started = performance.now()
    try {
      const jpeg = await (variantKey.endsWith('.embed.jpg') ? embedJpeg(source) : thumbnailJpeg(source, target.thumbnail)).toBuffer()
      await target.put(variantKey, jpeg)
      return { ok: true, from: 'stored', readyMs: performance.now() - queuedAt, workMs: performance.now() - started }
    } catch (err) {
      return { ok: false, from: 'stored', readyMs: performance.now() - queuedAt, workMs: performance.now() - started, error: err instanceof Error ? err.message : String(err) }
    }
  }, { priority: 1 }) as Promise<ThumbnailOutcome>
}
