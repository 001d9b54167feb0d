// Fake Gemini API (native generateContent wire format, upstream.md §1) on 127.0.0.1, for tests and the benchmark.
//
//   const fake = await startFakeGemini({ latencyMs: 300, faultRate: 0.25, seed: 7, validKey: 'test-key' })
//   new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: fake.url } })   // or GEMINI_BASE_URL=fake.url
//   fake.stats   → { requests, inFlight, maxInFlight, byFault: { ok: 9, '429': 2, ... } }
//   fake.lastRequests → last 50 { method, path, headers, body } (body = the parsed JSON request)
//   await fake.close()
//
// Answers POST /v1beta/models/{model}:generateContent (any version prefix). Success: a thought text, a
// low-res grey draft image part marked thought:true, a text part, then the final image (blue, sized from
// generationConfig.imageConfig: aspectRatio × imageSize, e.g. 16:9 2K → 2752×1536), so a client taking the
// first image gets the wrong one. With probability `mislabelRate` the final image is JPEG bytes labelled
// image/png, as the real model sometimes does.
//
// Options:
//   latencyMs     number or [min, max] before answering (default 0)
//   faultRate     0..1 chance that a request gets a fault drawn from `faults` (seeded PRNG `seed`, default 1)
//   faults        default ['429', '503', '500', 'truncated', 'no_image', 'garbage'] (all retryable)
//   script        (reqIndex, body) => fault | null — deterministic faults; null falls back to the dice
//   validKey      when set, any other x-goog-api-key → 400 API_KEY_INVALID (missing key → 403)
//   models        when set, other model ids → 404 NOT_FOUND
//   mislabelRate  default 0.25; set 0 for PNG-only answers (benchmark)
//   retryDelay    RetryInfo.retryDelay of '429' faults, default '0.2s'
//   safetyReason  finishReason of 'safety' faults, default 'IMAGE_SAFETY'
//   quota         { requests, windowMs, latencyMs? }: a per-project rate quota like the real API's
//                 per-minute limits, as a sliding window — a request arriving when `requests` were
//                 admitted in the last `windowMs` gets 429 RESOURCE_EXHAUSTED (after latencyMs, default
//                 20) with RetryInfo = the time until the oldest of them leaves the window. Counted
//                 in stats.byFault as '429_quota'; rejected requests do not use up the quota.
//   maxRandomFaults  at most this many random faults per prompt (same page's retries), then success —
//                 e.g. 3 with MAX_RETRIES=3 makes "every page completes" independent of luck
// Faults: see GeminiFault. 'hang' and 'stall' never finish (until the client aborts or close()).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { fakeImage, realisticImage, slideImageSize } from './images.js'
import {
  FaultPicker, countFault, pickLatency, promptKeyOf, sendCut, sendGarbage, sendJson, sendStalled, sendTruncated, startFakeHttp, waitOrGone,
  type FakeServer, type Latency,
} from './common.js'

export type { FakeServer, FakeStats, RecordedRequest } from './common.js'

export type GeminiFault =
  | '429' // RESOURCE_EXHAUSTED with RetryInfo retryDelay (per-minute quota)
  | '429_daily' // RESOURCE_EXHAUSTED, QuotaFailure quotaId …PerDay…
  | '429_no_quota' // RESOURCE_EXHAUSTED, QuotaFailure quotaValue "0" / "limit: 0" (project without billing for the model)
  | 'cut' // 200 with a Content-Length, half the body, then the connection is closed
  | '500' | '503' | '504'
  | '400_precondition' // FAILED_PRECONDITION (billing / region)
  | '403' // PERMISSION_DENIED
  | '404' // NOT_FOUND (model)
  | 'truncated' // 200 JSON cut mid-way
  | 'garbage' // 200 non-JSON body
  | 'no_image' // 200, finishReason NO_IMAGE, text only
  | 'image_other' // 200, finishReason IMAGE_OTHER, no parts
  | 'safety' // 200, finishReason IMAGE_SAFETY (or `safetyReason`), no content
  | 'blocked' // 200, no candidates, promptFeedback.blockReason PROHIBITED_CONTENT
  | 'draft_only' // 200, finishReason STOP, only the thought draft image
  | 'jpeg_as_png' // success, final image is JPEG labelled image/png
  | 'webp' // success, final image is WebP labelled image/png
  | 'hang' // never answers
  | 'stall' // 200 headers and half the body, then nothing (until the client aborts)
  | 'oversized' // 200, an image answer streamed (chunked, with backpressure) up to `oversizedBytes`; bytes sent → stats.oversizedSent

