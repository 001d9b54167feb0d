// What every image store does before storing an upstream image: sniff its type, turn WebP into PNG,
// check its structure (PNG: every chunk's CRC, IHDR … IDAT … IEND; JPEG: the marker segments from SOI
// to EOI), which rejects truncated and corrupted images without decoding them, refuse decompression
// bombs from the header, and pick a fresh random key.
//
// The CRCs of a 4K PNG cover ~30 MB (~13 ms of CPU in one call): prepareImage checks them in slices of
// CRC_SLICE_BYTES with a turn of the event loop between, so five 4K answers verified together do not
// hold other pages' events back.
import { randomBytes } from 'node:crypto'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { crc32 } from 'node:zlib'
import sharp from 'sharp'
import { ProviderError, type ImageMime } from './providers/types.js'
import { sniffImageMime } from './providers/sniff.js'

/**
 * Largest image decoded (pixels): a 4K 21:9 slide is 6336×2688 ≈ 17 MP; 40 MP leaves room. A PNG
 * "bomb" (tiny file, huge declared size) is refused from its header instead of taking GBs to decode.
 */
export const MAX_IMAGE_PIXELS = 40_000_000

/** Bytes of CRC work between two turns of the event loop (~1 ms of CPU) */
export const CRC_SLICE_BYTES = 2 * 1024 * 1024

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
 * CRC, one run of IDAT chunks, IEND. Bytes after IEND are ignored (decoders ignore them too). Throws
 * InvalidImageError. Synchronous: for a large image use verifyPngSliced.
 */
export function verifyPng(bytes: Buffer): { width: number; height: number } {
  const walk = walkPng(bytes, Infinity)
  for (;;) {
    const step = walk.next()
    if (step.done) return step.value
  }
}

/** verifyPng with a turn of the event loop after every `sliceBytes` of CRC work. */
export async function verifyPngSliced(bytes: Buffer, sliceBytes = CRC_SLICE_BYTES): Promise<{ width: number; height: number }> {
  const walk = walkPng(bytes, sliceBytes)
  for (;;) {
    const step = walk.next()
    if (step.done) return step.value
    await nextTurn()
  }
}

/** The walk behind verifyPng: yields after every `sliceBytes` of CRC work (a large chunk is summed in parts). */
function* walkPng(bytes: Buffer, sliceBytes: number): Generator<void, { width: number; height: number }> {
  const bad = (why: string) => new InvalidImageError(`The PNG from the model is truncated or corrupt (${why})`)
  if (bytes.length < 8 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) throw bad('bad signature')
  let pos = 8
  let width = 0
  let height = 0
  let idat: 'none' | 'in' | 'after' = 'none'
  let sinceYield = 0
  for (let index = 0; ; index++) {
    if (pos + 12 > bytes.length) throw bad('ends before IEND')
    const length = bytes.readUInt32BE(pos)
    const type = bytes.toString('latin1', pos + 4, pos + 8)
    if (length > 0x7fffffff || pos + 12 + length > bytes.length) throw bad(`${/^[A-Za-z]{4}$/.test(type) ? type : 'a'} chunk runs past the end`)
    if (!/^[A-Za-z]{4}$/.test(type)) throw bad('invalid chunk type')
    // the CRC covers type and data
    let crc = 0
    for (let at = pos + 4, end = pos + 8 + length; at < end;) {
      const upTo = Math.min(end, at + sliceBytes - sinceYield)
      crc = crc32(bytes.subarray(at, upTo), crc)
      sinceYield += upTo - at
      at = upTo
      if (sinceYield >= sliceBytes) {
        sinceYield = 0
        yield
      }
    }
    if (crc !== bytes.readUInt32BE(pos + 8 + length)) throw bad(`CRC mismatch in ${type}`)
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
 * Sniffs, converts WebP to PNG, verifies the structure (verifyPngSliced / verifyJpeg) and refuses images
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
  const { width, height } = mime === 'image/png' ? await verifyPngSliced(bytes) : verifyJpeg(bytes)
  // decompression bombs fail here, from the header alone, before any decode
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new ProviderError('fatal', 'image_too_large', `The image from the model is ${width}×${height} pixels, more than the ${Math.round(MAX_IMAGE_PIXELS / 1e6)} megapixels the proxy decodes`)
  }
  const id = randomBytes(16).toString('hex')
  return { bytes, mime, width, height, imageKey: `${id}.${mime === 'image/png' ? 'png' : 'jpg'}`, thumbnailKey: `${id}.thumb.jpg` }
}
