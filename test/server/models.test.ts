// The model catalogue (server/models.ts), its configuration (default model, PRICE_PER_IMAGE_USD,
// per-size timeouts), GET /api/v1/models, and a retired model end to end against the fake Gemini.
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../server/config.js'
import {
  DEFAULT_MODEL, describeModels, findModel, listPriceUsd, modelInfo, parsePriceOverride, pricePerImageUsd, proxySizes, retiredMessage,
} from '../../server/models.js'
import { createGeminiProvider } from '../../server/providers/gemini.js'
import { startFakeGemini, type FakeServer } from '../fakes/geminiServer.js'
import { getJson } from './helpers.js'
import { makeRequest, providerError } from './providers.helpers.js'
import { startProxy, type ProxyRun } from './proxyRun.helpers.js'

const KEY = 'AIzaSy-models-test-key-42'
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

async function fakeGemini(opts: Parameters<typeof startFakeGemini>[0]): Promise<FakeServer> {
  const fake = await startFakeGemini(opts)
  cleanups.push(() => fake.close())
  return fake
}

async function proxy(env: Record<string, string>): Promise<ProxyRun> {
  const run = await startProxy(env)
  cleanups.push(() => run.stop())
  return run
}

describe('catalogue', () => {
  it('knows the current models, their aliases and list prices; unknown ones are unknown', () => {
    expect(DEFAULT_MODEL).toBe('gemini-3-pro-image')
    expect(findModel('google/gemini-3-pro-image')?.id).toBe('gemini-3-pro-image')
    expect(findModel('models/Gemini-3.1-Flash-Image')?.name).toBe('Nano Banana 2')
    expect(listPriceUsd('gemini-3-pro-image', '2K')).toBe(0.134)
    expect(listPriceUsd('google/gemini-3-pro-image', '4K')).toBe(0.24)
    expect(listPriceUsd('gemini-3.1-flash-image', '0.5K')).toBe(0.045)
    expect(listPriceUsd('gpt-image-1', '1K')).toBeNull()
    expect(listPriceUsd('nano-banana-2.1', '2K')).toBeNull()
    expect(listPriceUsd('gemini-2.5-flash-image', '4K')).toBeNull()
  })

  it('assumes conservatively for an id it does not know, and passes it through', () => {
    const unknown = modelInfo('gemini-4-ultra-image')
    expect(unknown).toMatchObject({ known: false, id: 'gemini-4-ultra-image', status: 'current', priceUsd: {} })
    expect(proxySizes('gemini-4-ultra-image')).toEqual(['1K', '2K', '4K'])
    expect(proxySizes('gemini-2.5-flash-image')).toEqual(['1K'])
    expect(modelInfo('vendor/gpt-image-1-hd')).toMatchObject({ known: false, fixedSize: true })
  })

  it('names the replacement and the variable for a retired id (relay prefix kept)', () => {
    expect(retiredMessage('gemini-3-pro-image-preview', 'NANO_BANANA_MODEL'))
      .toBe('The model "gemini-3-pro-image-preview" was shut down on 2026-06-25; set NANO_BANANA_MODEL=gemini-3-pro-image (its replacement)')
    expect(retiredMessage('google/gemini-3.1-flash-image-preview', 'NANO_BANANA_MODEL')).toContain('NANO_BANANA_MODEL=google/gemini-3.1-flash-image')
    expect(retiredMessage('gemini-2.5-flash-image', 'NANO_BANANA_MODEL')).toContain('2026-10-02')
    expect(retiredMessage('gemini-3-pro-image', 'NANO_BANANA_MODEL')).toBeUndefined()
    expect(retiredMessage('something-new', 'NANO_BANANA_MODEL')).toBeUndefined()
  })

  it('PRICE_PER_IMAGE_USD: one price or one per size, overriding the list price', () => {
    expect(parsePriceOverride('0.2')).toBe(0.2)
    expect(parsePriceOverride('1K=0.05, 4k=0.3')).toEqual({ '1K': 0.05, '4K': 0.3 })
    expect(pricePerImageUsd('gemini-3-pro-image', '4K', 0.2)).toBe(0.2)
    expect(pricePerImageUsd('gemini-3-pro-image', '4K', { '1K': 0.05 })).toBe(0.24)
    expect(pricePerImageUsd('gpt-image-1', '1K', { '1K': 0.05 })).toBe(0.05)
    expect(pricePerImageUsd('gpt-image-1', '2K', { '1K': 0.05 })).toBeNull()
    expect(() => parsePriceOverride('cheap')).toThrow(/not a price/)
    expect(() => parsePriceOverride('8K=1')).toThrow(/2K=0.134/)
  })
})

describe('configuration', () => {
  it('defaults to gemini-3-pro-image, 120 s per call and 300 s at 4K', () => {
    const c = loadConfig({ GEMINI_API_KEY: 'k' })
    expect(c.provider).toMatchObject({ model: 'gemini-3-pro-image', timeoutMs: 120_000, timeoutMs4K: 300_000 })
    expect(c.priceOverride).toBeUndefined()
  })

  it('reads NANO_BANANA_TIMEOUT_4K and PRICE_PER_IMAGE_USD; a 4K deadline never undercuts the base one', () => {
    expect(loadConfig({ NANO_BANANA_TIMEOUT: '30', NANO_BANANA_TIMEOUT_4K: '90', PRICE_PER_IMAGE_USD: '4K=0.3' })).toMatchObject({
      provider: { timeoutMs: 30_000, timeoutMs4K: 90_000 }, priceOverride: { '4K': 0.3 },
    })
    expect(loadConfig({ NANO_BANANA_TIMEOUT: '600' }).provider.timeoutMs4K).toBe(600_000)
    expect(() => loadConfig({ PRICE_PER_IMAGE_USD: 'free' })).toThrow(ConfigError)
    expect(() => loadConfig({ PRICE_PER_IMAGE_USD: 'free' })).toThrow(/^PRICE_PER_IMAGE_USD/)
    expect(() => loadConfig({ NANO_BANANA_TIMEOUT_4K: '0' })).toThrow(/^NANO_BANANA_TIMEOUT_4K/)
  })
})

