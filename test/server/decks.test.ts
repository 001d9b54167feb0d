// POST /api/v1/decks and GET …/batches/{id}/pptx against a real server on an ephemeral port.
import { utimes } from 'node:fs/promises'
import path from 'node:path'
import JSZip from 'jszip'
import PptxGenJS from 'pptxgenjs'
import { parse } from 'pptxtojson/dist/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NANO_BANANA_TEMPLATES } from '../../plugin/configs/nanoBananaTemplates.js'
import { readDeck } from '../../server/pptx/read.js'
import { ProviderError } from '../../server/providers/types.js'
import { fakePublicDir, getJson, okImage, postJson, scriptedProvider, startTestServer, tempDir, waitUntil, type TestServer } from './helpers.js'
import { fixture, makeDeck } from './pptx/helpers.js'

const TEMPLATE = NANO_BANANA_TEMPLATES[0].id

function form(file: Buffer | null, fields: Record<string, string> = {}, name = 'deck.pptx'): FormData {
  const f = new FormData()
  for (const [k, v] of Object.entries(fields)) f.append(k, v)
  if (file) f.append('file', new Blob([new Uint8Array(file)]), name)
  return f
}

async function upload(url: string, body: FormData, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/api/v1/decks`, { method: 'POST', body, headers })
  const text = await res.text()
  return { status: res.status, body: JSON.parse(text), headers: res.headers }
}

async function manySlides(n: number): Promise<Buffer> {
  const pptx = new PptxGenJS()
  for (let i = 1; i <= n; i++) pptx.addSlide().addText(`Slide ${i}`, { x: 1, y: 1, w: 5, h: 1 })
  return await pptx.write({ outputType: 'nodebuffer' }) as Buffer
}

/** lo-text-4x3.pptx with 6,000 empty shapes added to slide 1 (more than MAX_SHAPES_PER_SLIDE). */
async function tooManyShapes(): Promise<Buffer> {
  const zip = await JSZip.loadAsync(fixture('lo-text-4x3.pptx'))
  const xml = await zip.file('ppt/slides/slide1.xml')!.async('string')
  zip.file('ppt/slides/slide1.xml', xml.replace('</p:spTree>', `${'<p:sp/>'.repeat(6000)}</p:spTree>`))
  return await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' })
}

let tmp: Awaited<ReturnType<typeof tempDir>>
let server: TestServer
let publicDir: string
// page 2 of every batch is refused by the model's safety filter; the others succeed
const provider = scriptedProvider(page => (page === 2 ? new ProviderError('refused', 'safety_refused', 'refused by the safety filter') : okImage()))

beforeAll(async () => {
  tmp = await tempDir('nb-decks-')
  publicDir = await fakePublicDir(tmp.dir)
  server = await startTestServer({ provider, dataDir: tmp.dir, publicDir, deckLimits: { maxUploadBytes: 2 * 1024 * 1024 }, config: { priceOverride: { '4K': 0.24 } } })
})
afterAll(async () => {
  await server?.stop()
  await tmp?.cleanup()
})

describe('POST /api/v1/decks', () => {
  it('reads a deck and answers its pages, size and the estimate', async () => {
    const r = await upload(server.url, form(fixture('lo-mixed-16x9.pptx'), { resolution: '4K' }, '有理数.pptx'))
    expect(r.status).toBe(200)
    expect(r.body.deck).toMatchObject({ file_name: '有理数.pptx', slide_count: 3, aspect_ratio: '16:9', width: 720, height: 405, selected_pages: [1, 2, 3] })
    expect(r.body.deck.pages.map((p: { title: string }) => p.title)).toEqual(['有理数的大小比较', '成绩对比 Scores', 'Revenue by quarter 季度收入'])
    expect(r.body.deck.pages[1]).toMatchObject({ page_number: 2, tables: 1, notes: 'Point at the second row.' })
    expect(r.body.estimate).toMatchObject({ pages: 3, resolution: '4K', price_per_image: 0.24, cost: 0.72 })
  })

  it('creates a batch from the deck, and the .pptx download has the finished pages as backgrounds', async () => {
    const r = await upload(server.url, form(fixture('lo-groups-4x3.pptx'), { template_id: TEMPLATE, mode: 'background', resolution: '1K' }))
    expect(r.status).toBe(202)
    expect(r.body).toMatchObject({ status: 'pending', total_pages: 2, deck: { slide_count: 2, aspect_ratio: '4:3' } })
    const id = r.body.batch_id as string
    await waitUntil(async () => ['partial', 'completed', 'failed'].includes((await getJson(`${server.url}/api/v1/slide-generations/batches/${id}/progress`)).body.status))
    const call = provider.calls.find(c => c.req.prompt.includes('三步走 Three steps'))!
    expect(call.req.aspectRatio).toBe('4:3')
    const res = await fetch(`${server.url}/api/v1/slide-generations/batches/${id}/pptx`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.presentationml.presentation')
    expect(res.headers.get('content-disposition')).toContain('deck.banana.pptx')
    expect(res.headers.get('x-slides-rendered')).toBe('1')
    expect(res.headers.get('x-slides-failed')).toBe('2')
    const out = Buffer.from(await res.arrayBuffer())
    const json = await parse(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength) as ArrayBuffer, { imageMode: 'base64' })
    expect(json.slides.map(s => s.fill.type)).toEqual(['image', 'color'])
    const again = await readDeck(out)
    const original = await readDeck(fixture('lo-groups-4x3.pptx'))
    expect(again.slides.map(s => s.textBoxes.map(b => b.text))).toEqual(original.slides.map(s => s.textBoxes.map(b => b.text)))
    expect(again.slides.map(s => s.notes)).toEqual(['每一步两周。Two weeks per step.', 'Questions?'])
  })

  it('takes a page range; the other slides keep their original look in the download', async () => {
    const r = await upload(server.url, form(await makeDeck(4), { template_id: TEMPLATE, pages: '3-4', mode: 'full' }))
    expect(r.status).toBe(202)
    expect(r.body.total_pages).toBe(2)
    const id = r.body.batch_id as string
    await waitUntil(async () => ['partial', 'completed'].includes((await getJson(`${server.url}/api/v1/slide-generations/batches/${id}/progress`)).body.status))
    const res = await fetch(`${server.url}/api/v1/slide-generations/batches/${id}/pptx`)
    // page 1 of the batch is slide 3 (done), page 2 is slide 4 (refused)
    expect(res.headers.get('x-slides-rendered')).toBe('3')
    expect(res.headers.get('x-slides-failed')).toBe('4')
    const again = await readDeck(Buffer.from(await res.arrayBuffer()))
    expect(again.slides).toHaveLength(4)
    expect(again.slides[2].textBoxes).toEqual([])
    expect(again.slides[2].notes).toContain('Table 3')
    expect(again.slides[0].title).toBe('封面 Cover 1')
    expect(again.slides[3].charts[0].title).toBe('Growth 增长')
  })

  it('refuses more slides than a batch takes, and offers page ranges', async () => {
    const deck = await manySlides(101)
    const r = await upload(server.url, form(deck, { template_id: TEMPLATE }))
    expect(r.status).toBe(413)
    expect(r.body.error).toMatchObject({ code: 'too_many_slides', details: [{ suggested_ranges: ['1-100', '101-101'] }] })
    expect(r.body.error.message).toContain('pages=1-100')
    const parsed = await upload(server.url, form(deck))
    expect(parsed.status).toBe(200)
    expect(parsed.body.warning.code).toBe('too_many_slides')
    const ok = await upload(server.url, form(deck, { template_id: TEMPLATE, pages: '101' }))
    expect(ok.status).toBe(202)
    expect(ok.body.total_pages).toBe(1)
  })

  it('answers bad input with a clear 4xx in the api.md shape', async () => {
    const cases: [FormData | string, number, string][] = [
      [form(Buffer.from('just text, not a deck')), 415, 'unsupported_file'],
      [form(Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(600)]), {}, 'old.ppt'), 415, 'unsupported_file'],
      [form(Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.from('EncryptedPackage', 'utf16le')])), 400, 'encrypted_pptx'],
      [form(null, { template_id: TEMPLATE }), 400, 'invalid_request'],
      [form(fixture('lo-text-4x3.pptx'), { pages: '3-1' }), 400, 'invalid_page_range'],
      [form(fixture('lo-text-4x3.pptx'), { pages: '1-9' }), 400, 'invalid_page_range'],
      [form(fixture('lo-text-4x3.pptx'), { template_id: 'no_such_template' }), 400, ''],
      [form(fixture('lo-text-4x3.pptx'), { template_id: TEMPLATE, mode: 'sideways' }), 400, 'invalid_request'],
      [form(Buffer.alloc(3 * 1024 * 1024, 7)), 413, 'file_too_large'],
      [form(await tooManyShapes()), 422, 'slide_too_complex'],
      [JSON.stringify({ file: 'x' }), 415, 'unsupported_media_type'],
    ]
    for (const [body, status, code] of cases) {
      const res = await fetch(`${server.url}/api/v1/decks`, { method: 'POST', body, ...(typeof body === 'string' ? { headers: { 'Content-Type': 'application/json' } } : {}) })
      const json = await res.json()
      expect([res.status, json.error?.code], JSON.stringify(json)).toEqual([status, code || json.error?.code])
      expect(typeof json.error.message).toBe('string')
    }
    const complex = await upload(server.url, form(await tooManyShapes()))
    expect(complex.body.error.details).toEqual([{ slide: 1, part: 'ppt/slides/slide1.xml', shapes: 6002, max_shapes: 5000 }])
    // the server is still fine
    expect((await upload(server.url, form(fixture('lo-text-4x3.pptx')))).status).toBe(200)
  })

  it('GET …/pptx: 404 for a batch not made from a deck, and for an unknown batch', async () => {
    const created = await postJson(`${server.url}/api/v1/slide-generations/batches`, { template_id: TEMPLATE, pages: [{ slide_id: 'a', title: 'A', content: '' }] })
    expect(created.status).toBe(202)
    const noDeck = await getJson(`${server.url}/api/v1/slide-generations/batches/${created.body.batch_id}/pptx`)
    expect([noDeck.status, noDeck.body.error.code]).toEqual([404, 'no_deck'])
    const unknown = await getJson(`${server.url}/api/v1/slide-generations/batches/b_${'0'.repeat(24)}/pptx`)
    expect(unknown.status).toBe(404)
  })
})

describe('retention', () => {
  it('the sweep removes an uploaded deck older than IMAGE_RETENTION_HOURS from DATA_DIR/decks; a newer one stays', async () => {
    const dir = await tempDir('nb-decks-retention-')
    const s = await startTestServer({ provider: scriptedProvider(() => okImage()), dataDir: dir.dir, publicDir, config: { retention: { batchHours: 0, imageHours: 24 * 30 } } })
    try {
      const ids: string[] = []
      for (const name of ['old.pptx', 'new.pptx']) {
        const r = await upload(s.url, form(fixture('lo-text-4x3.pptx'), { template_id: TEMPLATE }, name))
        expect(r.status).toBe(202)
        ids.push(r.body.batch_id)
      }
      for (const id of ids) await waitUntil(async () => (await getJson(`${s.url}/api/v1/slide-generations/batches/${id}/progress`)).body.status === 'completed')
      const old = new Date(Date.now() - 31 * 24 * 3_600_000)
      await utimes(path.join(dir.dir, 'decks', `${ids[0]}.json`), old, old)
      expect((await s.engine.retention.sweep()).extra).toBe(1)
      const gone = await getJson(`${s.url}/api/v1/slide-generations/batches/${ids[0]}/pptx`)
      expect([gone.status, gone.body.error.code]).toEqual([404, 'no_deck'])
      expect((await fetch(`${s.url}/api/v1/slide-generations/batches/${ids[1]}/pptx`)).status).toBe(200)
    } finally {
      await s.stop()
      await dir.cleanup()
    }
  })
})

describe('with PROXY_TOKEN', () => {
  it('needs the token to upload; the download also takes ?token=', async () => {
    const dir = await tempDir('nb-decks-token-')
    const s = await startTestServer({ provider: scriptedProvider(() => okImage()), dataDir: dir.dir, publicDir, config: { proxyToken: 'secret-token-1' } })
    try {
      expect((await upload(s.url, form(fixture('lo-text-4x3.pptx')))).status).toBe(401)
      const r = await upload(s.url, form(fixture('lo-text-4x3.pptx'), { template_id: TEMPLATE }), { Authorization: 'Bearer secret-token-1' })
      expect(r.status).toBe(202)
      expect((await fetch(`${s.url}/api/v1/slide-generations/batches/${r.body.batch_id}/pptx`)).status).toBe(401)
      expect((await fetch(`${s.url}/api/v1/slide-generations/batches/${r.body.batch_id}/pptx?token=secret-token-1`)).status).toBe(200)
    }
    finally {
      await s.stop()
      await dir.cleanup()
    }
  })
})

describe('uploads in flight', () => {
  it('are temporary files, not memory: a slow upload holds a file that goes with its answer; beyond maxUploadsInFlight the caller gets 429 busy', async () => {
    const t = await tempDir('nb-uploads-')
    const own = await startTestServer({ provider: scriptedProvider(() => okImage()), dataDir: t.dir, publicDir, deckLimits: { maxUploadBytes: 2 * 1024 * 1024, maxUploadsInFlight: 2 } })
    try {
      const { default: net } = await import('node:net')
      const { readdir, stat } = await import('node:fs/promises')
      const os = await import('node:os')
      const port = Number(new URL(own.url).port)
      const before = new Set(await readdir(os.tmpdir()))
      // two uploads that send 200 KB of their file, then wait
      const boundary = 'slowUploadBoundary'
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.pptx"\r\nContent-Type: application/octet-stream\r\n\r\n`
      const slow = Array.from({ length: 2 }, () => {
        const socket = net.connect(port, '127.0.0.1')
        socket.on('error', () => undefined)
        socket.write(`POST /api/v1/decks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 1000000\r\n\r\n${head}`)
        socket.write(Buffer.alloc(200 * 1024, 1))
        return socket
      })
      // the two partial files are on disk (multer's random names in the temp directory)
      let partial: string[] = []
      await waitUntil(async () => {
        partial = (await readdir(os.tmpdir())).filter(n => !before.has(n) && /^[0-9a-f]{32}$/.test(n))
        return partial.length === 2 && (await Promise.all(partial.map(n => stat(`${os.tmpdir()}/${n}`)))).every(s => s.size >= 200 * 1024)
      })
      const third = await upload(own.url, form(fixture('lo-mixed-16x9.pptx')))
      expect(third.status).toBe(429)
      expect(third.body.error.code).toBe('busy')
      expect(third.headers.get('retry-after')).toBe('5')
      for (const s of slow) s.destroy()
      // once they are gone, their files are too, and uploads are taken again
      await waitUntil(async () => (await readdir(os.tmpdir())).filter(n => partial.includes(n)).length === 0)
      expect((await upload(own.url, form(fixture('lo-mixed-16x9.pptx')))).status).toBe(200)
    }
    finally {
      await own.stop()
      await t.cleanup()
    }
  })
})
