// The fake upstream servers are test infrastructure others rely on (end-to-end test, benchmark):
// check they speak the wire formats, inject faults reproducibly and count concurrency right.
import { afterEach, describe, expect, it } from 'vitest'
import sharp from 'sharp'
import { startFakeGemini, type GeminiFault } from '../fakes/geminiServer.js'
import { startFakeOpenAI } from '../fakes/openaiServer.js'
import { fakeImage, slideImageSize } from '../fakes/images.js'
import type { FakeServer } from '../fakes/common.js'

const servers: FakeServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map(s => s.close()))
})

async function gemini(opts: Parameters<typeof startFakeGemini>[0] = {}) {
  const fake = await startFakeGemini(opts)
  servers.push(fake)
  return fake
}

function generate(url: string, imageConfig: Record<string, string> = { aspectRatio: '16:9', imageSize: '1K' }, key = 'k', signal?: AbortSignal) {
  return fetch(`${url}/v1beta/models/gemini-3-pro-image:generateContent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-goog-api-key': key },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'slide' }] }], generationConfig: { responseModalities: ['TEXT', 'IMAGE'], imageConfig } }),
    signal,
  })
}

interface WirePart { text?: string; thought?: boolean; inlineData?: { mimeType: string; data: string } }

describe('fake images', () => {
  it('uses the Nano Banana Pro sizes and scales them with imageSize', () => {
    expect(slideImageSize('16:9', '1K')).toEqual({ width: 1376, height: 768 })
    expect(slideImageSize('16:9', '2K')).toEqual({ width: 2752, height: 1536 })
    expect(slideImageSize('16:9', '4K')).toEqual({ width: 5504, height: 3072 })
    expect(slideImageSize('9:16', '2K')).toEqual({ width: 1536, height: 2752 })
    const odd = slideImageSize('7:3', '1K')
    expect(odd.width / odd.height).toBeCloseTo(7 / 3, 1)
  })

  it('encodes real images once per size and format', async () => {
    const first = fakeImage(400, 300, 'jpeg')
    expect(fakeImage(400, 300, 'jpeg')).toBe(first)
    const meta = await sharp(await first).metadata()
    expect(meta).toMatchObject({ width: 400, height: 300, format: 'jpeg' })
    expect((await fakeImage(400, 300, 'png', 'draft')).equals(await fakeImage(400, 300, 'png'))).toBe(false)
  })
})

describe('fake Gemini server', () => {
  it('answers with thoughts and a draft first, then the final image of the requested size', async () => {
    const fake = await gemini({ mislabelRate: 0 })
    const res = await generate(fake.url, { aspectRatio: '16:9', imageSize: '2K' })
    expect(res.status).toBe(200)
    const body = await res.json() as { candidates: Array<{ content: { parts: WirePart[] }; finishReason: string }> }
    const parts = body.candidates[0].content.parts
    expect(parts.map(p => [Boolean(p.text), Boolean(p.inlineData), p.thought === true])).toEqual([
      [true, false, true], [false, true, true], [true, false, false], [false, true, false],
    ])
    const draft = await sharp(Buffer.from(parts[1].inlineData!.data, 'base64')).metadata()
    const final = await sharp(Buffer.from(parts[3].inlineData!.data, 'base64')).metadata()
    expect([draft.width, draft.height]).toEqual([344, 192])
    expect([final.width, final.height, final.format]).toEqual([2752, 1536, 'png'])
    expect(fake.stats.byFault).toEqual({ ok: 1 })
  })

  it('labels JPEG bytes as image/png at the mislabel rate', async () => {
    const fake = await gemini({ mislabelRate: 1 })
    const body = await (await generate(fake.url)).json() as { candidates: Array<{ content: { parts: WirePart[] } }> }
    const final = body.candidates[0].content.parts.at(-1)!.inlineData!
    expect(final.mimeType).toBe('image/png')
    expect(Buffer.from(final.data, 'base64').subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]))
  })

  it('draws the same faults for the same seed, at about the fault rate', async () => {
    const run = async () => {
      const fake = await gemini({ faultRate: 0.5, seed: 42, faults: ['503', '500'], mislabelRate: 0 })
      const statuses: number[] = []
      for (let i = 0; i < 40; i++) statuses.push((await generate(fake.url)).status)
      return { statuses, byFault: { ...fake.stats.byFault } }
    }
    const a = await run()
    const b = await run()
    expect(a.statuses).toEqual(b.statuses)
    const failures = a.statuses.filter(s => s !== 200).length
    expect(failures).toBeGreaterThan(8)
    expect(failures).toBeLessThan(32)
    expect((a.byFault['503'] ?? 0) + (a.byFault['500'] ?? 0)).toBe(failures)
    expect(a.statuses.filter(s => s === 503).length).toBe(a.byFault['503'] ?? 0)
  })

  it('caps random faults per prompt with maxRandomFaults', async () => {
    const fake = await gemini({ faultRate: 1, faults: ['503'], maxRandomFaults: 2, mislabelRate: 0 })
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await generate(fake.url)).status)
    expect(statuses).toEqual([503, 503, 200, 200])
  })

  it('follows the script, and answers each fault in the real wire format', async () => {
    const script: GeminiFault[] = ['429', '429_daily', 'truncated', 'safety', 'blocked', 'no_image', 'garbage']
    const fake = await gemini({ script: i => script[i] ?? null, retryDelay: '1.5s' })
    const r429 = await generate(fake.url)
    expect(r429.status).toBe(429)
    expect(r429.headers.get('retry-after')).toBeNull()
    const e429 = await r429.json() as { error: { status: string; details: Array<Record<string, unknown>> } }
    expect(e429.error.status).toBe('RESOURCE_EXHAUSTED')
    expect(e429.error.details.find(d => String(d['@type']).endsWith('google.rpc.RetryInfo'))).toMatchObject({ retryDelay: '1.5s' })

    const daily = await (await generate(fake.url)).text()
    expect(daily).toContain('PerDay')
    const truncated = await (await generate(fake.url)).text()
    expect(() => JSON.parse(truncated)).toThrow()
    expect(await (await generate(fake.url)).json()).toMatchObject({ candidates: [{ finishReason: 'IMAGE_SAFETY' }] })
    expect(await (await generate(fake.url)).json()).toMatchObject({ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' } })
    expect(await (await generate(fake.url)).json()).toMatchObject({ candidates: [{ finishReason: 'NO_IMAGE' }] })
    const garbage = await generate(fake.url)
    expect(garbage.headers.get('content-type')).toContain('text/html')
    expect((await generate(fake.url)).status).toBe(200)
  })

  it('rejects a wrong key like the real API', async () => {
    const fake = await gemini({ validKey: 'right' })
    const res = await generate(fake.url, undefined, 'wrong')
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: { status: 'INVALID_ARGUMENT', details: expect.arrayContaining([expect.objectContaining({ reason: 'API_KEY_INVALID' })]) } })
  })

  it('counts requests in flight and their maximum', async () => {
    const fake = await gemini({ latencyMs: 150, mislabelRate: 0 })
    const pending = Array.from({ length: 4 }, () => generate(fake.url).then(r => r.arrayBuffer()))
    await expect.poll(() => fake.stats.inFlight).toBe(4)
    await Promise.all(pending)
    expect(fake.stats).toMatchObject({ requests: 4, inFlight: 0, maxInFlight: 4 })
  })

  it('hangs until the client aborts', async () => {
    const fake = await gemini({ script: () => 'hang' })
    const controller = new AbortController()
    const pending = generate(fake.url, undefined, 'k', controller.signal)
    await expect.poll(() => fake.stats.inFlight).toBe(1)
    controller.abort()
    await expect(pending).rejects.toThrow()
    await expect.poll(() => fake.stats.inFlight).toBe(0)
  })

  it('close() ends hanging requests', async () => {
    const fake = await startFakeGemini({ script: () => 'hang' })
    const pending = generate(fake.url)
    await expect.poll(() => fake.stats.inFlight).toBe(1)
    // listened to before close(): the request may fail while close() is awaited
    const failed = expect(pending).rejects.toThrow()
    await fake.close()
    await failed
  })
})

describe('fake OpenAI server', () => {
  it('records multipart edits and answers with an image of the requested size', async () => {
    const fake = await startFakeOpenAI()
    servers.push(fake)
    const form = new FormData()
    form.append('prompt', 'slide')
    form.append('size', '1536x1024')
    form.append('image[]', new Blob([new Uint8Array(await fakeImage(64, 36, 'png'))], { type: 'image/png' }), 'a.png')
    const res = await fetch(`${fake.url}/v1/images/edits`, { method: 'POST', body: form })
    const body = await res.json() as { data: Array<{ b64_json: string }> }
    const meta = await sharp(Buffer.from(body.data[0].b64_json, 'base64')).metadata()
    expect([meta.width, meta.height]).toEqual([1536, 1024])
    expect(fake.lastRequests.at(-1)?.body).toMatchObject({ fields: { prompt: 'slide', size: '1536x1024' }, files: [{ field: 'image[]', name: 'a.png', type: 'image/png' }] })
  })

  it('sends Retry-After with 429 and serves linked files', async () => {
    const fake = await startFakeOpenAI({ script: i => (i === 0 ? '429' : null), retryAfter: '7', shape: 'markdown_url' })
    servers.push(fake)
    const chat = (body: unknown) => fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const limited = await chat({ model: 'm', messages: [] })
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('7')
    const ok = await (await chat({ model: 'm', messages: [], image_config: { aspect_ratio: '4:3', image_size: '1K' } })).json() as { choices: Array<{ message: { content: string } }> }
    const link = /\((http:[^)]+)\)/.exec(ok.choices[0].message.content)?.[1]
    expect(link).toBe(`${fake.url}/files/1200x896.png`)
    const file = await fetch(link!)
    expect(file.headers.get('content-type')).toBe('image/png')
    expect((await sharp(Buffer.from(await file.arrayBuffer())).metadata()).width).toBe(1200)
  })
})
