import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { BlobScanner, blobOf, readCapped, readJsonWithBlobs } from '../../server/providers/answerReader.js'
import { ResponseTooLargeError } from '../../server/net/safeHttp.js'
import { BufferPool } from '../../server/providers/bufferPool.js'

const KEYS = new Set(['data'])

function streamOf(chunks: Buffer[], onCancel?: () => void): ReadableStream<Uint8Array> {
  let i = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++])
      else controller.close()
    },
    cancel: () => onCancel?.(),
  })
}

/** Splits bytes at pseudo-random points (1–97 bytes apart, so every boundary case is crossed). */
function split(bytes: Buffer, seed: number): Buffer[] {
  const out: Buffer[] = []
  let pos = 0
  let x = seed
  while (pos < bytes.length) {
    x = (x * 1103515245 + 12345) % 2147483648
    const n = 1 + (x % 97)
    out.push(bytes.subarray(pos, pos + n))
    pos += n
  }
  return out
}

describe('answer reader', () => {
  const final = randomBytes(5000)
  const draft = randomBytes(301) // not a multiple of 3: padded base64
  const answer = {
    candidates: [{
      content: {
        parts: [
          { text: 'a "data": "not a key" \\ quoted', thought: true },
          { inlineData: { mimeType: 'image/png', data: draft.toString('base64') }, thought: true },
          { text: 'Here', thoughtSignature: 'c2ln' },
          { inlineData: { mimeType: 'image/png', data: final.toString('base64') } },
        ],
      },
      finishReason: 'STOP',
    }],
    data: 'QUJD', // a top-level key of the same name is decoded too ("ABC")
  }

  it('decodes every "data" string into bytes at any chunk split and leaves the rest of the JSON as it was', async () => {
    // JSON may escape "/" in base64 as "\/"
    const text = JSON.stringify(answer).replace(/(?<="data":"[^"]*)\//g, '\\/')
    expect(text).toContain('\\/')
    // the arena sized from Content-Length, grown from nothing, or grown from a wrong (too small) size
    for (const [seed, contentLength] of [[1, undefined], [2, Buffer.byteLength(text)], [3, 100], [7, Buffer.byteLength(text)], [42, undefined]] as const) {
      const { json, blobs, size } = await readJsonWithBlobs(streamOf(split(Buffer.from(text), seed)), 1e6, KEYS, { contentLength })
      expect(size).toBe(Buffer.byteLength(text))
      const parsed = JSON.parse(json.toString('utf8')) as typeof answer
      const parts = parsed.candidates[0].content.parts
      expect(parts[0].text).toBe(answer.candidates[0].content.parts[0].text)
      expect(parts[2]).toEqual({ text: 'Here', thoughtSignature: 'c2ln' })
      expect(blobOf(parts[1].inlineData?.data, blobs)?.equals(draft)).toBe(true)
      expect(blobOf(parts[3].inlineData?.data, blobs)?.equals(final)).toBe(true)
      expect(blobOf(parsed.data, blobs)?.toString()).toBe('ABC')
      expect(json.length).toBeLessThan(400)
    }
  })

  it('leaves a cut-off answer unparseable', () => {
    const text = JSON.stringify(answer)
    const scanner = new BlobScanner(KEYS)
    scanner.push(Buffer.from(text.slice(0, text.indexOf(final.toString('base64').slice(0, 50)) + 40)))
    expect(() => JSON.parse(scanner.end().json.toString('utf8'))).toThrow(SyntaxError)
  })

  it('cancels the body past the cap instead of reading it to the end', async () => {
    const chunks = Array.from({ length: 100 }, () => Buffer.alloc(1000, 'A'))
    for (const read of [(s: ReadableStream<Uint8Array>) => readCapped(s, 10_500), (s: ReadableStream<Uint8Array>) => readJsonWithBlobs(s, 10_500, KEYS)]) {
      let cancelled = false
      await expect(read(streamOf(chunks, () => { cancelled = true }))).rejects.toBeInstanceOf(ResponseTooLargeError)
      expect(cancelled).toBe(true)
    }
    expect((await readCapped(streamOf(chunks.slice(0, 10)), 10_000)).length).toBe(10_000)
  })

  it('decodes into a pooled buffer (grown ones too) and gives every one back on release, or at once when the read fails', async () => {
    const text = JSON.stringify(answer)
    const pool = new BufferPool({ poison: 0 })
    // sized from Content-Length: one buffer; no length and a tiny first guess: grown (the draft keeps the first)
    for (const contentLength of [Buffer.byteLength(text), undefined, 10]) {
      const { json, blobs, release } = await readJsonWithBlobs(streamOf(split(Buffer.from(text), 5)), 1e6, KEYS, { contentLength, pool })
      const parts = (JSON.parse(json.toString('utf8')) as typeof answer).candidates[0].content.parts
      const image = blobOf(parts[3].inlineData?.data, blobs)!
      expect(image.equals(final)).toBe(true)
      expect(pool.stats().leased).toBeGreaterThan(0)
      release()
      expect(pool.stats().leased).toBe(0)
      // poisoned: the released buffer is the pool's again
      expect(image.every(b => b === 0)).toBe(true)
    }
    expect(pool.stats().reused).toBeGreaterThan(0)
    const big = Array.from({ length: 100 }, (_, i) => Buffer.from(i === 0 ? '{"data":"' : 'QUJD'.repeat(250)))
    await expect(readJsonWithBlobs(streamOf(big), 10_500, KEYS, { pool })).rejects.toBeInstanceOf(ResponseTooLargeError)
    expect(pool.stats().leased).toBe(0)
  })

  it('diverts data URLs under url-like keys and plain base64 under base64 keys; links, other data URLs and short strings stay as they were', async () => {
    const png = randomBytes(3000)
    const relay = {
      choices: [{ message: {
        content: [{ type: 'text', text: 'data: "url" as text' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } }],
        images: [{ image_url: { url: 'https://cdn.example/a.png' } }, { image_url: { url: 'data:image/svg+xml,<svg/>' } }, { image_url: { url: 'dat' } }, { image_url: '' }],
      } }],
      data: [{ b64_json: draft.toString('base64'), url: '/files/x.png' }],
      meta: { data: 'QUJD' }, // under a data-URL-only key, plain base64 is left alone
    }
    // PHP-style encoders escape every "/" as "\/", the media type's too
    const text = JSON.stringify(relay).replace(/\//g, '\\/')
    for (const seed of [1, 2, 3, 11]) {
      const { json, blobs } = await readJsonWithBlobs(streamOf(split(Buffer.from(text), seed)), 1e6, new Set(['b64_json']), { dataUrlKeys: new Set(['url', 'image_url', 'data']) })
      const parsed = JSON.parse(json.toString('utf8')) as typeof relay
      const message = parsed.choices[0].message
      expect(blobOf((message.content[1] as { image_url: { url: string } }).image_url.url, blobs)?.equals(png)).toBe(true)
      expect(blobOf(parsed.data[0].b64_json, blobs)?.equals(draft)).toBe(true)
      // everything else parses back to what was sent
      expect({ ...parsed, choices: [{ message: { ...message, content: [message.content[0]] } }], data: [{ url: parsed.data[0].url }] })
        .toEqual({ ...relay, choices: [{ message: { ...relay.choices[0].message, content: [relay.choices[0].message.content[0]] } }], data: [{ url: '/files/x.png' }] })
      expect(blobs).toHaveLength(2)
    }
  })
})
