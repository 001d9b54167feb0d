// End to end through HTTP: the real proxy (config → createProvider → real gemini provider → real
// prompts) against the fake Gemini server on 127.0.0.1, with fault injection.
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../../server/app.js'
import { configSecrets, loadConfig } from '../../server/config.js'
import { createLogger } from '../../server/logger.js'
import { createProvider } from '../../server/providers/index.js'
import { startFakeGemini } from '../fakes/geminiServer.js'
import type { FakeServer } from '../fakes/common.js'
import { fakePublicDir, openSse, tempDir, type SseEvent } from './helpers.js'

const BATCHES = '/api/v1/slide-generations/batches'

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

interface Harness {
  srv: RunningServer
  fake: FakeServer
  logLines: string[]
  dataDir: string
}

async function harness(key: string, fakeOpts: Parameters<typeof startFakeGemini>[0], env: Record<string, string> = {}): Promise<Harness> {
  const t = await tempDir('nb-e2e-')
  cleanups.push(t.cleanup)
  const fake = await startFakeGemini(fakeOpts)
  cleanups.push(() => fake.close())
  const dataDir = path.join(t.dir, 'data')
  const config = loadConfig({
    GEMINI_API_KEY: key, GEMINI_BASE_URL: fake.url, MAX_CONCURRENT_GENERATIONS: '3', MAX_RETRIES: '3',
    NANO_BANANA_TIMEOUT: '20', DATA_DIR: dataDir, IMAGE_THUMBNAIL_SIZE: '160x90',
    // a paid provider without a token allows only the origins it is told (safe defaults)
    CORS_ORIGINS: 'https://pptist.example', ...env,
  })
  const logLines: string[] = []
  const logger = createLogger({ secrets: configSecrets(config), write: line => { logLines.push(line) } })
  const srv = await startServer({
    config, logger, provider: createProvider(config.provider), publicDir: await fakePublicDir(t.dir),
    backoff: { baseMs: 10, maxMs: 50 }, pingIntervalMs: 50,
  })
  cleanups.push(() => srv.stop())
  return { srv, fake, logLines, dataDir }
}

/** fetch that keeps every response's status line, headers and body text for the key scan */
function recordingFetch(sink: string[]) {
  return async (url: string, init?: RequestInit) => {
    const res = await fetch(url, init)
    const buf = Buffer.from(await res.arrayBuffer())
    sink.push(`${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}`)
    const type = res.headers.get('content-type') ?? ''
    sink.push(type.startsWith('image/') ? buf.toString('latin1') : buf.toString('utf8'))
    return { status: res.status, headers: res.headers, buf, json: () => JSON.parse(buf.toString('utf8')) }
  }
}

function pagesOf(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    slide_id: `slide-${i + 1}`,
    page_type: i === 0 ? 'cover' : 'content',
    title: i === 0 ? '有理数的大小比较' : `第 ${i + 1} 部分`,
    content: `要点一：数轴上右边的数大\n要点二：负数比较看绝对值 ${i + 1}`,
  }))
}

