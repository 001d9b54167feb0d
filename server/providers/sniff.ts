// Image type from magic bytes. Upstream mime labels are not trusted: Gemini has returned JPEG bytes
// labelled image/png. WebP is converted to PNG (PPTX export mislabels WebP backgrounds).
import sharp from 'sharp'
import { ProviderError, type GeneratedImage } from './types.js'

export type SniffedMime = 'image/png' | 'image/jpeg' | 'image/webp'

export function sniffImageMime(bytes: Uint8Array): SniffedMime | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png'
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg'
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'image/webp'
  return null
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end))
}

/** Bytes from upstream → a PNG or JPEG we can store; anything else is a garbled (retryable) answer. */
export async function toGeneratedImage(bytes: Buffer, source: string): Promise<GeneratedImage> {
  const mime = sniffImageMime(bytes)
  if (mime === 'image/png' || mime === 'image/jpeg') return { bytes, mime }
  if (mime === 'image/webp') {
    try {
      // same pixel cap as storage (MAX_IMAGE_PIXELS, 40 MP): a WebP bomb fails instead of decoding
      return { bytes: await sharp(bytes, { limitInputPixels: 40_000_000 }).png().toBuffer(), mime: 'image/png' }
    }
    catch (err) {
      throw new ProviderError('retryable', 'invalid_image', `${source} returned a WebP image that could not be decoded`, { cause: err })
    }
  }
  throw new ProviderError('retryable', 'invalid_image', `${source} returned data that is not a PNG, JPEG or WebP image`)
}

// A template cover is the same Buffer for every page of every batch using it: encode it once.
const base64Cache = new WeakMap<Buffer, string>()
export function base64Of(bytes: Buffer): string {
  let encoded = base64Cache.get(bytes)
  if (encoded === undefined) {
    encoded = bytes.toString('base64')
    base64Cache.set(bytes, encoded)
  }
  return encoded
}

/** `data:image/png;base64,....` → bytes, or null when it is not a base64 data URL. */
export function decodeDataUrl(url: string): Buffer | null {
  const match = /^data:[^;,]*(?:;[^;,]*)*;base64,/i.exec(url)
  if (!match) return null
  return Buffer.from(url.slice(match[0].length).replace(/\s+/g, ''), 'base64')
}
