// Reading upstream answers: a byte cap on every body (MAX_UPSTREAM_RESPONSE_MB), and a streaming reader
// for JSON answers that carry an image as a base64 string (Gemini's inlineData.data).
//
// Why stream: a 4K answer is a ~42 MB JSON string. Read whole, it is held as bytes, then as a string,
// then parsed (another 40 MB string), then decoded — several copies, and ~200–400 ms of one blocking
// JSON.parse + base64 decode on the event loop. Here the body is scanned chunk by chunk as it arrives
// (each chunk ≤ ~64 KB, well under a millisecond of work): the base64 of every "data" string is decoded
// straight into bytes and replaced in the JSON by a short placeholder ("#blob:<n>"), so what is left to
// parse is a few KB. No worker thread is needed: the work is already split into small slices between
// network reads, and the copy that costs most (the 42 MB string) is never made.
//
// Our own code rather than a library: streaming JSON parsers on npm (stream-json, @streamparser/json)
// build every string value as a JS string — exactly the 40 MB copy this avoids — and none decodes
// base64 on the way. The scanner only needs to track strings, escapes and keys (~100 lines).

import { ResponseTooLargeError } from '../net/safeHttp.js'
import { noteReading } from '../memory.js'
import type { BufferPool, Lease } from './bufferPool.js'

// the cap's error is the one the SSRF-filtered download client throws (one mapping to image_too_large)
export { ResponseTooLargeError }

/** Placeholder that replaces a diverted base64 string: `#` is not a base64 character, so no real value looks like it. */
export const BLOB_PREFIX = '#blob:'

/** blobs[n] for a "#blob:<n>" value, or undefined for any other string. */
export function blobOf(value: string | undefined, blobs: readonly Buffer[]): Buffer | undefined {
  if (!value?.startsWith(BLOB_PREFIX)) return undefined
  return blobs[Number(value.slice(BLOB_PREFIX.length))]
}

/**
 * The whole body, at most `maxBytes`. Beyond that the body stream is cancelled (undici then closes the
 * connection, so the rest is never received) and ResponseTooLargeError is thrown.
 */
export async function readCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Buffer<ArrayBuffer>> {
  const chunks: Uint8Array[] = []
  const size = await forEachChunkCapped(body, maxBytes, chunk => { chunks.push(chunk) })
  return Buffer.concat(chunks, size)
}

/**
 * Reads `body` to its end, handing each chunk to `onChunk`; returns the bytes read (0 for no body).
 * Past `maxBytes` it cancels the body (the connection closes, the rest is never read) and throws
 * ResponseTooLargeError.
 */
async function forEachChunkCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number, onChunk: (chunk: Uint8Array) => void): Promise<number> {
  if (!body) return 0
  let size = 0
  const reader = body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return size
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => {})
      throw new ResponseTooLargeError(maxBytes)
    }
    onChunk(value)
  }
}

export interface JsonWithBlobs {
  /** the answer's JSON with every diverted string replaced by "#blob:<n>" (a few KB for an image answer) */
  json: Buffer<ArrayBuffer>
  /** decoded bytes of the diverted strings, in order of appearance */
  blobs: Buffer[]
  /** bytes received */
  size: number
  /**
   * Hands the buffers the blobs are views of back to the pool (when one was given): call it once
   * nothing reads any blob any more; calling it again does nothing; not calling it costs only the reuse.
   */
  release: () => void
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const MAX_KEY = 64

export interface ReadJsonOptions {
  /** the Content-Length header, when sent (sizes the buffer the blobs are decoded into) */
  contentLength?: number
  /** where that buffer comes from (a fresh one without) */
  pool?: BufferPool
  /** keys whose values are diverted only when they are base64 data URLs (see BlobScanner) */
  dataUrlKeys?: ReadonlySet<string>
}

/**
 * Reads a JSON body (at most `maxBytes`, see readCapped), decoding the base64 string value of every key
 * in `blobKeys` (plain base64 or a base64 data URL; and data URLs under `dataUrlKeys`) as it arrives
 * (escapes `\/` and whitespace tolerated). The JSON itself is not validated
 * here: JSON.parse of `json` reports a truncated or garbled answer. `contentLength` (the header, when
 * sent) sizes the one buffer all blobs are decoded into, so nothing is copied or grown; with a `pool`
 * that buffer is a reused one (see JsonWithBlobs.release). On an error the buffers are released here.
 */
export async function readJsonWithBlobs(body: ReadableStream<Uint8Array> | null, maxBytes: number, blobKeys: ReadonlySet<string>, opts: ReadJsonOptions = {}): Promise<JsonWithBlobs> {
  const { contentLength, pool, dataUrlKeys } = opts
  const scanner = new BlobScanner(blobKeys, contentLength !== undefined && contentLength <= maxBytes ? contentLength : undefined, pool, dataUrlKeys)
  let size = 0
  if (body) {
    noteReading(1)
    try {
      size = await forEachChunkCapped(body, maxBytes, value => scanner.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength)))
    }
    catch (err) {
      // nothing has seen the blobs yet
      scanner.release()
      throw err
    }
    finally {
      noteReading(-1)
    }
  }
  return { ...scanner.end(), size, release: () => scanner.release() }
}

