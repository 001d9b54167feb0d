// Answers the proxy used to mishandle (issue 8), each replayed by a fake upstream through the real
// proxy (config → provider → batch engine): the page's final state, its error code, and how many
// upstream calls were made (each one is paid for).
import sharp from 'sharp'
import { afterEach, describe, expect, it } from 'vitest'
import type { BatchProgress } from '../../plugin/types/api.js'
import { startFakeGemini, type FakeGeminiOptions } from '../fakes/geminiServer.js'
import { startFakeOpenAI, type FakeOpenAIOptions } from '../fakes/openaiServer.js'
import type { FakeServer } from '../fakes/common.js'
import { getJson } from './helpers.js'
import { startProxy, type ProxyRun } from './proxyRun.helpers.js'

const GEMINI_KEY = 'AIzaSy-answers-test-key-77'
const OPENAI_KEY = 'sk-answers-test-key-88'
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

/** upstream calls that generate (not image downloads from /files/) */
const generationCalls = (fake: FakeServer) => fake.lastRequests.filter(r => r.method === 'POST').length

async function viaGemini(fakeOpts: FakeGeminiOptions, env: Record<string, string> = {}): Promise<{ fake: FakeServer; run: ProxyRun }> {
  const fake = await startFakeGemini({ validKey: GEMINI_KEY, mislabelRate: 0, ...fakeOpts })
  cleanups.push(() => fake.close())
  const run = await startProxy({ GEMINI_API_KEY: GEMINI_KEY, GEMINI_BASE_URL: fake.url, ...env })
  cleanups.push(() => run.stop())
  return { fake, run }
}

async function viaOpenAI(provider: 'openai-chat' | 'openai-images', fakeOpts: FakeOpenAIOptions, env: Record<string, string> = {}): Promise<{ fake: FakeServer; run: ProxyRun }> {
  const fake = await startFakeOpenAI({ validKey: OPENAI_KEY, ...fakeOpts })
  cleanups.push(() => fake.close())
  const run = await startProxy({
    IMAGE_PROVIDER: provider, OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: `${fake.url}/v1`,
    NANO_BANANA_MODEL: 'google/gemini-3-pro-image', ALLOW_PRIVATE_IMAGE_HOSTS: '127.0.0.1', ...env,
  })
  cleanups.push(() => run.stop())
  return { fake, run }
}

async function storedImage(run: ProxyRun, progress: BatchProgress): Promise<{ width: number; height: number }> {
  const res = await fetch(`${run.srv.url}${progress.results[0].image_url}`)
  expect(res.status).toBe(200)
  const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata()
  return { width: meta.width ?? 0, height: meta.height ?? 0 }
}