export interface FakeGeminiOptions {
  latencyMs?: Latency
  faultRate?: number
  faults?: GeminiFault[]
  seed?: number
  script?: (reqIndex: number, body: unknown) => GeminiFault | null | undefined
  validKey?: string
  models?: string[]
  mislabelRate?: number
  retryDelay?: string
  maxRandomFaults?: number
  /** finishReason of 'safety' faults, default IMAGE_SAFETY */
  safetyReason?: string
  /** finishMessage of 'safety' faults (default 'Unable to show the generated image.') */
  finishMessage?: string
  quota?: { requests: number; windowMs: number; latencyMs?: number }
  /** size of an 'oversized' answer, bytes (default 256 MB) */
  oversizedBytes?: number
  /** answer with poorly compressible images of the real sizes (2K ≈ 7.4 MB) and drafts at 1/4 side (benchmark) */
  realistic?: boolean
  /** the final PNG of a successful answer, drawn from the request's prompt text (default: a flat blue image) */
  image?: (prompt: string, width: number, height: number) => Promise<Buffer>
}

const DEFAULT_FAULTS: GeminiFault[] = ['429', '503', '500', 'truncated', 'no_image', 'garbage']

interface GeminiRequestBody {
  generationConfig?: { imageConfig?: { aspectRatio?: string; imageSize?: string } }
}

function googleError(code: number, status: string, message: string, details: unknown[] = []) {
  return { error: { code, message, status, ...(details.length ? { details } : {}) } }
}