type State = 'value' | 'string' | 'sniff' | 'blob'

/** how much of a candidate string is looked at to find a data URL's `;base64,` */
const MAX_SNIFF = 256
const DATA_URL = /^data:[^,"]*;base64,$/i

/** The streaming scanner behind readJsonWithBlobs (exported for tests with arbitrary chunk splits). */
export class BlobScanner {
  private state: State = 'value'
  private escaped = false
  private out: Buffer[] = []
  private blobs: Buffer[] = []
  /** the string being read, when it is short enough to be a key */
  private key: number[] | null = []
  /** the last string closed, until something other than whitespace or ':' follows it */
  private lastString: string | null = null
  /** the key whose value comes next */
  private pendingKey: string | null = null
  // blob state: every blob is decoded straight into one arena (Buffer.write, no intermediate buffers),
  // and handed out as a view of it — no concatenation, no copy
  private arena: Buffer | null = null
  private used = 0
  private blobStart = 0
  private carry = ''
  /** the pooled buffers the arenas are (blobs are views of them) */
  private leases: Lease[] = []
  /** sniff state: the first bytes of a candidate string (raw, escapes included) and its key */
  private sniffed: number[] = []
  private sniffKey = ''

  /**
   * blobKeys: keys whose string values are base64, or a base64 data URL (`data:<type>;base64,…`);
   * dataUrlKeys: keys whose string values are diverted only when they are a base64 data URL (any other
   * value, e.g. a link, stays in the JSON as it was). expectedBytes: the body's size when known
   * (Content-Length): the arena is allocated once, at 3/4 of it. pool: where arenas come from (else
   * fresh buffers); release() hands them back.
   */
  constructor(private readonly blobKeys: ReadonlySet<string>, private readonly expectedBytes?: number, private readonly pool?: BufferPool, private readonly dataUrlKeys: ReadonlySet<string> = new Set()) {}

  /** Gives the arenas back to the pool: no blob may be read afterwards. Idempotent. */
  release(): void {
    const leases = this.leases
    this.leases = []
    for (const lease of leases) lease.release()
  }

  push(chunk: Buffer): void {
    let pos = 0
    let emitFrom = 0
    while (pos < chunk.length) {
      if (this.state === 'blob') {
        const end = chunk.indexOf(QUOTE, pos)
        // a quote right after an odd backslash cannot occur in base64 (its escape would be \"), so the first quote ends it
        const stop = end < 0 ? chunk.length : end
        this.decode(chunk.toString('latin1', pos, stop), hasEscapeOrSpace(chunk.subarray(pos, stop)))
        if (end < 0) {
          pos = chunk.length
          emitFrom = pos
          break
        }
        this.finishBlob()
        this.state = 'value'
        pos = end // the closing quote is emitted with the rest
        emitFrom = end
        pos++
        continue
      }
      if (this.state === 'sniff') {
        const b = chunk[pos]
        if (b === QUOTE && !this.escaped) {
          // the value ended before it could be a blob: it stays as it was; the string state takes its closing quote
          this.keepSniffed()
          emitFrom = pos
          continue
        }
        this.sniffed.push(b)
        this.escaped = !this.escaped && b === BACKSLASH
        pos++
        const verdict = this.sniffVerdict()
        if (verdict === 'keep') {
          this.keepSniffed()
          emitFrom = pos
        }
        else if (verdict !== 'wait') {
          this.startBlob(verdict)
          emitFrom = pos
        }
        continue
      }
      if (this.state === 'string') {
        if (this.escaped) {
          this.escaped = false
          this.key?.push(chunk[pos])
          pos++
          continue
        }
        const b = chunk[pos]
        if (b === QUOTE) {
          this.lastString = this.key ? Buffer.from(this.key).toString('utf8') : null
          this.state = 'value'
        }
        else if (b === BACKSLASH) this.escaped = true
        else if (this.key) {
          this.key.push(b)
          if (this.key.length > MAX_KEY) this.key = null
        }
        pos++
        // skip ahead over a long string's body
        if (this.state === 'string' && !this.escaped && this.key === null) {
          const q = chunk.indexOf(QUOTE, pos)
          const s = chunk.indexOf(BACKSLASH, pos)
          const next = Math.min(q < 0 ? chunk.length : q, s < 0 ? chunk.length : s)
          pos = next
        }
        continue
      }
      // outside strings
      const b = chunk[pos]
      if (b === QUOTE) {
        const key = this.pendingKey
        this.pendingKey = null
        this.lastString = null
        if (key !== null && (this.blobKeys.has(key) || this.dataUrlKeys.has(key))) {
          // emit up to and including the opening quote; its first bytes decide whether it is a blob
          this.out.push(Buffer.from(chunk.subarray(emitFrom, pos + 1)))
          this.state = 'sniff'
          this.sniffKey = key
          this.sniffed = []
          this.escaped = false
          pos++
          emitFrom = pos
          continue
        }
        this.state = 'string'
        this.key = []
      }
      else if (b === COLON) {
        this.pendingKey = this.lastString
        this.lastString = null
      }
      else if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) {
        this.lastString = null
        this.pendingKey = null
      }
      pos++
    }
    if (this.state !== 'blob' && this.state !== 'sniff' && emitFrom < chunk.length) this.out.push(Buffer.from(chunk.subarray(emitFrom)))
  }

  /**
   * From the first bytes of a candidate value: 'wait' (too few yet), 'keep' (not a blob), or the index
   * in `sniffed` where its base64 starts (after a data URL's `;base64,`, else 0).
   */
  private sniffVerdict(): 'wait' | 'keep' | number {
    // JSON may escape the "/" of the media type as "\/"
    const text = Buffer.from(this.sniffed).toString('latin1').replace(/\\\//g, '/')
    const plain = this.blobKeys.has(this.sniffKey)
    if (!text.startsWith('data:')) {
      if ('data:'.startsWith(text)) return 'wait'
      return plain ? 0 : 'keep'
    }
    const comma = this.sniffed.indexOf(0x2c)
    if (comma < 0) return this.sniffed.length >= MAX_SNIFF ? 'keep' : 'wait'
    return DATA_URL.test(text.slice(0, text.indexOf(',') + 1)) ? comma + 1 : 'keep'
  }

  /** A sniffed value is an ordinary string: its bytes so far go out as they were; the string state reads on. */
  private keepSniffed(): void {
    this.out.push(Buffer.from(this.sniffed))
    this.sniffed = []
    this.state = 'string'
    this.key = null
  }

  /** A sniffed value is a blob whose base64 starts at sniffed[from]: the placeholder goes out instead. */
  private startBlob(from: number): void {
    this.out.push(Buffer.from(`${BLOB_PREFIX}${this.blobs.length}`, 'latin1'))
    this.state = 'blob'
    this.escaped = false
    this.blobStart = this.used
    this.carry = ''
    const base64 = Buffer.from(this.sniffed.slice(from))
    this.sniffed = []
    this.decode(base64.toString('latin1'), hasEscapeOrSpace(base64))
  }

  end(): { json: Buffer<ArrayBuffer>; blobs: Buffer[] } {
    // a body cut off inside a blob: its JSON is left unterminated, which JSON.parse reports
    if (this.state === 'sniff') this.keepSniffed()
    const json = Buffer.concat(this.out)
    this.out = []
    return { json, blobs: this.blobs }
  }

  private decode(text: string, special: boolean): void {
    if (text.length === 0) return
    let s = this.carry + text
    // escaped slashes and line breaks inside the string are rare: found by memchr on the bytes
    if (special || this.carry.includes('\\')) s = this.unescape(s)
    // a backslash at the very end escapes the next chunk's first character
    const tail = s.endsWith('\\') ? '\\' : ''
    if (tail) s = s.slice(0, -1)
    const usable = s.length - (s.length % 4)
    if (usable > 0) this.write(usable === s.length ? s : s.slice(0, usable))
    this.carry = s.slice(usable) + tail
  }

  /** Decodes base64 into the arena, growing it (a copy of the current blob only) when it is full. */
  private write(base64: string): void {
    const need = Math.ceil(base64.length / 4) * 3
    if (!this.arena || this.used + need > this.arena.length) {
      const hinted = this.arena ? 0 : Math.ceil(((this.expectedBytes ?? 0) * 3) / 4)
      const size = Math.max(hinted, need + (this.used - this.blobStart), this.arena ? this.arena.length * 2 : 4 * 1024 * 1024)
      let next: Buffer
      if (this.pool) {
        const lease = this.pool.acquire(size)
        this.leases.push(lease)
        next = lease.buffer
      }
      else next = Buffer.allocUnsafe(size)
      // earlier blobs keep their views of the old arena; only the blob being read moves
      if (this.arena) this.arena.copy(next, 0, this.blobStart, this.used)
      this.used -= this.blobStart
      this.blobStart = 0
      this.arena = next
    }
    this.used += this.arena.write(base64, this.used, 'base64')
  }

  /** Removes JSON escapes (`\/` → `/`, `\n` etc. → nothing) and whitespace; keeps a trailing lone backslash. */
  private unescape(text: string): string {
    return text.replace(/\\\//g, '/').replace(/\s|\\[nrt]/g, '')
  }

  private finishBlob(): void {
    // a final partial quad (unpadded base64) decodes as Node does for the whole string
    const carry = this.carry.replace(/\\$/, '')
    if (carry) this.write(carry)
    this.blobs.push(this.arena ? this.arena.subarray(this.blobStart, this.used) : Buffer.alloc(0))
    this.blobStart = this.used
    this.carry = ''
  }
}

const SPECIAL = [0x5c, 0x0a, 0x0d, 0x20, 0x09] // backslash, line feed, carriage return, space, tab
function hasEscapeOrSpace(bytes: Buffer): boolean {
  return SPECIAL.some(b => bytes.indexOf(b) >= 0)
}
