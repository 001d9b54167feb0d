import { afterEach, describe, expect, it } from 'vitest'
import { createOpenAIImagesProvider, imagesApiSize } from '../../server/providers/openaiImages.js'
import { startFakeOpenAI, type FakeServer, type OpenAIFault } from '../fakes/openaiServer.js'
import { fakeImage } from '../fakes/images.js'
import { dimensions, errorText, makeRequest, providerError } from './providers.helpers.js'

const KEY = 'sk-images-0123456789abcdef'
let fake: FakeServer | undefined

afterEach(async () => {
  await fake?.close()
  fake = undefined
})

async function setup(fault: OpenAIFault | null = null, model = 'gpt-image-1', opts: { timeoutMs?: number; retryAfter?: string } = {}) {
  fake = await startFakeOpenAI({ validKey: KEY, retryAfter: opts.retryAfter, script: () => fault })
  const provider = createOpenAIImagesProvider({ apiKey: KEY, baseUrl: `${fake.url}/v1`, model, timeoutMs: opts.timeoutMs ?? 10_000 })
  return { fake, provider }
}

describe('openai-images provider', () => {
  it('uses /images/generations with JSON when there are no references; a 3:2 answer is cropped to the 16:9 slide', async () => {
    const { fake, provider } = await setup()
    const req = await makeRequest({ references: [], resolution: '2K' })
    const image = await provider.generate(req)
    // gpt-image-1 draws 1536x1024 (3:2); the centred 16:9 band is kept
    expect(await dimensions(image.bytes)).toMatchObject({ width: 1536, height: 864, format: 'png' })
    const sent = fake.lastRequests.at(-1)
    expect(sent?.path).toBe('/v1/images/generations')
    expect(sent?.headers.authorization).toBe(`Bearer ${KEY}`)
    const body = sent?.body as Record<string, unknown>
    expect(body).toMatchObject({ model: 'gpt-image-1', size: '1536x1024', quality: 'high', n: 1 })
    expect(String(body.prompt)).toMatch(/^Render the slide titled "Quarterly results"\.\n\nImportant layout constraint: the 1536×1024 picture will be cropped to the slide's 16:9 format/)
  })

  it('uses /images/edits with one image[] file per reference', async () => {
    const { fake, provider } = await setup(null, 'gpt-image-2')
    const req = await makeRequest({
      resolution: '2K',
      references: [
        { role: 'template', mime: 'image/jpeg', bytes: await fakeImage(320, 180, 'jpeg') },
        { role: 'style_chain', mime: 'image/png', bytes: await fakeImage(320, 180, 'png') },
      ],
    })
    const image = await provider.generate(req)
    expect(await dimensions(image.bytes)).toMatchObject({ width: 2560, height: 1440 })
    const sent = fake.lastRequests.at(-1)
    expect(sent?.path).toBe('/v1/images/edits')
    expect(sent?.body).toEqual({
      fields: { model: 'gpt-image-2', prompt: req.prompt, size: '2560x1440', quality: 'high', n: '1' },
      files: [
        { field: 'image[]', name: 'reference-1.jpg', type: 'image/jpeg', size: req.references[0].bytes.length },
        { field: 'image[]', name: 'reference-2.png', type: 'image/png', size: req.references[1].bytes.length },
      ],
    })
  })

  it('treats moderation_blocked as a refusal', async () => {
    const { provider } = await setup('safety')
    const err = await providerError(provider.generate(await makeRequest()))
    expect(err).toMatchObject({ kind: 'refused', code: 'safety_refused', status: 400 })
    expect(err.message).toMatch(/rephrase/i)
  })

  const cases: Array<[OpenAIFault, string, string]> = [
    ['429', 'retryable', 'rate_limited'],
    ['503', 'retryable', 'upstream_unavailable'],
    ['500', 'retryable', 'upstream_error'],
    ['truncated', 'retryable', 'bad_response'],
    ['garbage', 'retryable', 'bad_response'],
    ['no_image', 'retryable', 'no_image'],
    ['404', 'fatal', 'model_not_found'],
  ]
  for (const [fault, kind, code] of cases) {
    it(`classifies ${fault} as ${kind} ${code}`, async () => {
      const { provider } = await setup(fault)
      const err = await providerError(provider.generate(await makeRequest({ references: [] })))
      expect({ kind: err.kind, code: err.code }).toEqual({ kind, code })
      expect(errorText(err)).not.toContain(KEY)
    })
  }

  it('passes the Retry-After delay on', async () => {
    const { provider } = await setup('429', 'gpt-image-1', { retryAfter: '2' })
    expect(await providerError(provider.generate(await makeRequest()))).toMatchObject({ retryAfterMs: 2000 })
  })

  it('times out a hanging service as retryable', async () => {
    const { provider } = await setup('hang', 'gpt-image-1', { timeoutMs: 300 })
    expect(await providerError(provider.generate(await makeRequest()))).toMatchObject({ kind: 'retryable', code: 'upstream_timeout' })
  })
})

describe('imagesApiSize', () => {
  it('maps to the three fixed sizes for gpt-image-1 and dall-e', () => {
    expect(imagesApiSize('gpt-image-1', '16:9', '4K')).toBe('1536x1024')
    expect(imagesApiSize('gpt-image-1.5', '9:16', '1K')).toBe('1024x1536')
    expect(imagesApiSize('openai/gpt-image-1-mini', '1:1', '2K')).toBe('1024x1024')
    expect(imagesApiSize('dall-e-3', '4:3', '1K')).toBe('1792x1024')
    expect(imagesApiSize('dall-e-3', '9:16', '2K')).toBe('1024x1792')
    expect(imagesApiSize('dall-e-2', '16:9', '2K')).toBe('1024x1024')
  })

  it('computes sizes divisible by 16 for free-size models', () => {
    expect(imagesApiSize('gpt-image-2', '16:9', '1K')).toBe('1536x864')
    expect(imagesApiSize('gpt-image-2', '16:9', '2K')).toBe('2560x1440')
    expect(imagesApiSize('gpt-image-2', '16:9', '4K')).toBe('3840x2160')
    expect(imagesApiSize('some-relay-model', '9:16', '2K')).toBe('1440x2560')
    for (const ratio of ['4:3', '21:9', '2:3'] as const) {
      const [w, h] = imagesApiSize('x', ratio, '2K').split('x').map(Number)
      expect(w % 16 + h % 16).toBe(0)
    }
  })
})
