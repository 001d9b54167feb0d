import { afterEach, describe, expect, it } from 'vitest'
import { createGeminiProvider } from '../../server/providers/gemini.js'
import { startFakeGemini, type FakeServer, type GeminiFault } from '../fakes/geminiServer.js'
import { dimensions, errorText, makeRequest, providerError } from './providers.helpers.js'

const KEY = 'AIzaSy-test-key-0123456789'
const MODEL = 'gemini-3-pro-image'
let fake: FakeServer | undefined

afterEach(async () => {
  await fake?.close()
  fake = undefined
})

async function setup(fault: GeminiFault | null, opts: { timeoutMs?: number; apiKey?: string; model?: string } = {}) {
  fake = await startFakeGemini({ validKey: KEY, models: [MODEL], mislabelRate: 0, script: () => fault })
  const provider = createGeminiProvider({ apiKey: opts.apiKey ?? KEY, baseUrl: fake.url, model: opts.model ?? MODEL, timeoutMs: opts.timeoutMs ?? 10_000 })
  return { fake, provider }
}

describe('gemini provider', () => {
  it('fails an answer over MAX_UPSTREAM_RESPONSE_MB with image_too_large, closing the connection instead of reading on', async () => {
    fake = await startFakeGemini({ validKey: KEY, models: [MODEL], mislabelRate: 0, script: () => 'oversized', oversizedBytes: 256 * 1024 * 1024 })
    const provider = createGeminiProvider({ apiKey: KEY, baseUrl: fake.url, model: MODEL, timeoutMs: 30_000, maxResponseBytes: 4 * 1024 * 1024 })
    const err = await providerError(provider.generate(await makeRequest()))
    expect(err).toMatchObject({ kind: 'fatal', code: 'image_too_large' })
    expect(err.message).toContain('4 MB')
    // the fake stops writing once the proxy cancels: far below the 256 MB it would send (socket buffers hold a few MB)
    await expect.poll(() => fake?.stats.oversizedSent).toBeDefined()
    expect(fake.stats.oversizedSent).toBeLessThan(32 * 1024 * 1024)
  })

  it('sends references then the prompt, and takes the last non-thought image', async () => {
    const { fake, provider } = await setup(null)
    const req = await makeRequest({ resolution: '2K' })
    const image = await provider.generate(req)
    expect(image.mime).toBe('image/png')
    // the draft (thought) image is 1/8 of the size: getting 2752×1536 proves the final part was taken
    expect(await dimensions(image.bytes)).toMatchObject({ width: 2752, height: 1536, format: 'png' })

    const sent = fake.lastRequests.at(-1)
    expect(sent?.path).toBe(`/v1beta/models/${MODEL}:generateContent`)
    expect(sent?.headers['x-goog-api-key']).toBe(KEY)
    const body = sent?.body as { contents: Array<{ parts: Array<Record<string, unknown>> }>; generationConfig: Record<string, unknown> }
    const parts = body.contents[0].parts
    expect(parts).toHaveLength(2)
    expect(parts[0]).toEqual({ inlineData: { mimeType: 'image/jpeg', data: req.references[0].bytes.toString('base64') } })
    expect(parts[1]).toEqual({ text: req.prompt })
    expect(body.generationConfig).toMatchObject({ responseModalities: ['TEXT', 'IMAGE'], imageConfig: { aspectRatio: '16:9', imageSize: '2K' } })
  })

  it('sniffs JPEG bytes labelled image/png', async () => {
    const { provider } = await setup('jpeg_as_png')
    const image = await provider.generate(await makeRequest())
    expect(image.mime).toBe('image/jpeg')
    expect(await dimensions(image.bytes)).toMatchObject({ width: 1376, height: 768, format: 'jpeg' })
  })

  it('converts a WebP answer to PNG', async () => {
    const { provider } = await setup('webp')
    const image = await provider.generate(await makeRequest())
    expect(image.mime).toBe('image/png')
    expect(await dimensions(image.bytes)).toMatchObject({ width: 1376, height: 768, format: 'png' })
  })

  it('does not send imageSize to 1K-only Gemini 2.5 models', async () => {
    fake = await startFakeGemini({ mislabelRate: 0 })
    const provider = createGeminiProvider({ apiKey: KEY, baseUrl: fake.url, model: 'gemini-2.5-flash-image', timeoutMs: 10_000 })
    await provider.generate(await makeRequest({ resolution: '2K' }))
    const body = fake.lastRequests.at(-1)?.body as { generationConfig: { imageConfig: Record<string, unknown> } }
    expect(body.generationConfig.imageConfig).toEqual({ aspectRatio: '16:9' })
  })

  const cases: Array<[GeminiFault, string, string]> = [
    ['429_daily', 'fatal', 'daily_quota_exhausted'],
    ['500', 'retryable', 'upstream_error'],
    ['503', 'retryable', 'upstream_unavailable'],
    ['504', 'retryable', 'upstream_timeout'],
    ['400_precondition', 'fatal', 'upstream_precondition'],
    ['403', 'fatal', 'permission_denied'],
    ['truncated', 'retryable', 'bad_response'],
    ['garbage', 'retryable', 'bad_response'],
    ['no_image', 'retryable', 'no_image'],
    ['image_other', 'retryable', 'no_image'],
    ['draft_only', 'retryable', 'no_image'],
    ['safety', 'refused', 'safety_refused'],
    ['blocked', 'refused', 'safety_refused'],
  ]
  for (const [fault, kind, code] of cases) {
    it(`classifies ${fault} as ${kind} ${code}`, async () => {
      const { provider } = await setup(fault)
      const err = await providerError(provider.generate(await makeRequest()))
      expect({ kind: err.kind, code: err.code }).toEqual({ kind, code })
      expect(errorText(err)).not.toContain(KEY)
    })
  }

  for (const reason of ['IMAGE_PROHIBITED_CONTENT', 'IMAGE_RECITATION', 'SAFETY', 'PROHIBITED_CONTENT']) {
    it(`treats finishReason ${reason} without an image as a refusal naming it`, async () => {
      fake = await startFakeGemini({ safetyReason: reason, script: () => 'safety' })
      const provider = createGeminiProvider({ apiKey: KEY, baseUrl: fake.url, model: MODEL, timeoutMs: 10_000 })
      const err = await providerError(provider.generate(await makeRequest()))
      expect(err).toMatchObject({ kind: 'refused', code: 'safety_refused' })
      expect(err.message).toContain(reason)
    })
  }

  it('reads RetryInfo on 429', async () => {
    const { provider } = await setup('429')
    const err = await providerError(provider.generate(await makeRequest()))
    expect(err).toMatchObject({ kind: 'retryable', code: 'rate_limited', status: 429, retryAfterMs: 200 })
  })

  it('explains a safety refusal with the reason and what to do', async () => {
    const { provider } = await setup('safety')
    const err = await providerError(provider.generate(await makeRequest()))
    expect(err.message).toContain('IMAGE_SAFETY')
    expect(err.message).toMatch(/rephrase/i)
  })

  it('rejects a wrong key as fatal invalid_api_key without echoing it', async () => {
    const wrongKey = 'AIzaSy-wrong-key-9876543210'
    const { provider } = await setup(null, { apiKey: wrongKey })
    const err = await providerError(provider.generate(await makeRequest()))
    expect(err).toMatchObject({ kind: 'fatal', code: 'invalid_api_key', status: 400 })
    expect(err.message).toContain('GEMINI_API_KEY')
    expect(errorText(err)).not.toContain(wrongKey)
  })

  it('names the unknown model on 404', async () => {
    const { provider } = await setup(null, { model: 'gemini-9-imaginary' })
    const err = await providerError(provider.generate(await makeRequest()))
    expect(err).toMatchObject({ kind: 'fatal', code: 'model_not_found', status: 404 })
    expect(err.message).toContain('gemini-9-imaginary')
  })

  it('times out a hanging upstream as retryable', async () => {
    const { fake, provider } = await setup('hang', { timeoutMs: 300 })
    const err = await providerError(provider.generate(await makeRequest()))
    expect(err).toMatchObject({ kind: 'retryable', code: 'upstream_timeout' })
    await expect.poll(() => fake.stats.inFlight).toBe(0)
  })

  it('times out a response whose body stalls half-way', async () => {
    const { fake, provider } = await setup('stall', { timeoutMs: 400 })
    const err = await providerError(provider.generate(await makeRequest()))
    expect(err).toMatchObject({ kind: 'retryable', code: 'upstream_timeout' })
    await expect.poll(() => fake.stats.inFlight).toBe(0)
  })

  it('aborts when our signal fires, and the upstream sees the request go away', async () => {
    const { fake, provider } = await setup('hang')
    const controller = new AbortController()
    const pending = provider.generate(await makeRequest({ signal: controller.signal }))
    await expect.poll(() => fake.stats.inFlight).toBe(1)
    controller.abort()
    const err = await providerError(pending)
    expect(err).toMatchObject({ kind: 'aborted', code: 'aborted' })
    await expect.poll(() => fake.stats.inFlight).toBe(0)
  })

  it('fails fast when the signal is already aborted', async () => {
    const { fake, provider } = await setup(null)
    const controller = new AbortController()
    controller.abort()
    const err = await providerError(provider.generate(await makeRequest({ signal: controller.signal })))
    expect(err.kind).toBe('aborted')
    expect(fake.stats.requests).toBe(0)
  })

  it('reports an unreachable upstream as a retryable network error', async () => {
    const { fake, provider } = await setup(null)
    await fake.close()
    const err = await providerError(provider.generate(await makeRequest()))
    expect(err).toMatchObject({ kind: 'retryable', code: 'network_error' })
  })
})
