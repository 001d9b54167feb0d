// /metrics against the real proxy and the fake Gemini upstream: the named series exist and move
// when a batch runs (with a scripted 429 and a safety refusal), METRICS_TOKEN guards the endpoint.
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../../server/app.js'
import { configSecrets, loadConfig } from '../../server/config.js'
import { createMemoryLogger } from '../../server/logger.js'
import { createProvider } from '../../server/providers/index.js'
import type { FakeServer } from '../fakes/common.js'
import { startFakeGemini, type GeminiFault } from '../fakes/geminiServer.js'
import { fakePublicDir, openSse, postJson, tempDir, waitUntil } from './helpers.js'
import { sample } from './promText.js'

const BATCHES = '/api/v1/slide-generations/batches'
const KEY = 'metrics-test-key-0001'
const METRICS_TOKEN = 'metrics-token-123'

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

async function scrape(srv: RunningServer, token = METRICS_TOKEN): Promise<string> {
  const res = await fetch(`${srv.url}/metrics`, { headers: { Authorization: `Bearer ${token}` } })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return res.text()
}

async function harness(script: (i: number) => GeminiFault | null, latencyMs: number): Promise<{ srv: RunningServer; fake: FakeServer; logLines: string[] }> {
  const t = await tempDir('nb-metrics-')
  cleanups.push(t.cleanup)
  const fake = await startFakeGemini({ latencyMs, validKey: KEY, retryDelay: '0.02s', mislabelRate: 0, script: i => script(i) })
  cleanups.push(() => fake.close())
  const config = loadConfig({
    GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.url, NANO_BANANA_MODEL: 'gemini-3-pro-image-preview', MAX_CONCURRENT_GENERATIONS: '2',
    DATA_DIR: path.join(t.dir, 'data'), IMAGE_THUMBNAIL_SIZE: '160x90', METRICS_TOKEN,
  })
  const logger = createMemoryLogger(configSecrets(config))
  const srv = await startServer({
    config, logger, provider: createProvider(config.provider), publicDir: await fakePublicDir(t.dir),
    backoff: { baseMs: 10, maxMs: 40 }, pingIntervalMs: 1000,
  })
  cleanups.push(() => srv.stop())
  return { srv, fake, logLines: logger.lines }
}

