import { afterEach, describe, expect, it } from 'vitest'
import { createOpenAIChatProvider, findChatImage } from '../../server/providers/openaiChat.js'
import { startFakeOpenAI, type ChatShape, type FakeOpenAIOptions, type FakeServer, type OpenAIFault } from '../fakes/openaiServer.js'
import { dimensions, errorText, makeRequest, providerError } from './providers.helpers.js'

const KEY = 'sk-test-0123456789abcdef'
const MODEL = 'google/gemini-3-pro-image'
const servers: FakeServer[] = []

afterEach(async () => {
  await Promise.all(servers.splice(0).map(s => s.close()))
})

async function setup(opts: FakeOpenAIOptions & { fault?: OpenAIFault | null; timeoutMs?: number; apiKey?: string; maxDownloadBytes?: number } = {}) {
  const fake = await startFakeOpenAI({ validKey: KEY, ...opts, script: () => opts.fault ?? null })
  servers.push(fake)
  const provider = createOpenAIChatProvider({
    apiKey: opts.apiKey ?? KEY, baseUrl: `${fake.url}/api/v1/`, model: MODEL, timeoutMs: opts.timeoutMs ?? 10_000, maxDownloadBytes: opts.maxDownloadBytes,
    // the fake file server is on 127.0.0.1, which the default policy refuses (ssrf.test.ts)
    imageHosts: { allowPrivate: false, allowList: ['127.0.0.1'] },
  })
  return { fake, provider }
}