describe('per-size timeouts', () => {
  it('a 4K call may take longer than a 1K call', async () => {
    const fake = await fakeGemini({ validKey: KEY, mislabelRate: 0, latencyMs: 700 })
    const provider = createGeminiProvider({ apiKey: KEY, baseUrl: fake.url, model: 'gemini-3-pro-image', timeoutMs: 300, timeoutMs4K: 10_000 })
    const slow = await providerError(provider.generate(await makeRequest({ resolution: '1K' })))
    expect(slow).toMatchObject({ kind: 'retryable', code: 'upstream_timeout' })
    expect(slow.message).toBe('Gemini did not answer within 300 ms')
    const image = await provider.generate(await makeRequest({ resolution: '4K' }))
    expect(image.bytes.length).toBeGreaterThan(1000)
  })
})

describe('describeModels / GET /api/v1/models', () => {
  it('describes the configured model with sizes, prices (null when unknown), deadlines and status', () => {
    const body = describeModels({ provider: 'openai-images', model: 'gpt-image-1', defaultResolution: '4K', timeouts: { timeoutMs: 60_000, timeoutMs4K: 200_000 } })
    expect(body.model).toMatchObject({ id: 'gpt-image-1', known: true, status: 'current', fixed_size: true, aspect_ratios: ['1:1', '3:2', '2:3'] })
    expect(body.model.sizes).toEqual([
      { size: '1K', price_usd: null, price_source: null, timeout_s: 60 },
      { size: '2K', price_usd: null, price_source: null, timeout_s: 60 },
    ])
    expect(body.default_resolution).toBe('2K')
    expect(body.catalogue.find(m => m.id === 'gemini-3-pro-image-preview')).toMatchObject({ status: 'retired', retired_on: '2026-06-25', replacement: 'gemini-3-pro-image' })
  })

  it('serves the configured Gemini model, with PRICE_PER_IMAGE_USD applied', async () => {
    const fake = await fakeGemini({ validKey: KEY })
    const run = await proxy({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.url, PRICE_PER_IMAGE_USD: '4K=0.2' })
    const res = await getJson(`${run.srv.url}/api/v1/models`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ provider: 'gemini', default_resolution: '2K', model: { id: 'gemini-3-pro-image', name: 'Nano Banana Pro', status: 'current', known: true } })
    expect(res.body.model.sizes).toEqual([
      { size: '1K', price_usd: 0.134, price_source: 'list', timeout_s: 20 },
      { size: '2K', price_usd: 0.134, price_source: 'list', timeout_s: 20 },
      { size: '4K', price_usd: 0.2, price_source: 'override', timeout_s: 300 },
    ])
    expect(JSON.stringify(res.body)).not.toContain(KEY)
  })

  it('the offline preview is free', async () => {
    const run = await proxy({})
    const res = await getJson(`${run.srv.url}/api/v1/models`)
    expect(res.body.provider).toBe('preview')
    expect(res.body.model.sizes.map((s: { price_usd: number }) => s.price_usd)).toEqual([0, 0, 0])
  })
})

describe('end to end against the fake Gemini', () => {
  it('with only GEMINI_API_KEY set, /health and every request path name gemini-3-pro-image', async () => {
    const fake = await fakeGemini({ validKey: KEY, models: ['gemini-3-pro-image'], mislabelRate: 0 })
    const run = await proxy({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.url })
    expect((await getJson(`${run.srv.url}/api/v1/health`)).body).toMatchObject({ provider: 'gemini', model: 'gemini-3-pro-image' })
    const progress = await run.runBatch(3)
    expect(progress.status).toBe('completed')
    expect(fake.stats.requests).toBe(3)
    expect(fake.lastRequests.map(r => r.path)).toEqual(Array(3).fill('/v1beta/models/gemini-3-pro-image:generateContent'))
  })

  it('a retired id fails every page as model_retired at once (no retries), naming the replacement and the variable', async () => {
    const fake = await fakeGemini({ validKey: KEY, models: ['gemini-3-pro-image'] })
    const run = await proxy({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.url, NANO_BANANA_MODEL: 'gemini-3-pro-image-preview' })
    const progress = await run.runBatch(2)
    expect(progress.status).toBe('failed')
    for (const page of progress.results) {
      expect(page).toMatchObject({ status: 'failed', error_code: 'model_retired', retry_count: 0 })
      expect(page.error_message).toContain('NANO_BANANA_MODEL=gemini-3-pro-image')
    }
    expect(fake.stats.requests).toBe(2)
    const models = (await getJson(`${run.srv.url}/api/v1/models`)).body
    expect(models.model).toMatchObject({ status: 'retired', replacement: 'gemini-3-pro-image' })
  })
})