describe('/metrics', () => {
  it('exposes the named series, and they move when a batch runs against the fake upstream', async () => {
    // request 0 → 429 (a quota wait, not a retry), request 1 → 503 (retried), request 2 → safety refusal
    // (page fails), the rest succeed
    const { srv, logLines } = await harness(i => (i === 0 ? '429' : i === 1 ? '503' : i === 2 ? 'safety' : null), 400)
    const before = await scrape(srv)
    for (const name of ['process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes', 'nano_banana_queue_depth', 'nano_banana_upstream_in_flight', 'nano_banana_sse_clients']) {
      expect(sample(before, name), name).toBeDefined()
    }
    expect(before).toContain('# TYPE nano_banana_upstream_request_duration_seconds histogram')
    expect(before).toContain('# TYPE nano_banana_spend_usd_total counter')
    expect(sample(before, 'nano_banana_sse_clients')).toBe(0)

    const created = await postJson(`${srv.url}${BATCHES}`, {
      template_id: 'nano_banana_1', deck_title: 'm', options: { resolution: '2K', style_chain: false },
      pages: Array.from({ length: 5 }, (_, i) => ({ slide_id: `s${i + 1}`, title: `T${i + 1}`, content: `c${i + 1}` })),
    })
    expect(created.status).toBe(202)
    const sse = await openSse(`${srv.url}${BATCHES}/${created.body.batch_id}/events`)
    // while the batch runs: one stream open, two calls in flight, the rest waiting
    await sse.waitFor(e => e.event === 'snapshot')
    const during = await scrape(srv)
    expect(sample(during, 'nano_banana_sse_clients')).toBe(1)
    expect(sample(during, 'nano_banana_upstream_in_flight')).toBeGreaterThan(0)
    expect((sample(during, 'nano_banana_queue_depth') ?? 0) + (sample(during, 'nano_banana_upstream_in_flight') ?? 0)).toBeGreaterThanOrEqual(3)
    await sse.closed
    await waitUntil(async () => sample(await scrape(srv), 'nano_banana_sse_clients') === 0, 5000)

    const after = await scrape(srv)
    const model = { model: 'gemini-3-pro-image-preview', resolution: '2K' }
    // 7 calls: 5 pages + the call after the quota wait + the retry after the 503; the refused page is not retried
    expect(sample(after, 'nano_banana_upstream_requests_total', { ...model, outcome: 'ok' })).toBe(4)
    expect(sample(after, 'nano_banana_upstream_requests_total', { ...model, outcome: 'rate_limited' })).toBe(1)
    expect(sample(after, 'nano_banana_upstream_requests_total', { ...model, outcome: 'safety_refused' })).toBe(1)
    expect(sample(after, 'nano_banana_upstream_rate_limited_total', { model: model.model })).toBe(1)
    expect(sample(after, 'nano_banana_upstream_request_duration_seconds_count', { ...model, outcome: 'ok' })).toBe(4)
    expect(sample(after, 'nano_banana_upstream_request_duration_seconds_sum', { ...model, outcome: 'ok' })).toBeGreaterThan(4 * 0.4 * 0.9)
    // the fast buckets stay empty: every call waited the fake's 400 ms
    expect(sample(after, 'nano_banana_upstream_request_duration_seconds_bucket', { ...model, outcome: 'ok', le: '0.25' })).toBe(0)
    // four images at the 2K list price
    expect(sample(after, 'nano_banana_spend_usd_total', model)).toBeCloseTo(4 * 0.134, 6)
    expect(sample(after, 'nano_banana_queue_depth')).toBe(0)
    expect(sample(after, 'nano_banana_upstream_in_flight')).toBe(0)
    // the engine's view: pages by outcome, retries, thumbnails, the batch's duration
    expect(sample(after, 'nano_banana_pages_total', { outcome: 'completed', error_code: '' })).toBe(4)
    expect(sample(after, 'nano_banana_pages_total', { outcome: 'failed', error_code: 'safety_refused' })).toBe(1)
    // a quota wait does not use up a retry (issue 11): only the 503 counts
    expect(sample(after, 'nano_banana_page_retries_total', { error_code: 'rate_limited' })).toBeUndefined()
    expect(sample(after, 'nano_banana_page_retries_total', { error_code: 'upstream_unavailable' })).toBe(1)
    await srv.batches.flush()
    const later = await scrape(srv)
    expect(sample(later, 'nano_banana_thumbnails_total', { outcome: 'made' })).toBe(4)
    expect(sample(later, 'nano_banana_batch_duration_seconds_count', { status: 'partial' })).toBe(1)
    expect(sample(later, 'nano_banana_batch_duration_seconds_sum', { status: 'partial' })).toBeGreaterThan(0.8)

    // every log line is JSON; the page lifecycle lines carry the original design's fields, never the key
    const lines = logLines.map(l => JSON.parse(l) as Record<string, unknown>)
    expect(logLines.join('\n')).not.toContain(KEY)
    const page = (msg: string) => lines.filter(l => l.msg === msg)
    const base = { batch_id: created.body.batch_id, template_id: 'nano_banana_1', model: 'gemini-3-pro-image-preview', resolution: '2K' }
    expect(page('page started')).toHaveLength(7)
    for (const l of page('page started')) {
      expect(l).toMatchObject({ ...base, level: 'info' })
      expect(l.slide_id).toBe(`s${l.page_number}`)
      expect(l.prompt_length).toBeGreaterThan(50)
      expect(typeof l.retry_count).toBe('number')
    }
    expect(page('page completed')).toHaveLength(4)
    for (const l of page('page completed')) {
      expect(l).toMatchObject({ ...base, cached: false })
      expect(l.duration_ms).toBeGreaterThanOrEqual(390)
      expect(l.image_bytes).toBeGreaterThan(10_000)
    }
    const retrying = page('page attempt failed, retrying')
    expect(retrying).toHaveLength(1)
    expect(retrying[0]).toMatchObject({ ...base, level: 'warn', error_code: 'upstream_unavailable', retry_count: 1 })
    const quotaWaits = page('page rate limited, waiting for quota')
    expect(quotaWaits).toHaveLength(1)
    expect(quotaWaits[0]).toMatchObject({ level: 'warn', batch: created.body.batch_id })
    const failed = page('page failed')
    expect(failed).toHaveLength(1)
    expect(failed[0]).toMatchObject({ ...base, level: 'warn', error_code: 'safety_refused', error_kind: 'refused' })
    expect([0, 1]).toContain(failed[0].retry_count) // the refused call may be the one after the 503
    expect(page('batch finished')[0]).toMatchObject({ batch_id: base.batch_id, status: 'partial', completed_pages: 4, failed_pages: 1 })
  })

  it('counts cancelled pages and the cancelled batch', async () => {
    const { srv } = await harness(() => 'hang', 0)
    const created = await postJson(`${srv.url}${BATCHES}`, {
      template_id: 'nano_banana_1', deck_title: 'c', options: { style_chain: false },
      pages: Array.from({ length: 3 }, (_, i) => ({ slide_id: `s${i + 1}`, title: `T${i + 1}`, content: 'c' })),
    })
    await waitUntil(async () => sample(await scrape(srv), 'nano_banana_upstream_in_flight') === 2)
    expect((await postJson(`${srv.url}${BATCHES}/${created.body.batch_id}/cancel`, {})).status).toBe(200)
    const after = await scrape(srv)
    expect(sample(after, 'nano_banana_pages_total', { outcome: 'cancelled', error_code: '' })).toBe(3)
    expect(sample(after, 'nano_banana_batch_duration_seconds_count', { status: 'cancelled' })).toBe(1)
    // aborted calls are neither errors nor spend
    expect(sample(after, 'nano_banana_upstream_requests_total', { outcome: 'aborted' })).toBeUndefined()
    expect(after).not.toMatch(/^nano_banana_spend_usd_total\{/m)
  })

  it('needs METRICS_TOKEN when one is set', async () => {
    const { srv } = await harness(() => null, 0)
    const none = await fetch(`${srv.url}/metrics`)
    expect(none.status).toBe(401)
    expect((await none.json()).error.code).toBe('unauthorized')
    const wrong = await fetch(`${srv.url}/metrics`, { headers: { Authorization: 'Bearer nope-nope-nope' } })
    expect(wrong.status).toBe(401)
    await wrong.text()
    expect(sample(await scrape(srv), 'nano_banana_sse_clients')).toBe(0)
  })
})

describe('METRICS_TOKEN setting', () => {
  it('is at least 8 characters and counts as a secret for redaction', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/^METRICS_TOKEN must be at least 8 characters long$/)
    expect(configSecrets(loadConfig({ METRICS_TOKEN: 'long-enough-token' }))).toContain('long-enough-token')
  })
})
