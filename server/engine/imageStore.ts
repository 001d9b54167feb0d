// Image store seam: each image written once (verified first), read back, its thumbnail made off the
// critical path, existence checks for the duplicate cache. The one-process set-up is DATA_DIR/images
// (server/storage.ts); the record of which image belongs to which page is the state store's.
import type { ImageMime } from '../providers/types.js'
import type { StoredImage } from '../storage.js'

export interface ImageStore {
  /** Verifies (structurally) and stores the image once; `thumbnail` settles when its thumbnail is made. Throws InvalidImageError. */
  saveImage(bytes: Buffer): Promise<StoredImage>
  /** Type and size of a stored image (and its file when on local disk), or null for anything not stored. */
  resolveImage(key: string): Promise<{ file: string; mime: ImageMime; size: number } | null>
  readImage(key: string): Promise<Buffer | null>
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
}
