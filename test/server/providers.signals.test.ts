import { getEventListeners } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { createGeminiProvider } from '../../server/providers/gemini.js'
import { createOpenAIChatProvider } from '../../server/providers/openaiChat.js'
import { callSignal } from '../../server/providers/signals.js'
import { startFakeGemini } from '../fakes/geminiServer.js'
import { startFakeOpenAI } from '../fakes/openaiServer.js'
import type { FakeServer } from '../fakes/common.js'
import { makeRequest } from './providers.helpers.js'

const servers: FakeServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map(s => s.close()))
})

describe('call signals', () => {
  it('follow the caller, time out on their own and detach when disposed', async () => {
    const parent = new AbortController()
    const call = callSignal(parent.signal)
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1)
    parent.abort()
    expect(call.signal.aborted).toBe(true)
    expect(call.timedOut()).toBe(false)

    const other = new AbortController()
    const timed = callSignal(other.signal, 20)
    await expect.poll(() => timed.signal.aborted).toBe(true)
    expect(timed.timedOut()).toBe(true)
    timed.dispose()
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0)
  })

  it('providers leave no listener on a signal shared by many calls (one batch, one signal)', async () => {
    const gemini = await startFakeGemini({ mislabelRate: 0 })
    const relay = await startFakeOpenAI()
    servers.push(gemini, relay)
    const shared = new AbortController()
    const providers = [
      createGeminiProvider({ apiKey: 'k-1234', baseUrl: gemini.url, model: 'gemini-3-pro-image', timeoutMs: 5000 }),
      createOpenAIChatProvider({ apiKey: 'k-1234', baseUrl: relay.url, model: 'm', timeoutMs: 5000 }),
    ]
    const req = await makeRequest({ signal: shared.signal })
    for (const provider of providers) {
      for (let wave = 0; wave < 3; wave++) await Promise.all(Array.from({ length: 4 }, () => provider.generate(req)))
    }
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0)
  })
})
