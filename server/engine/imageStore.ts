// Image store seam: each image written once (verified first), read back, its thumbnail made off the
// critical path, existence checks for the duplicate cache, and served at /api/v1/images/{key}. The
// one-process set-up is DATA_DIR/images (server/storage.ts, adapted by diskImageStore); with
// S3_BUCKET set it is the bucket (s3ImageStore.ts). Which image belongs to which page is the state
// store's record.
import type { Readable } from 'node:stream'
import type { ImageMime } from '../providers/types.js'
import type { Storage, StoredImage } from '../storage.js'
import type { ReadinessCheck } from '../probes.js'

/** The store refused or could not be reached (after the SDK's own retries); the page fails storage_unavailable. */
export class ImageStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ImageStoreError'
  }
}

/** A stored image opened for serving: a local file (sent with ranges) or a body streamed from the store. */
export type OpenedImage =
  | { mime: ImageMime; size: number; file: string }
  | { mime: ImageMime; size: number; stream: Readable }

export interface ImageStore {
  /**
   * Verifies (structurally) and stores the image once; resolves only when the store has it durably
   * (fsync / PutObject answered 200), so a page is never reported completed before. `thumbnail`
   * settles when its thumbnail is made. Throws InvalidImageError, or the store's error.
   */
  saveImage(bytes: Buffer): Promise<StoredImage>
  /** Type and size of a stored image (and its file when on local disk), or null for anything not stored. A variant (.thumb/.embed) is made first when missing. */
  resolveImage(key: string): Promise<{ file?: string; mime: ImageMime; size: number } | null>
  readImage(key: string): Promise<Buffer | null>
  /**
   * For a thumbnail or embed variant key, never waiting: 'ready' (stored), 'making' (being made —
   * started now when it was missing and its image is stored) or 'missing' (no such image).
   */
  variantReady(key: string): Promise<'ready' | 'making' | 'missing'>
  /**
   * Retention (IMAGE_RETENTION_HOURS): deletes every image stored before `cutoffMs` (ms since the
   * epoch) together with its variants (`<id>.thumb.jpg`, `<id>.embed.jpg`, which go by their
   * original's age); returns how many images went. Run periodically by the retention sweep of every
   * process, so it must tolerate another process deleting the same keys at the same time. The age
   * is the image's own, not a batch's: the duplicate cache can give one image to several batches.
   * Disk: file mtimes (server/imageSweep.ts). S3: a listing by LastModified and DeleteObjects, or a
   * bucket lifecycle rule (Expiration) with the same age, returning 0.
   */
  deleteOlderThan(cutoffMs: number): Promise<number>
  /** The image for serving without reading it whole into memory, or null when not stored. */
  openImage(key: string): Promise<OpenedImage | null>
  /** S3_PUBLIC_BASE_URL set: the public (CDN) URL clients are redirected to; null: the proxy serves it */
  publicUrl(key: string): string | null
  /** /readyz checks of the store's own service (S3: HeadBucket); none for DATA_DIR (checked apart) */
  readiness: ReadinessCheck[]
}

/** The one-process image store: DATA_DIR/images through server/storage.ts. */
export function diskImageStore(storage: Storage): ImageStore {
  return {
    saveImage: bytes => storage.saveImage(bytes),
    resolveImage: key => storage.resolveImage(key),
    readImage: key => storage.readImage(key),
    variantReady: key => storage.variantReady(key),
    deleteOlderThan: cutoffMs => storage.deleteOlderThan(cutoffMs),
    openImage: key => storage.resolveImage(key),
    publicUrl: () => null,
    readiness: [],
  }
}