describe('end to end against the fake Gemini server', () => {
  it('12 pages with 25 % faults: all complete within the concurrency limit, SSE loses nothing across a reconnect, images are right', async () => {
    const KEY = 'e2e-test-key-0001'
    const { srv, fake } = await harness(KEY, { latencyMs: [20, 80], faultRate: 0.25, seed: 11, validKey: KEY, retryDelay: '0.05s', maxRandomFaults: 3 })
    const responses: string[] = []
    const http = recordingFetch(responses)

    const created = await http(`${srv.url}${BATCHES}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ template_id: 'nano_banana_2', deck_title: '有理数比较', pages: pagesOf(12), options: { resolution: '2K', aspect_ratio: '16:9', style_chain: true } }),
    })
    expect(created.status).toBe(202)
    const id = created.json().batch_id as string

    // first SSE client: read until 4 pages are done, then drop the connection
    const first = await openSse(`${srv.url}${BATCHES}/${id}/events`)
    await first.waitFor(() => first.events.filter(e => e.event === 'page' && (e.data as { status: string }).status === 'completed').length >= 4, 20_000)
    first.abort()
    await first.closed
    const seen = first.events.filter(e => e.event !== 'comment')
    const lastId = seen.at(-1)!.id!

    // reconnect with Last-Event-ID and read to the end
    const second = await openSse(`${srv.url}${BATCHES}/${id}/events`, { 'Last-Event-ID': String(lastId) })
    await second.closed
    const rest = second.events.filter(e => e.event !== 'comment')
    expect(rest.some(e => e.event === 'snapshot')).toBe(false)
    expect(rest.at(-1)).toMatchObject({ event: 'done', data: { status: 'completed', completed_pages: 12, failed_pages: 0 } })

    // nothing lost, nothing twice: snapshot id, then every logged event after it exactly once
    const received: SseEvent[] = [...seen.slice(1), ...rest]
    const ids = received.map(e => e.id!)
    expect(new Set(ids).size).toBe(ids.length)
    const log = (await srv.batches.eventsSince(id, seen[0].id!))!
    expect(ids).toEqual(log.map(e => e.id))

    // each page's events in order: generating (… retries …) → completed, exactly one completed
    for (let n = 1; n <= 12; n++) {
      const statuses = received.filter(e => e.event === 'page' && (e.data as { page_number: number }).page_number === n).map(e => (e.data as { status: string }).status)
      expect(statuses.at(-1), `page ${n}`).toBe('completed')
      expect(statuses.filter(s => s === 'completed')).toHaveLength(1)
      expect(statuses.every((s, i) => i === statuses.length - 1 || s === 'generating'), `page ${n}: ${statuses.join(',')}`).toBe(true)
    }

    // every page completed, faults really happened, and the limit held
    const progress = (await http(`${srv.url}${BATCHES}/${id}/progress`)).json()
    expect(progress.status).toBe('completed')
    expect(progress.results.every((r: { status: string }) => r.status === 'completed')).toBe(true)
    const faults = Object.entries(fake.stats.byFault).filter(([k]) => k !== 'ok' && k !== 'jpeg_as_png').reduce((a, [, v]) => a + v, 0)
    expect(faults).toBeGreaterThan(0)
    expect(progress.results.reduce((a: number, r: { retry_count: number }) => a + r.retry_count, 0)).toBe(faults)
    expect(fake.stats.maxInFlight).toBeLessThanOrEqual(3)
    expect(fake.stats.maxInFlight).toBeGreaterThan(1)

    // style chain: page 1 was the first request; later requests carry two reference images
    const bodies = fake.lastRequests.map(r => r.body as { contents: Array<{ parts: Array<{ inlineData?: unknown; text?: string }> }> } | null).filter(Boolean)
    const last = bodies.at(-1)!
    expect(last.contents[0].parts.filter(p => p.inlineData)).toHaveLength(2)

    // stored images: valid 16:9 at 2K (2752×1536), thumbnails, CORS and cache headers (thumbnails
    // still being made are answered 404 not_ready at once: wait for them first)
    await srv.batches.flush()
    for (const r of progress.results as Array<{ image_url: string; thumbnail_url: string }>) {
      const img = await http(`${srv.url}${r.image_url}`, { headers: { Origin: 'https://pptist.example' } })
      expect(img.status).toBe(200)
      expect(img.headers.get('access-control-allow-origin')).toBe('https://pptist.example')
      expect(img.headers.get('cache-control')).toContain('immutable')
      const meta = await sharp(img.buf).metadata()
      expect(meta.width).toBe(2752)
      expect(meta.height).toBe(1536)
      expect(meta.format === 'png' ? 'image/png' : 'image/jpeg').toBe(img.headers.get('content-type'))
      expect(r.image_url.endsWith(meta.format === 'png' ? '.png' : '.jpg')).toBe(true)
      const thumb = await http(`${srv.url}${r.thumbnail_url}`)
      expect(thumb.status).toBe(200)
      expect(thumb.headers.get('content-type')).toBe('image/jpeg')
      const tmeta = await sharp(thumb.buf).metadata()
      expect([tmeta.format, tmeta.width, tmeta.height]).toEqual(['jpeg', 160, 90])
    }
  })

  it('key scan: a distinctive key appears in no response, header, SSE byte, log line or stored file', async () => {
    const KEY = 'AIzaSyZZ-DISTINCTIVE-KEY-7f3a9c'
    const captured: string[] = []
    const http = recordingFetch(captured)

    // one proxy with a correct key but every kind of fault, one whose key the upstream rejects
    const kinds = ['429', 'safety', '429_daily', '500', 'blocked', '503', '403', '504', 'truncated', '400_precondition', 'garbage', '404', 'no_image'] as const
    const faulty = await harness(KEY, { latencyMs: 5, validKey: KEY, retryDelay: '0.02s', script: i => kinds[i] ?? null })
    const badKey = await harness(KEY, { latencyMs: 5, validKey: 'the-right-key-is-another-one' })

    for (const h of [faulty, badKey]) {
      const created = await http(`${h.srv.url}${BATCHES}`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ template_id: 'nano_banana_1', deck_title: 'scan', pages: pagesOf(8), options: { resolution: '1K', style_chain: false } }),
      })
      const id = created.json().batch_id as string
      const sse = await openSse(`${h.srv.url}${BATCHES}/${id}/events`)
      await sse.closed
      captured.push(...sse.raw, JSON.stringify([...sse.headers]))
      const progress = (await http(`${h.srv.url}${BATCHES}/${id}/progress`)).json()
      for (const r of progress.results) {
        if (r.image_url) await http(`${h.srv.url}${r.image_url}`)
        if (r.thumbnail_url) await http(`${h.srv.url}${r.thumbnail_url}`)
      }
      await http(`${h.srv.url}${BATCHES}/${id}/pages/1/retry`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"instruction":"again"}' })
      await http(`${h.srv.url}${BATCHES}/${id}/cancel`, { method: 'POST' })
      await http(`${h.srv.url}/api/v1/health`)
      await http(`${h.srv.url}/api/v1/templates`)
      await http(`${h.srv.url}${BATCHES}`, { method: 'POST', body: '{bad json' })
      await h.srv.batches.flush()
      // the upstream really got the key, so the scan is meaningful
      expect(h.fake.lastRequests.some(r => r.headers['x-goog-api-key'] === KEY)).toBe(true)
    }
    // the bad-key proxy failed every page with a clear message, the faulty one saw refusals and fatals
    const badProgress = captured.join('\n')
    expect(badProgress).toContain('invalid_api_key')
    expect(badProgress).toMatch(/safety|refused|blocked|prohibited/i)

    const files: string[] = []
    for (const h of [faulty, badKey]) {
      for (const sub of ['', 'batches']) {
        for (const name of await readdir(path.join(h.dataDir, sub))) {
          if (name.endsWith('.json')) files.push(await readFile(path.join(h.dataDir, sub, name), 'utf8'))
        }
      }
    }
    const everything = [...captured, ...faulty.logLines, ...badKey.logLines, ...files].join('\n')
    expect(faulty.logLines.length + badKey.logLines.length).toBeGreaterThan(20)
    expect(everything).not.toContain(KEY)
    expect(everything).not.toContain('DISTINCTIVE-KEY')
  })

  it('maths and code reach the upstream as typed: comparison signs, angle brackets, dunders, **kwargs', async () => {
    const KEY = 'e2e-test-key-0003'
    const { srv, fake } = await harness(KEY, { latencyMs: 5, validKey: KEY })
    const content = '-3 < -2 且 0 > -1\n若 a<b, b>c，则 a<c\n在 HTML 里写 <br/> 换行\ndef __init__(self, **kwargs):'
    const res = await fetch(`${srv.url}${BATCHES}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ template_id: 'nano_banana_1', pages: [{ slide_id: 'm', title: '比较 a<b 与 b>c', content }], options: { style_chain: false } }),
    })
    expect(res.status).toBe(202)
    const { batch_id: id } = await res.json() as { batch_id: string }
    const sse = await openSse(`${srv.url}${BATCHES}/${id}/events`)
    await sse.closed
    expect(sse.events.at(-1)).toMatchObject({ event: 'done', data: { completed_pages: 1 } })
    const body = fake.lastRequests.find(r => r.method === 'POST')!.body as { contents: Array<{ parts: Array<{ text?: string }> }> }
    const prompt = body.contents[0].parts.map(p => p.text ?? '').join('\n')
    for (const line of content.split('\n')) expect(prompt).toContain(line)
    expect(prompt).toContain('比较 a<b 与 b>c')
  })
})
