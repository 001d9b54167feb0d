import { writeFile, mkdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NANO_BANANA_TEMPLATES } from '../../plugin/configs/nanoBananaTemplates.js'
import { ProviderError } from '../../server/providers/types.js'
import {
  fakePublicDir, getJson, okImage, pages, postJson, scriptedProvider, startTestServer, tempDir, waitUntil, type TestServer,
} from './helpers.js'

const BATCHES = '/api/v1/slide-generations/batches'

function body(over: Record<string, unknown> = {}) {
  return { template_id: 'nano_banana_1', deck_title: 'Deck', pages: pages(2), options: { style_chain: false }, ...over }
}

describe('routes (no token)', () => {
  let srv: TestServer
  let cleanup: () => Promise<void>
  let dataDir = ''
  let hold = false
  const provider = scriptedProvider(async (page) => {
    while (hold) await new Promise(r => setTimeout(r, 2))
    if (page === 9) return new ProviderError('fatal', 'invalid_api_key', 'bad key')
    return okImage()
  })

  beforeAll(async () => {
    const t = await tempDir()
    cleanup = t.cleanup
    const publicDir = await fakePublicDir(t.dir)
    const demoDir = path.join(t.dir, 'demo')
    await mkdir(demoDir)
    await writeFile(path.join(demoDir, 'index.html'), '<!doctype html><title>demo</title>')
    dataDir = path.join(t.dir, 'data')
    srv = await startTestServer({ provider, dataDir, publicDir, demoDir })
  })
  afterAll(async () => {
    await srv.stop()
    await cleanup()
  })

  it('GET /health reports provider, model, queue and the input limits the extension trims to', async () => {
    const r = await getJson(`${srv.url}/api/v1/health`)
    expect(r.status).toBe(200)
    expect(r.body).toEqual({
      ok: true, provider: 'gemini', model: 'fake-model', queue: { running: 0, queued: 0, capacity: 500, concurrency: 3 },
      limits: {
        max_pages: 100, max_page_text_chars: 8000, max_text_boxes: 100, max_extra_prompt_chars: 2000,
        max_instruction_chars: 2000, max_deck_title_chars: 500,
      },
      spend: { today_usd: 0, last_10min_usd: 0, budget_usd_per_day: null, budget_usd_per_10min: null, exhausted_for_seconds: null },
    })
    expect(r.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('GET /templates serves the catalogue with root-absolute cover urls, which are served with CORS', async () => {
    const r = await getJson(`${srv.url}/api/v1/templates`)
    expect(r.status).toBe(200)
    expect(r.body.templates).toHaveLength(NANO_BANANA_TEMPLATES.length)
    const t = r.body.templates[0]
    expect(t).toMatchObject({ id: NANO_BANANA_TEMPLATES[0].id, name: NANO_BANANA_TEMPLATES[0].name, metadata: NANO_BANANA_TEMPLATES[0].metadata })
    expect(t.cover).toBe(NANO_BANANA_TEMPLATES[0].cover.replace(/^\./, ''))
    expect(t.cover.startsWith('/imgs/nano_banana/')).toBe(true)
    const img = await fetch(`${srv.url}${t.cover}`)
    expect(img.status).toBe(200)
    expect(img.headers.get('content-type')).toBe('image/png')
    expect(img.headers.get('access-control-allow-origin')).toBe('*')
    await img.arrayBuffer()
  })

  it('creates a batch (202), then progress lists images that are served with CORS and cache headers', async () => {
    const r = await postJson(`${srv.url}${BATCHES}`, body())
    expect(r.status).toBe(202)
    expect(r.body).toMatchObject({ status: 'pending', total_pages: 2 })
    expect(typeof r.body.estimated_time).toBe('number')
    const id = r.body.batch_id
    await waitUntil(async () => (await getJson(`${srv.url}${BATCHES}/${id}/progress`)).body.status === 'completed')
    const p = await getJson(`${srv.url}${BATCHES}/${id}/progress`)
    expect(p.body.results).toHaveLength(2)
    for (const res of p.body.results) {
      for (const [url, type] of [[res.image_url, 'image/png'], [res.thumbnail_url, 'image/jpeg']]) {
        // a thumbnail still being made is answered 404 not_ready at once (see the next test)
        await waitUntil(async () => (await fetch(`${srv.url}${url}`, { method: 'HEAD' })).status === 200)
        const img = await fetch(`${srv.url}${url}`, { headers: { Origin: 'https://ppt.example' } })
        expect(img.status).toBe(200)
        expect(img.headers.get('content-type')).toBe(type)
        expect(img.headers.get('access-control-allow-origin')).toBe('*')
        expect(img.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
        const bytes = Buffer.from(await img.arrayBuffer())
        expect(bytes.length).toBeGreaterThan(50)
      }
    }
  })

  it('a thumbnail still being made is answered at once (404 not_ready, Retry-After, not cached), then served', async () => {
    const r = await postJson(`${srv.url}${BATCHES}`, body())
    const id = r.body.batch_id
    await waitUntil(async () => (await getJson(`${srv.url}${BATCHES}/${id}/progress`)).body.status === 'completed')
    const url: string = (await getJson(`${srv.url}${BATCHES}/${id}/progress`)).body.results[0].thumbnail_url
    await waitUntil(async () => (await fetch(`${srv.url}${url}`, { method: 'HEAD' })).status === 200)
    // lost (e.g. in a restart): the request starts making it and does not wait for it
    await rm(path.join(dataDir, 'images', url.split('/').pop()!))
    const first = await getJson(`${srv.url}${url}`)
    expect(first.status).toBe(404)
    expect(first.body.error.code).toBe('not_ready')
    expect(first.headers.get('retry-after')).toBe('1')
    expect(first.headers.get('cache-control')).toBe('no-store')
    await waitUntil(async () => (await fetch(`${srv.url}${url}`, { method: 'HEAD' })).status === 200)
    const img = await fetch(`${srv.url}${url}`)
    expect(img.headers.get('content-type')).toBe('image/jpeg')
    expect((await img.arrayBuffer()).byteLength).toBeGreaterThan(50)
  })

  it.each([
    ['a missing template_id', { template_id: undefined }, 'template_id'],
    ['an empty page list', { pages: [] }, 'pages'],
    ['more than 100 pages', { pages: pages(101) }, 'pages'],
    ['a page without slide_id', { pages: [{ title: 't', content: 'c' }] }, 'pages.0.slide_id'],
    ['a page with a number as title', { pages: [{ slide_id: 's', title: 5, content: 'c' }] }, 'pages.0.title'],
    ['more than 8000 characters on a page', { pages: [{ slide_id: 's', title: 't', content: 'x'.repeat(7000), notes: 'y'.repeat(1001) }] }, 'pages.0.content'],
    ['an unknown page_type', { pages: [{ slide_id: 's', title: 't', content: 'c', page_type: 'appendix' }] }, 'pages.0.page_type'],
    ['duplicate slide ids', { pages: [{ slide_id: 's', title: 'a', content: '' }, { slide_id: 's', title: 'b', content: '' }] }, 'pages.1.slide_id'],
    ['a bad aspect ratio', { options: { aspect_ratio: '16:10' } }, 'options.aspect_ratio'],
    ['a bad resolution', { options: { resolution: '8K' } }, 'options.resolution'],
    ['a bad mode', { options: { mode: 'cartoon' } }, 'options.mode'],
    ['a bad language', { options: { language: '中文!!' } }, 'options.language'],
    ['a non-boolean style_chain', { options: { style_chain: 'yes' } }, 'options.style_chain'],
    ['a too long extra_prompt', { options: { extra_prompt: 'x'.repeat(2001) } }, 'options.extra_prompt'],
    ['a too long deck title', { deck_title: 'x'.repeat(501) }, 'deck_title'],
    ['an unknown template', { template_id: 'nano_banana_999' }, 'template_id'],
  ])('rejects %s with 400 and the field path', async (_name, over, field) => {
    const r = await postJson(`${srv.url}${BATCHES}`, body(over as Record<string, unknown>))
    expect(r.status).toBe(400)
    expect(r.body.error.code).toMatch(/^(invalid_request|unknown_template)$/)
    expect(typeof r.body.error.message).toBe('string')
    expect(r.body.error.details.map((d: { path: string }) => d.path)).toContain(field)
    expect(r.text).not.toMatch(/at .*\.ts:\d+/)
  })

  it('rejects a non-object body and malformed JSON with 400', async () => {
    const arr = await postJson(`${srv.url}${BATCHES}`, [1, 2])
    expect(arr.status).toBe(400)
    expect(arr.body.error.code).toBe('invalid_request')
    for (const valueThatIsNoObject of ['null', '42', '"text"']) {
      const r = await postJson(`${srv.url}${BATCHES}`, valueThatIsNoObject)
      expect(r.status).toBe(400)
      expect(r.body.error.code).toBe('invalid_request')
      expect(r.body.error.details[0]).toMatchObject({ path: '(body)', message: expect.stringContaining('expected object') })
    }
    const bad = await postJson(`${srv.url}${BATCHES}`, '{"template_id": ')
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatchObject({ code: 'invalid_json' })
    const empty = await postJson(`${srv.url}${BATCHES}`, '')
    expect(empty.status).toBe(400)
  })

  it('rejects a body over 1 MB with 413 payload_too_large', async () => {
    const huge = body({ deck_title: 'x', pages: pages(2), padding: 'z'.repeat(1_100_000) })
    const r = await postJson(`${srv.url}${BATCHES}`, huge)
    expect(r.status).toBe(413)
    expect(r.body.error.code).toBe('payload_too_large')
  })

  it('answers 404 for unknown batches, pages and routes, in the api.md shape', async () => {
    for (const url of [
      `${BATCHES}/b_000000000000000000000000/progress`,
      `${BATCHES}/not-an-id/progress`,
      `${BATCHES}/b_000000000000000000000000/events`,
      '/api/v1/nothing-here',
      '/api/v1/slide-generations/batches',
    ]) {
      const r = await getJson(`${srv.url}${url}`)
      expect(r.status, url).toBe(404)
      expect(r.body.error.code).toBe('not_found')
    }
    const c = await postJson(`${srv.url}${BATCHES}/b_000000000000000000000000/cancel`, {})
    expect(c.status).toBe(404)
    const created = await postJson(`${srv.url}${BATCHES}`, body({ deck_title: 'for 404' }))
    const r = await postJson(`${srv.url}${BATCHES}/${created.body.batch_id}/pages/7/retry`, {})
    expect(r.status).toBe(404)
    const r0 = await postJson(`${srv.url}${BATCHES}/${created.body.batch_id}/pages/abc/retry`, {})
    expect(r0.status).toBe(404)
  })

  it('retry: 409 while the page runs, 202 afterwards, 400 for a bad instruction', async () => {
    hold = true
    const created = await postJson(`${srv.url}${BATCHES}`, body({ deck_title: 'retry deck' }))
    const id = created.body.batch_id
    await waitUntil(async () => (await getJson(`${srv.url}${BATCHES}/${id}/progress`)).body.results[0].status === 'generating')
    const busy = await postJson(`${srv.url}${BATCHES}/${id}/pages/1/retry`, {})
    expect(busy.status).toBe(409)
    expect(busy.body.error.code).toBe('page_busy')
    hold = false
    await waitUntil(async () => (await getJson(`${srv.url}${BATCHES}/${id}/progress`)).body.status === 'completed')
    const bad = await postJson(`${srv.url}${BATCHES}/${id}/pages/1/retry`, { instruction: 'x'.repeat(2001) })
    expect(bad.status).toBe(400)
    expect(bad.body.error.details[0].path).toBe('instruction')
    const ok = await postJson(`${srv.url}${BATCHES}/${id}/pages/1/retry`, { instruction: 'Use a darker blue' })
    expect(ok.status).toBe(202)
    expect(ok.body.batch_id).toBe(id)
    // without a body at all
    await waitUntil(async () => (await getJson(`${srv.url}${BATCHES}/${id}/progress`)).body.status === 'completed')
    const noBody = await fetch(`${srv.url}${BATCHES}/${id}/pages/2/retry`, { method: 'POST' })
    expect(noBody.status).toBe(202)
    await noBody.arrayBuffer()
  })

  it('cancel returns 200 with the progress JSON', async () => {
    hold = true
    const created = await postJson(`${srv.url}${BATCHES}`, body({ deck_title: 'cancel deck', pages: pages(5) }))
    const r = await postJson(`${srv.url}${BATCHES}/${created.body.batch_id}/cancel`, {})
    hold = false
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ batch_id: created.body.batch_id, status: 'cancelled' })
    expect(r.body.results).toHaveLength(5)
  })

  it('serves only stored image keys: traversal and guesses are 404', async () => {
    for (const p of [
      '/api/v1/images/..%2F..%2Fpackage.json',
      '/api/v1/images/../../package.json',
      '/api/v1/images/%2e%2e%2fbatches',
      '/api/v1/images/0123456789abcdef0123456789abcdef.png',
      '/api/v1/images/cache.json',
      '/api/v1/images/..',
      '/api/v1/images/0123456789ABCDEF0123456789ABCDEF.png',
    ]) {
      const r = await fetch(`${srv.url}${p}`)
      expect(r.status, p).toBe(404)
      const text = await r.text()
      expect(text).not.toContain('"name"')
    }
  })

  it('answers CORS preflight allowing Authorization and Last-Event-ID, exposing Retry-After', async () => {
    const r = await fetch(`${srv.url}${BATCHES}`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://ppt.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
    })
    expect(r.status).toBe(204)
    expect(r.headers.get('access-control-allow-origin')).toBe('*')
    expect(r.headers.get('access-control-allow-headers')).toMatch(/Authorization/)
    expect(r.headers.get('access-control-allow-headers')).toMatch(/Last-Event-ID/)
    expect(r.headers.get('access-control-expose-headers')).toMatch(/Retry-After/)
  })

  it('serves the demo at / with an SPA fallback, but not for /api', async () => {
    const root = await fetch(`${srv.url}/`)
    expect(root.status).toBe(200)
    expect(await root.text()).toContain('<title>demo</title>')
    const deep = await fetch(`${srv.url}/some/editor/route`)
    expect(deep.status).toBe(200)
    expect(await deep.text()).toContain('<title>demo</title>')
    const api = await getJson(`${srv.url}/api/v1/unknown`)
    expect(api.status).toBe(404)
    expect(api.body.error.code).toBe('not_found')
  })

  it('logs one JSON line per request: path without the query string, status, duration, request id', async () => {
    const res = await fetch(`${srv.url}/api/v1/health?token=query-secret-77`)
    await res.text()
    const id = res.headers.get('x-request-id')
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    const line = srv.logLines.map(l => JSON.parse(l)).find(o => o.msg === 'request' && o.req_id === id)
    expect(line).toMatchObject({ level: 'info', method: 'GET', path: '/api/v1/health', status: 200 })
    expect(typeof line.duration_ms).toBe('number')
    expect(srv.logLines.join('\n')).not.toContain('query-secret-77')
  })
})

describe('routes with PROXY_TOKEN and a CORS list', () => {
  let srv: TestServer
  let cleanup: () => Promise<void>
  const TOKEN = 'proxy-token-123456'
  let hold = false

  beforeAll(async () => {
    const t = await tempDir()
    cleanup = t.cleanup
    srv = await startTestServer({
      provider: scriptedProvider(async () => {
        while (hold) await new Promise(r => setTimeout(r, 2))
        return okImage()
      }),
      dataDir: path.join(t.dir, 'data'),
      publicDir: await fakePublicDir(t.dir),
      config: { proxyToken: TOKEN, corsOrigins: ['https://ppt.example'], maxQueuedPages: 4, maxConcurrentGenerations: 1 },
      secrets: [TOKEN],
    })
  })
  afterAll(async () => {
    await srv.stop()
    await cleanup()
  })

  it('needs the token on batch endpoints (401), not on health, templates or images', async () => {
    expect((await getJson(`${srv.url}/api/v1/health`)).status).toBe(200)
    expect((await getJson(`${srv.url}/api/v1/templates`)).status).toBe(200)
    const none = await postJson(`${srv.url}${BATCHES}`, body())
    expect(none.status).toBe(401)
    expect(none.body.error.code).toBe('unauthorized')
    const wrong = await postJson(`${srv.url}${BATCHES}`, body(), { Authorization: 'Bearer nope' })
    expect(wrong.status).toBe(401)
    const queryOnPost = await postJson(`${srv.url}${BATCHES}?token=${TOKEN}`, body())
    expect(queryOnPost.status).toBe(401)
    const ok = await postJson(`${srv.url}${BATCHES}`, body(), { Authorization: `Bearer ${TOKEN}` })
    expect(ok.status).toBe(202)
    const id = ok.body.batch_id
    expect((await getJson(`${srv.url}${BATCHES}/${id}/progress`)).status).toBe(401)
    expect((await getJson(`${srv.url}${BATCHES}/${id}/progress?token=wrong`)).status).toBe(401)
    expect((await getJson(`${srv.url}${BATCHES}/${id}/progress?token=${TOKEN}`)).status).toBe(200)
    expect((await getJson(`${srv.url}${BATCHES}/${id}/events`)).status).toBe(401)
    expect((await postJson(`${srv.url}${BATCHES}/${id}/cancel`, {})).status).toBe(401)
    expect((await postJson(`${srv.url}${BATCHES}/${id}/pages/1/retry`, {})).status).toBe(401)
    const p = await getJson(`${srv.url}${BATCHES}/${id}/progress`, { Authorization: `Bearer ${TOKEN}` })
    expect(p.status).toBe(200)
    await waitUntil(async () => (await getJson(`${srv.url}${BATCHES}/${id}/progress?token=${TOKEN}`)).body.status === 'completed')
    const done = await getJson(`${srv.url}${BATCHES}/${id}/progress?token=${TOKEN}`)
    const img = await fetch(`${srv.url}${done.body.results[0].image_url}`)
    expect(img.status).toBe(200)
    await img.arrayBuffer()
    // the token never shows up in a log line (the ?token= query is not logged)
    expect(srv.logLines.join('\n')).not.toContain(TOKEN)
  })

  it('allows only the configured origins', async () => {
    const good = await fetch(`${srv.url}/api/v1/health`, { headers: { Origin: 'https://ppt.example' } })
    expect(good.headers.get('access-control-allow-origin')).toBe('https://ppt.example')
    expect(good.headers.get('vary')).toMatch(/Origin/)
    const bad = await fetch(`${srv.url}/api/v1/health`, { headers: { Origin: 'https://evil.example' } })
    expect(bad.headers.get('access-control-allow-origin')).toBeNull()
    await good.text()
    await bad.text()
  })

  it('answers 429 queue_full with Retry-After (exposed to browsers) beyond MAX_QUEUED_PAGES', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` }
    // hold the single slot so pages pile up: 1 running + 3 waiting of the limit 4
    hold = true
    const first = await postJson(`${srv.url}${BATCHES}`, body({ deck_title: 'q1', pages: pages(4) }), auth)
    expect(first.status).toBe(202)
    const second = await postJson(`${srv.url}${BATCHES}`, body({ deck_title: 'q2', pages: pages(3) }), { ...auth, Origin: 'https://ppt.example' })
    expect(second.status).toBe(429)
    expect(second.body.error.code).toBe('queue_full')
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(second.headers.get('access-control-expose-headers')).toMatch(/Retry-After/)
    await postJson(`${srv.url}${BATCHES}/${first.body.batch_id}/cancel`, {}, auth)
    hold = false
  })
})

describe('with the preview provider (no key)', () => {
  it('health says preview: true and a batch completes with real preview images', async () => {
    const { createProvider } = await import('../../server/providers/index.js')
    const { loadConfig } = await import('../../server/config.js')
    const t = await tempDir()
    const config = loadConfig({})
    expect(config.provider.provider).toBe('preview')
    const srv = await startTestServer({ provider: createProvider(config.provider), dataDir: path.join(t.dir, 'data'), publicDir: await fakePublicDir(t.dir) })
    try {
      const h = await getJson(`${srv.url}/api/v1/health`)
      expect(h.body).toMatchObject({ ok: true, provider: 'preview', preview: true })
      const created = await postJson(`${srv.url}${BATCHES}`, { template_id: 'nano_banana_2', deck_title: '预览', pages: [{ slide_id: 's1', title: '标题', content: '内容' }], options: { resolution: '1K' } })
      expect(created.status).toBe(202)
      await waitUntil(async () => (await getJson(`${srv.url}${BATCHES}/${created.body.batch_id}/progress`)).body.status === 'completed', 20_000)
      const p = await getJson(`${srv.url}${BATCHES}/${created.body.batch_id}/progress`)
      const img = await fetch(`${srv.url}${p.body.results[0].image_url}`)
      const { default: sharp } = await import('sharp')
      const meta = await sharp(Buffer.from(await img.arrayBuffer())).metadata()
      expect([meta.width, meta.height]).toEqual([1376, 768])
    } finally {
      await srv.stop()
      await t.cleanup()
    }
  })
})