describe('openai-chat provider', () => {
  it('fails a JSON answer over MAX_UPSTREAM_RESPONSE_MB with image_too_large', async () => {
    const { provider } = await setup({ maxDownloadBytes: 1000 })
    expect(await providerError(provider.generate(await makeRequest()))).toMatchObject({ kind: 'fatal', code: 'image_too_large' })
  })

  it('sends the references as data URLs before the prompt, with modalities and image_config', async () => {
    const { fake, provider } = await setup()
    const req = await makeRequest({ resolution: '2K' })
    const image = await provider.generate(req)
    expect(await dimensions(image.bytes)).toMatchObject({ width: 2752, height: 1536, format: 'png' })
    const sent = fake.lastRequests.at(-1)
    expect(sent?.path).toBe('/api/v1/chat/completions')
    expect(sent?.headers.authorization).toBe(`Bearer ${KEY}`)
    expect(sent?.body).toEqual({
      model: MODEL,
      messages: [{ role: 'user', content: [
        { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${req.references[0].bytes.toString('base64')}` } },
        { type: 'text', text: req.prompt },
      ] }],
      modalities: ['image', 'text'],
      image_config: { aspect_ratio: '16:9', image_size: '2K' },
    })
  })

  const inlineShapes: ChatShape[] = ['openrouter', 'content_image_url', 'content_image_b64', 'markdown_data', 'images_api']
  for (const shape of inlineShapes) {
    it(`finds the image in the ${shape} shape`, async () => {
      const { provider } = await setup({ shape })
      const image = await provider.generate(await makeRequest())
      expect(image.mime).toBe('image/png')
      expect(await dimensions(image.bytes)).toMatchObject({ width: 1376, height: 768 })
    })
  }

  for (const shape of ['markdown_url', 'plain_url'] as const) {
    it(`downloads the image linked in the ${shape} shape from another server`, async () => {
      const files = await startFakeOpenAI()
      servers.push(files)
      const { fake, provider } = await setup({ shape, fileBaseUrl: files.url })
      const image = await provider.generate(await makeRequest())
      expect(await dimensions(image.bytes)).toMatchObject({ width: 1376, height: 768, format: 'png' })
      expect(files.lastRequests.map(r => `${r.method} ${r.path}`)).toEqual(['GET /files/1376x768.png'])
      expect(fake.stats.byFault.file).toBeUndefined()
    })
  }

  it('stops a download beyond the size cap', async () => {
    const files = await startFakeOpenAI({ hugeBytes: 8 * 1024 * 1024 })
    servers.push(files)
    const { provider } = await setup({ shape: 'plain_url', fileBaseUrl: files.url, filePath: '/files/huge.png', maxDownloadBytes: 1024 * 1024 })
    const err = await providerError(provider.generate(await makeRequest()))
    expect(err).toMatchObject({ kind: 'fatal', code: 'image_too_large' })
  })

  it('treats a dead image link as retryable', async () => {
    const files = await startFakeOpenAI()
    servers.push(files)
    const { provider } = await setup({ shape: 'markdown_url', fileBaseUrl: files.url, filePath: '/files/expired' })
    const err = await providerError(provider.generate(await makeRequest()))
    expect(err).toMatchObject({ kind: 'retryable', code: 'download_failed', status: 404 })
  })

  it('sniffs JPEG bytes in a data:image/png URL', async () => {
    const { provider } = await setup({ fault: 'jpeg_as_png' })
    const image = await provider.generate(await makeRequest())
    expect(image.mime).toBe('image/jpeg')
  })

  const cases: Array<[OpenAIFault, string, string]> = [
    ['500', 'retryable', 'upstream_error'],
    ['400', 'fatal', 'upstream_rejected'],
    ['404', 'fatal', 'model_not_found'],
    ['insufficient_quota', 'fatal', 'quota_exhausted'],
    ['truncated', 'retryable', 'bad_response'],
    ['garbage', 'retryable', 'bad_response'],
    ['no_image', 'retryable', 'no_image'],
    ['safety', 'refused', 'safety_refused'],
    ['error_in_200', 'retryable', 'rate_limited'],
  ]
  for (const [fault, kind, code] of cases) {
    it(`classifies ${fault} as ${kind} ${code}`, async () => {
      const { provider } = await setup({ fault })
      const err = await providerError(provider.generate(await makeRequest()))
      expect({ kind: err.kind, code: err.code }).toEqual({ kind, code })
      expect(errorText(err)).not.toContain(KEY)
    })
  }

  it('honours Retry-After in seconds on 429 and as an HTTP date on 503', async () => {
    const { provider } = await setup({ fault: '429', retryAfter: '3' })
    expect(await providerError(provider.generate(await makeRequest()))).toMatchObject({ kind: 'retryable', code: 'rate_limited', status: 429, retryAfterMs: 3000 })

    const when = new Date(Date.now() + 20_000).toUTCString()
    const second = await setup({ fault: '503', retryAfter: when })
    const err = await providerError(second.provider.generate(await makeRequest()))
    expect(err).toMatchObject({ kind: 'retryable', code: 'upstream_unavailable', status: 503 })
    expect(err.retryAfterMs).toBeGreaterThan(15_000)
    expect(err.retryAfterMs).toBeLessThanOrEqual(20_000)
  })

  it('rejects a wrong key as fatal and redacts the key the upstream echoed', async () => {
    const wrongKey = 'sk-wrong-9876543210fedcba'
    const { fake, provider } = await setup({ apiKey: wrongKey })
    const err = await providerError(provider.generate(await makeRequest()))
    expect(err).toMatchObject({ kind: 'fatal', code: 'invalid_api_key', status: 401 })
    expect(err.message).toContain('OPENAI_API_KEY')
    expect(errorText(err)).not.toContain(wrongKey)
    expect(fake.stats.byFault.bad_key).toBe(1)
  })

  it('times out a response whose body stalls half-way', async () => {
    const { fake, provider } = await setup({ fault: 'stall', timeoutMs: 400 })
    expect(await providerError(provider.generate(await makeRequest()))).toMatchObject({ kind: 'retryable', code: 'upstream_timeout' })
    await expect.poll(() => fake.stats.inFlight).toBe(0)
  })

  it('times out a hanging relay as retryable, and aborts with our signal', async () => {
    const { fake, provider } = await setup({ fault: 'hang', timeoutMs: 300 })
    expect(await providerError(provider.generate(await makeRequest()))).toMatchObject({ kind: 'retryable', code: 'upstream_timeout' })

    const slow = await setup({ fault: 'hang' })
    const controller = new AbortController()
    const pending = slow.provider.generate(await makeRequest({ signal: controller.signal }))
    await expect.poll(() => slow.fake.stats.inFlight).toBe(1)
    controller.abort()
    expect(await providerError(pending)).toMatchObject({ kind: 'aborted' })
    await expect.poll(() => slow.fake.stats.inFlight + fake.stats.inFlight).toBe(0)
  })
})

describe('findChatImage', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3])
  const b64 = png.toString('base64')
  const chat = (message: Record<string, unknown>) => ({ choices: [{ message }] })

  it('prefers message.images over the content', () => {
    const found = findChatImage(chat({ content: '![x](https://a.example/x.png)', images: [{ image_url: { url: `data:image/png;base64,${b64}` } }] }))
    expect(found).toEqual({ bytes: png })
  })

  it('takes the last markdown image and strips trailing punctuation from plain URLs', () => {
    expect(findChatImage(chat({ content: '![draft](https://a.example/1.png) then ![final](https://a.example/2.png)' }))).toEqual({ url: 'https://a.example/2.png' })
    expect(findChatImage(chat({ content: 'Download: https://a.example/slide.png.' }))).toEqual({ url: 'https://a.example/slide.png' })
  })

  it('ignores non-http links and text without images', () => {
    expect(findChatImage(chat({ content: '![x](file:///etc/passwd) ftp://host/x.png' }))).toBeNull()
    expect(findChatImage(chat({ content: 'no image here' }))).toBeNull()
    expect(findChatImage({})).toBeNull()
  })
})
