// Everything the proxy keeps on disk under DATA_DIR:
//   images/<key>.png|jpg, <key>.embed.jpg, <key>.thumb.jpg — each written once, never rewritten
//   batches/<batch_id>.json | .done.json              — batch state, atomically replaced on change (batchFiles.ts)
//   cache.json                                         — duplicate-request cache (request hash → image)
// Keys are 128 random bits; only names matching IMAGE_KEY_RE are ever turned into a path.
//
// Saving an image is on the page's critical path, so it does only what the page needs: a structural
// check of the bytes (server/imageCheck.ts), which rejects truncated and corrupted images, then the
// durable write. Its variants (embed JPEG, thumbnail: server/imageVariants.ts) need a full decode and
// are made alongside and after, off the critical path; a request for one still being made waits for
// it, and a missing one (failed, or lost in a restart) is made on request from the stored image.
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { ImageMime } from './providers/types.js'
import { coalescingWriter, createBatchFiles } from './batchFiles.js'
import type { StatePersistence } from './engine/stateStore.js'
import { prepareImage } from './imageCheck.js'
import { isVariantKey, makeVariant, makeVariants, type ThumbnailOutcome, type VariantTarget } from './imageVariants.js'
import { sweepImageDir } from './imageSweep.js'

export type { ThumbnailOutcome }

/**
 * How long a state change waits for others to join its file's write: none (group commit — the changes
 * of one turn of the event loop, e.g. the pages of one upstream round, go in one write, and changes
 * made while it runs go in the next). A fixed delay here was on every page's way to `completed`.
 */
const STATE_WRITE_DELAY_MS = 0

export const IMAGE_KEY_RE = /^[a-f0-9]{32}(\.thumb|\.embed)?\.(png|jpg)$/

export interface StoredImage {
  imageKey: string
  thumbnailKey: string
  mime: ImageMime
  width: number
  height: number
  /** settles (never rejects) once the variants (embed JPEG, thumbnail) are stored or have failed; a failure is not the page's */
  thumbnail: Promise<ThumbnailOutcome>
  /**
   * The store reads the bytes saveImage() was given until this settles (never rejects): the variants
   * may decode them alongside and after the write. Absent: until saveImage() resolved.
   */
  inputHeld?: Promise<unknown>
}

/**
 * Writes a file atomically and durably: temp file in the same directory, fsync, rename over the
 * target, fsync of the directory (so the rename itself survives a crash or power loss). A reader or
 * a restart sees the old content or the new one, never a part. Rejects (ENOSPC, EROFS, …) leaving
 * no temp file behind. `syncDir: false` skips the directory fsync, for a file that is made again
 * when a crash loses it (the file's own fsync stays: a rename that survives never names lost data).
 */
export async function writeFileAtomic(file: string, data: string | Buffer, opts: { syncDir?: boolean } = {}): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const handle = await fs.open(tmp, 'wx')
    try {
      // one write call for the whole buffer (FileHandle.writeFile issues one per 512 KB: ~60 round trips
      // through the thread pool, ~12 ms of the event loop, for a 4K image), repeated only if partial
      const bytes = typeof data === 'string' ? Buffer.from(data) : data
      for (let at = 0; at < bytes.length;) at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.rename(tmp, file)
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined)
    throw err
  }
  if (opts.syncDir !== false) await syncDirGrouped(path.dirname(file))
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
  for (const dir of [imagesDir, batchesDir]) {
    await fs.mkdir(dir, { recursive: true }).catch(async (err: NodeJS.ErrnoException) => {
      // Node's recursive mkdir reports ENOENT on a read-only file system: ask again without it for the cause
      const cause = await fs.mkdir(dir).then(() => null, (e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? null : e.code ?? e.message))
      if (cause === null) return
      throw new Error(`DATA_DIR (${dataDir}) is not writable (${cause ?? err.code}): ${path.basename(dir)}/ cannot be created there`)
    })
  }

  // state files: one write at a time per file, only the newest of several (server/batchFiles.ts)
  const writer = coalescingWriter(STATE_WRITE_DELAY_MS, writeFileAtomic)
  const batchFiles = createBatchFiles(batchesDir, writer, opts.onDamaged)

  /** variants being made, by key: a request for one waits instead of missing it */
  const thumbnailsInProgress = new Map<string, Promise<ThumbnailOutcome>>()

  // a variant lost in a crash is made again on request: no directory fsync for it
  const variants: VariantTarget = {
    thumbnail: opts.thumbnail,
    put: (key, jpeg) => writeFileAtomic(path.join(imagesDir, key), jpeg, { syncDir: false }),
  }

  /** Registers a variant being made, so requests for it wait (embed) or are answered not_ready (thumbnail). */
  const track = (key: string, running: Promise<ThumbnailOutcome>) => {
    thumbnailsInProgress.set(key, running)
    void running.finally(() => {
      if (thumbnailsInProgress.get(key) === running) thumbnailsInProgress.delete(key)
    })
  }

  /** A missing variant asked for: made from the stored image's file, ahead of those made after each page. */
  const makeThumbnail = (variantKey: string, source: string): Promise<ThumbnailOutcome> => {
    const running = makeVariant(variantKey, source, variants)
    track(variantKey, running)
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
      return { state: 'making', done: thumbnailsInProgress.get(thumbnailKey) ?? makeThumbnail(thumbnailKey, source) }
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
    const file = path.join(imagesDir, imageKey)
    // durable before the page may be reported completed (temp + fsync + rename + dir fsync)
    const written = writeFileAtomic(file, bytes)
    // started with the write: from the bytes when a core is free now, else from the file once written
    const jobs = makeVariants(id, { bytes, storedAt: file }, written, variants)
    track(`${id}.embed.jpg`, jobs.embed)
    track(thumbnailKey, jobs.thumbnail)
    // the page completes now: waiting for its embed JPEG too delayed 4K pages (a decode ~240 ms)
    // without showing the slide any sooner (the editor fetches it at the event and waits for it)
    await written
    return { imageKey, thumbnailKey, mime, width, height, thumbnail: jobs.thumbnail, inputHeld: jobs.released }
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