describe('answers the proxy used to mishandle', () => {
  it('1a. a chat relay that streams (text/event-stream) although no stream was asked: the image is read out of the chunks, one call', async () => {
    const { fake, run } = await viaOpenAI('openai-chat', { shape: 'event_stream' })
    const progress = await run.runBatch(1, { resolution: '1K' })
    expect(progress.results[0]).toMatchObject({ status: 'completed', error_code: null, retry_count: 0 })
    expect(await storedImage(run, progress)).toEqual({ width: 1376, height: 768 })
    expect(generationCalls(fake)).toBe(1)
  })

  it('1b. a stream that cannot be assembled fails once, saying the relay streamed', async () => {
    const { fake, run } = await viaOpenAI('openai-chat', { shape: 'event_stream_unreadable' })
    const progress = await run.runBatch(1)
    expect(progress.results[0]).toMatchObject({ status: 'failed', error_code: 'relay_streamed', retry_count: 0 })
    expect(progress.results[0].error_message).toMatch(/event stream \(text\/event-stream\)/)
    expect(generationCalls(fake)).toBe(1)
  })

  it('2. an Images-API relay whose data[0].url is a relative path: resolved against the base URL and downloaded, one call', async () => {
    const { fake, run } = await viaOpenAI('openai-images', { imagesRelativeUrl: true }, { OPENAI_IMAGE_MODEL: 'gpt-image-2' })
    const progress = await run.runBatch(1, { resolution: '1K' })
    expect(progress.results[0]).toMatchObject({ status: 'completed', error_code: null, retry_count: 0 })
    expect(generationCalls(fake)).toBe(1)
    expect(fake.lastRequests.filter(r => r.method === 'GET').map(r => r.path)).toEqual(['/files/1536x864.png'])
  })

  it('3. OpenRouter moderation (403 with error.metadata.reasons) is a safety refusal naming the reasons, not a key problem', async () => {
    const { fake, run } = await viaOpenAI('openai-chat', { script: () => '403_moderation' })
    const progress = await run.runBatch(1)
    expect(progress.results[0]).toMatchObject({ status: 'failed', error_code: 'safety_refused', retry_count: 0 })
    expect(progress.results[0].error_message).toContain('violence, harassment')
    expect(progress.results[0].error_message).toMatch(/rephrase/i)
    expect(progress.results[0].error_message).not.toMatch(/administrator/i)
    expect(generationCalls(fake)).toBe(1)
  })

  it('4. a bare data URL in the message text, its base64 wrapped across lines, is read, one call', async () => {
    const { fake, run } = await viaOpenAI('openai-chat', { shape: 'bare_data_wrapped' })
    const progress = await run.runBatch(1, { resolution: '1K' })
    expect(progress.results[0]).toMatchObject({ status: 'completed', error_code: null, retry_count: 0 })
    expect(await storedImage(run, progress)).toEqual({ width: 1376, height: 768 })
    expect(generationCalls(fake)).toBe(1)
  })

  it('5. Gemini\'s finishMessage of a refusal is shown, with only the key taken out', async () => {
    const { fake, run } = await viaGemini({ script: () => 'safety', finishMessage: `The image depicts a real person (request key ${GEMINI_KEY}).` })
    const progress = await run.runBatch(1)
    const page = progress.results[0]
    expect(page).toMatchObject({ status: 'failed', error_code: 'safety_refused', retry_count: 0 })
    expect(page.error_message).toContain('The image depicts a real person (request key [redacted]).')
    expect(page.error_message).not.toContain(GEMINI_KEY)
    expect(generationCalls(fake)).toBe(1)
  })

  it('6. a 429 whose quota limit is 0 (no billing for the model) is fatal and says so, not "try again tomorrow"', async () => {
    const { fake, run } = await viaGemini({ script: () => '429_no_quota' })
    const progress = await run.runBatch(2)
    for (const page of progress.results) {
      expect(page).toMatchObject({ status: 'failed', error_code: 'no_quota', retry_count: 0 })
      expect(page.error_message).toContain('this key\'s project has no quota for gemini-3-pro-image'.replace(/^t/, 'T'))
      expect(page.error_message).toMatch(/enable billing/)
      expect(page.error_message).not.toMatch(/tomorrow/)
    }
    expect(generationCalls(fake)).toBe(2)
  })

  it('7. the same unreadable answer twice in a row stops the retries and says what came back', async () => {
    const { fake, run } = await viaOpenAI('openai-chat', { script: () => 'no_image' })
    const progress = await run.runBatch(1)
    const page = progress.results[0]
    expect(page).toMatchObject({ status: 'failed', error_code: 'unreadable_answer', retry_count: 1 })
    expect(page.error_message).toContain('I have designed the slide as requested.')
    expect(page.error_message).toMatch(/twice in a row \(\{choices:\[\{finish_reason:"stop"/)
    expect(generationCalls(fake)).toBe(2)
  })

  it('7b. different unreadable answers keep being retried (MAX_RETRIES), then fail as before', async () => {
    const { fake, run } = await viaOpenAI('openai-chat', { script: i => (i % 2 === 0 ? 'no_image' : 'garbage') })
    const progress = await run.runBatch(1)
    expect(progress.results[0]).toMatchObject({ status: 'failed', error_code: 'bad_response', retry_count: 3 })
    expect(generationCalls(fake)).toBe(4)
  })

  it('8. a fixed-size model (gpt-image-1, 3:2) on a 16:9 deck: stored at 16:9 within 1 %, the prompt names the safe area', async () => {
    const { fake, run } = await viaOpenAI('openai-images', {}, { OPENAI_IMAGE_MODEL: 'gpt-image-1' })
    const progress = await run.runBatch(1, { aspect_ratio: '16:9', resolution: '2K' })
    expect(progress.results[0]).toMatchObject({ status: 'completed', error_code: null, retry_count: 0 })
    const { width, height } = await storedImage(run, progress)
    expect(Math.abs(width / height / (16 / 9) - 1)).toBeLessThanOrEqual(0.01)
    expect([width, height]).toEqual([1536, 864])
    const sent = fake.lastRequests.find(r => r.method === 'POST')!
    const fields = ((sent.body as { fields?: Record<string, string> }).fields ?? sent.body) as Record<string, string>
    expect(fields.size).toBe('1536x1024')
    expect(fields.prompt).toContain('keeping only the central 1536×864 px area (80 px at the top and 80 px at the bottom are cut off)')
    expect(generationCalls(fake)).toBe(1)
  })

  it('9a. an answer cut off mid-body reads as such (not "Could not reach Gemini: terminated") and is retried', async () => {
    const { fake, run } = await viaGemini({ script: () => 'cut' }, { MAX_RETRIES: '1' })
    const progress = await run.runBatch(1)
    const page = progress.results[0]
    expect(page).toMatchObject({ status: 'failed', error_code: 'bad_response', retry_count: 1 })
    expect(page.error_message).toBe('The answer from Gemini was cut off before its end (the connection closed mid-way) (gave up after 1 retry)')
    expect(generationCalls(fake)).toBe(2)
  })

  it('9b. an unreachable image API is named mid-sentence in lower case', async () => {
    const fake = await startFakeOpenAI({})
    const url = fake.url
    await fake.close()
    const run = await startProxy({ IMAGE_PROVIDER: 'openai-images', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: `${url}/v1`, MAX_RETRIES: '0' })
    cleanups.push(() => run.stop())
    const progress = await run.runBatch(1)
    expect(progress.results[0]).toMatchObject({ status: 'failed', error_code: 'network_error', retry_count: 0 })
    expect(progress.results[0].error_message).toMatch(/^Could not reach the image API/)
    expect((await getJson(`${run.srv.url}/api/v1/health`)).status).toBe(200)
  })
})
