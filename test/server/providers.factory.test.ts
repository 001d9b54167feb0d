import { afterEach, describe, expect, it } from 'vitest'
import { createProvider } from '../../server/providers/index.js'
import type { ProviderSettings } from '../../server/providers/types.js'
import { startFakeGemini } from '../fakes/geminiServer.js'
import type { FakeServer } from '../fakes/common.js'
import { makeRequest } from './providers.helpers.js'

const base: ProviderSettings = { provider: 'gemini', model: 'gemini-3-pro-image', gemini: {}, openai: {}, timeoutMs: 5000 }
let fake: FakeServer | undefined

afterEach(async () => {
  await fake?.close()
  fake = undefined
})

describe('createProvider', () => {
  it('names the missing key variable', () => {
    expect(() => createProvider(base)).toThrow(/GEMINI_API_KEY/)
    expect(() => createProvider({ ...base, provider: 'openai-chat' })).toThrow(/OPENAI_API_KEY/)
    expect(() => createProvider({ ...base, provider: 'openai-images', openai: { apiKey: '  ' } })).toThrow(/OPENAI_API_KEY/)
  })

  it('builds each provider with its name and model', () => {
    expect(createProvider({ ...base, gemini: { apiKey: 'k' } })).toMatchObject({ name: 'gemini', model: 'gemini-3-pro-image' })
    expect(createProvider({ ...base, provider: 'openai-chat', openai: { apiKey: 'k' } })).toMatchObject({ name: 'openai-chat' })
    expect(createProvider({ ...base, provider: 'openai-images', model: 'gpt-image-1', openai: { apiKey: 'k' } })).toMatchObject({ name: 'openai-images', model: 'gpt-image-1' })
    expect(createProvider({ ...base, provider: 'preview' }).name).toBe('preview')
  })

  it('wires the base URL and the injected fetch into the gemini provider', async () => {
    fake = await startFakeGemini({ validKey: 'k-123456', mislabelRate: 0 })
    const calls: string[] = []
    const countingFetch: typeof fetch = (input, init) => {
      calls.push(String(input instanceof Request ? input.url : input))
      return fetch(input, init)
    }
    const provider = createProvider({ ...base, gemini: { apiKey: 'k-123456', baseUrl: fake.url } }, { fetch: countingFetch })
    const image = await provider.generate(await makeRequest())
    expect(image.mime).toBe('image/png')
    expect(calls).toEqual([`${fake.url}/v1beta/models/gemini-3-pro-image:generateContent`])
  })
})