export async function startFakeGemini(opts: FakeGeminiOptions = {}): Promise<FakeServer> {
  const picker = new FaultPicker({ seed: opts.seed ?? 1, faultRate: opts.faultRate ?? 0, faults: opts.faults ?? DEFAULT_FAULTS, script: opts.script, maxRandomFaults: opts.maxRandomFaults })
  const random = () => picker.next()
  let index = 0
  /** arrival times of the requests the quota admitted (sliding window) */
  const admitted: number[] = []

  const fake = await startFakeHttp(async (req: IncomingMessage, res: ServerResponse, raw, record) => {
    const match = /\/models\/([^/:]+):generateContent$/.exec((req.url ?? '').split('?')[0])
    if (req.method !== 'POST' || !match) {
      countFault(fake.stats, 'not_found')
      sendJson(res, 404, googleError(404, 'NOT_FOUND', `Path ${req.url} not found`))
      return
    }
    const reqIndex = index++
    let body: GeminiRequestBody
    try {
      body = JSON.parse(raw.toString('utf8')) as GeminiRequestBody
      record.body = body
    }
    catch {
      countFault(fake.stats, 'bad_request')
      sendJson(res, 400, googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'))
      return
    }
    const fault = picker.pick(reqIndex, body, promptKeyOf(body))
    const mislabel = random() < (opts.mislabelRate ?? 0.25)
    const latency = pickLatency(opts.latencyMs, random)

    const key = req.headers['x-goog-api-key']
    if (opts.validKey !== undefined && key !== opts.validKey) {
      countFault(fake.stats, key ? 'bad_key' : 'no_key')
      if (!key) sendJson(res, 403, googleError(403, 'PERMISSION_DENIED', 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.'))
      else sendJson(res, 400, googleError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
        { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
      ]))
      return
    }
    const model = decodeURIComponent(match[1])
    if (opts.models && !opts.models.includes(model)) {
      countFault(fake.stats, '404')
      sendJson(res, 404, googleError(404, 'NOT_FOUND', `models/${model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`))
      return
    }
    if (opts.quota) {
      const now = performance.now()
      while (admitted.length && admitted[0] <= now - opts.quota.windowMs) admitted.shift()
      if (admitted.length >= opts.quota.requests) {
        countFault(fake.stats, '429_quota')
        const freesInMs = admitted[0] + opts.quota.windowMs - now
        if (!(await waitOrGone(opts.quota.latencyMs ?? 20, res))) return
        await answer(res, '429', body, model, `${(Math.ceil(freesInMs) / 1000).toFixed(3)}s`, 'IMAGE_SAFETY', '')
        return
      }
      admitted.push(now)
    }
    const effective = fault === 'ok' && mislabel ? 'jpeg_as_png' : fault
    countFault(fake.stats, effective)
    if (effective === 'hang') return // the client's abort (or close()) ends it
    if (!(await waitOrGone(latency, res))) return
    if (effective === 'oversized') {
      fake.stats.oversizedSent = await sendOversized(res, opts.oversizedBytes ?? 256 * 1024 * 1024)
      return
    }
    await answer(res, effective, body, model, opts.retryDelay ?? '0.2s', opts.safetyReason ?? 'IMAGE_SAFETY', opts.finishMessage ?? 'Unable to show the generated image.', opts.realistic ?? false, opts.image)
  })

  return { url: fake.url, close: fake.close, stats: fake.stats, lastRequests: fake.lastRequests }
}

/**
 * A 200 image answer of `total` bytes, written 1 MB at a time waiting for the socket to drain; stops
 * when the client goes away. Resolves with the bytes actually written (what a capped reader let in).
 */
async function sendOversized(res: ServerResponse, total: number): Promise<number> {
  const head = '{"candidates":[{"content":{"role":"model","parts":[{"inlineData":{"mimeType":"image/png","data":"'
  const tail = '"}}]},"finishReason":"STOP","index":0}]}'
  const chunk = Buffer.alloc(1024 * 1024, 'A')
  res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' })
  let sent = 0
  const write = (data: string | Buffer) => new Promise<boolean>(resolve => {
    if (res.destroyed) return resolve(false)
    sent += Buffer.byteLength(data)
    if (res.write(data)) return resolve(true)
    const done = (ok: boolean) => {
      res.off('drain', onDrain)
      res.off('close', onClose)
      resolve(ok)
    }
    const onDrain = () => done(true)
    const onClose = () => done(false)
    res.on('drain', onDrain)
    res.on('close', onClose)
  })
  if (!(await write(head))) return sent
  while (sent + chunk.length + tail.length <= total) {
    if (!(await write(chunk))) return sent
  }
  if (await write(tail)) res.end()
  return sent
}

/**
 * Serialised success answers of realistic images, by size (building one takes ~100 ms for 4K), kept
 * as bytes: writing a 42 MB string encodes it again on every answer (~120 ms of the fake's CPU per 4K
 * answer, which competed with the proxy under test for the same cores)
 */
const realisticBodies = new Map<string, Promise<Buffer>>()

async function answer(res: ServerResponse, fault: GeminiFault | 'ok', body: GeminiRequestBody, model: string, retryDelay: string, safetyReason: string, finishMessage: string, realistic = false, drawImage?: FakeGeminiOptions['image']): Promise<void> {
  const quotaViolation = (quotaId: string) => ({
    '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
    violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_paid_tier_requests', quotaId, quotaDimensions: { location: 'global', model }, quotaValue: '20' }],
  })
  const help = { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] }
  const retryInfo = { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay }
  const usageMetadata = { promptTokenCount: 1400, candidatesTokenCount: 1130, totalTokenCount: 2780 }

  switch (fault) {
    case '429':
      return sendJson(res, 429, googleError(429, 'RESOURCE_EXHAUSTED', `You exceeded your current quota, please check your plan and billing details. Please retry in ${retryDelay}.`,
        [quotaViolation('GenerateRequestsPerMinutePerProjectPerModel'), help, retryInfo]))
    case '429_daily':
      return sendJson(res, 429, googleError(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details.',
        [quotaViolation('GenerateRequestsPerDayPerProjectPerModel'), help, { ...retryInfo, retryDelay: '43200s' }]))
    case '429_no_quota':
      return sendJson(res, 429, googleError(429, 'RESOURCE_EXHAUSTED', `You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: ${model}\nPlease retry in ${retryDelay}.`,
        [{ ...quotaViolation('GenerateRequestsPerMinutePerProjectPerModel-FreeTier'), violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier', quotaDimensions: { location: 'global', model }, quotaValue: '0' }] }, help, retryInfo]))
    case '500':
      return sendJson(res, 500, googleError(500, 'INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'))
    case '503':
      return sendJson(res, 503, googleError(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'))
    case '504':
      return sendJson(res, 504, googleError(504, 'DEADLINE_EXCEEDED', 'Deadline expired before operation could complete.'))
    case '400_precondition':
      return sendJson(res, 400, googleError(400, 'FAILED_PRECONDITION', 'User location is not supported for the API use.'))
    case '403':
      return sendJson(res, 403, googleError(403, 'PERMISSION_DENIED', 'Generative Language API has not been used in project 123 before or it is disabled.'))
    case '404':
      return sendJson(res, 404, googleError(404, 'NOT_FOUND', `models/${model} is not found for API version v1beta, or is not supported for generateContent.`))
    case 'garbage':
      return sendGarbage(res)
    case 'no_image':
      return sendJson(res, 200, { candidates: [{ content: { role: 'model', parts: [{ text: 'I was unable to create an image for this request.' }] }, finishReason: 'NO_IMAGE', index: 0 }], usageMetadata, modelVersion: model })
    case 'image_other':
      return sendJson(res, 200, { candidates: [{ finishReason: 'IMAGE_OTHER', index: 0 }], usageMetadata, modelVersion: model })
    case 'safety':
      return sendJson(res, 200, { candidates: [{ finishReason: safetyReason, finishMessage, index: 0 }], usageMetadata, modelVersion: model })
    case 'blocked':
      return sendJson(res, 200, { promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: { promptTokenCount: 1400, totalTokenCount: 1400 }, modelVersion: model })
    default:
      break
  }

  const { aspectRatio, imageSize } = body.generationConfig?.imageConfig ?? {}
  const { width, height } = slideImageSize(aspectRatio ?? '1:1', imageSize ?? '1K')
  if (realistic && fault === 'ok') {
    const key = `${model}:${width}x${height}`
    let text = realisticBodies.get(key)
    if (!text) {
      text = (async () => {
        const [image, draft] = await Promise.all([realisticImage(width, height), realisticImage(Math.round(width / 4), Math.round(height / 4), 'draft')])
        return Buffer.from(JSON.stringify({
          candidates: [{
            content: {
              role: 'model',
              parts: [
                { text: '**Planning the layout**\n\nTitle at the top, three columns below.', thought: true },
                { inlineData: { mimeType: 'image/png', data: draft.toString('base64') }, thought: true },
                { text: 'Here is your slide.', thoughtSignature: 'c2lnbmF0dXJlLTE=' },
                { inlineData: { mimeType: 'image/png', data: image.toString('base64') }, thoughtSignature: 'c2lnbmF0dXJlLTI=' },
              ],
            },
            finishReason: 'STOP',
            index: 0,
          }],
          usageMetadata: { promptTokenCount: 1400, candidatesTokenCount: 1130, totalTokenCount: 2780 },
          modelVersion: model,
        }))
      })()
      realisticBodies.set(key, text)
    }
    const json = await text
    if (res.destroyed) return
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': json.length })
    res.end(json)
    return
  }
  const draft = await fakeImage(Math.max(16, Math.round(width / 8)), Math.max(16, Math.round(height / 8)), 'png', 'draft')
  const thoughtParts = [
    { text: '**Planning the layout**\n\nTitle at the top, three columns below.', thought: true },
    { inlineData: { mimeType: 'image/png', data: draft.toString('base64') }, thought: true },
  ]
  if (fault === 'draft_only') {
    return sendJson(res, 200, { candidates: [{ content: { role: 'model', parts: thoughtParts }, finishReason: 'STOP', index: 0 }], usageMetadata, modelVersion: model })
  }
  const format = fault === 'jpeg_as_png' ? 'jpeg' : fault === 'webp' ? 'webp' : 'png'
  const image = drawImage && format === 'png' ? await drawImage(promptKeyOf(body), width, height) : await fakeImage(width, height, format)
  const response = {
    candidates: [{
      content: {
        role: 'model',
        parts: [
          ...thoughtParts,
          { text: 'Here is your slide.', thoughtSignature: 'c2lnbmF0dXJlLTE=' },
          { inlineData: { mimeType: 'image/png', data: image.toString('base64') }, thoughtSignature: 'c2lnbmF0dXJlLTI=' },
        ],
      },
      finishReason: 'STOP',
      index: 0,
    }],
    usageMetadata,
    modelVersion: model,
  }
  if (fault === 'truncated') return sendTruncated(res, response)
  if (fault === 'stall') return sendStalled(res, response)
  if (fault === 'cut') return sendCut(res, response)
  return sendJson(res, 200, response)
}
