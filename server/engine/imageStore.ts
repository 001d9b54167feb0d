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
}
