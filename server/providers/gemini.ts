// Gemini API (native) through the official @google/genai SDK — upstream.md §1.
// Request: reference images as inlineData parts, then the prompt text; responseModalities TEXT+IMAGE;
// imageConfig { aspectRatio, imageSize }. Response: the LAST inlineData part that is not a thought
// (drafts come first), type sniffed from the bytes. The SDK does not retry (no retryOptions): the
// queue owns retries, using the kind and retryAfterMs of the ProviderError thrown here.
import { ApiError, GoogleGenAI, type GenerateContentResponse, type Part } from '@google/genai'
import { ProviderError, timeoutFor, type GeneratedImage, type GenerateRequest, type ImageProvider } from './types.js'
import { base64Of, toGeneratedImage } from './sniff.js'
import { fromThrown, isRecord, parseDurationMs, upstreamText } from './errors.js'
import { callSignal } from './signals.js'
import { blobOf, readCapped, readJsonWithBlobs } from './answerReader.js'
import { DEFAULT_MAX_DOWNLOAD_BYTES } from './download.js'
import type { BufferPool } from './bufferPool.js'
import { modelInfo, retiredMessage } from '../models.js'

export interface GeminiProviderOptions {
  apiKey: string
  /** GEMINI_BASE_URL; the SDK default (generativelanguage.googleapis.com) when empty */
  baseUrl?: string
  model: string
  /** per call at 1K / 2K, ms */
  timeoutMs: number
  /** per call at 4K, ms (default timeoutMs) */
  timeoutMs4K?: number
  /** cap on one answer's body, bytes (MAX_UPSTREAM_RESPONSE_MB; default 64 MB): beyond it `image_too_large` */
  maxResponseBytes?: number
  fetch?: typeof fetch
  /** where answers' images are decoded into (reused once released, see GeneratedImage.release); fresh buffers without */
  buffers?: BufferPool
}

const SOURCE = 'Gemini'

/** finishReason values meaning "the model refused": retrying the same prompt is pointless. */
export const GEMINI_REFUSALS: Record<string, string> = {
  IMAGE_SAFETY: 'the image would break the safety policy',
  IMAGE_PROHIBITED_CONTENT: 'the image would show prohibited content',
  IMAGE_RECITATION: 'the image would copy protected material too closely',
  SAFETY: 'the content was flagged by the safety filter',
  PROHIBITED_CONTENT: 'the content is prohibited',
  RECITATION: 'the answer would copy protected material',
  BLOCKLIST: 'the text contains blocked terms',
  SPII: 'the text contains sensitive personal information',
}

/** Models before Gemini 3 only make 1K images and may reject imageSize (catalogue: server/models.ts). */
export function supportsImageSize(model: string): boolean {
  return modelInfo(model).sizes.some(size => size !== '1K')
}

export function createGeminiProvider(opts: GeminiProviderOptions): ImageProvider {
  const secrets = [opts.apiKey]
  const ai = new GoogleGenAI({
    apiKey: opts.apiKey,
    // explicit: GOOGLE_GENAI_USE_VERTEXAI in the environment must not switch the proxy to Vertex AI
    vertexai: false,
    httpOptions: {
      ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
      // the SDK's own deadline is the longest; each call runs under its size's deadline (callSignal)
      timeout: Math.max(opts.timeoutMs, opts.timeoutMs4K ?? 0),
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    },
  })

  async function generate(req: GenerateRequest): Promise<GeneratedImage> {
    if (req.signal.aborted) throw new ProviderError('aborted', 'aborted', 'The request was cancelled')
    const parts: Part[] = req.references.map(ref => ({ inlineData: { mimeType: ref.mime, data: base64Of(ref.bytes) } }))
    parts.push({ text: req.prompt })
    let response: GenerateContentResponse
    // a per-call signal: the SDK never removes the listener it adds to the signal it is given
    const timeoutMs = timeoutFor(opts, req.resolution)
    const call = callSignal(req.signal, timeoutMs)
    // the answer is read here, not by the SDK: capped, and its image decoded as it arrives (answerReader.ts);
    // the SDK parses what is left (a few KB). The SDK also drops a candidate's finishMessage (the model's
    // explanation of a refusal): it is noted here so it can be shown.
    const seen: AnswerSeen = { blobs: [], release: () => {} }
    const maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES
    const readingFetch: typeof fetch = async (input, init) => readAnswer(
      await (opts.fetch ? opts.fetch(input, init) : fetch(input, { ...init, dispatcher: NO_TIMEOUT_DISPATCHER } as RequestInit)), seen, maxBytes, opts.buffers)
    try {
      response = await ai.models.generateContent({
        model: opts.model,
        contents: [{ role: 'user', parts }],
        config: {
          responseModalities: ['TEXT', 'IMAGE'],
          imageConfig: supportsImageSize(opts.model)
            ? { aspectRatio: req.aspectRatio, imageSize: req.resolution }
            : { aspectRatio: req.aspectRatio },
          abortSignal: call.signal,
          httpOptions: { fetch: readingFetch },
        },
      })
    }
    catch (err) {
      seen.release()
      if (err instanceof ApiError && !req.signal.aborted) throw classifyGeminiApiError(err, opts.model, secrets)
      throw fromThrown(err, { signal: req.signal, timedOut: call.timedOut(), timeoutMs, source: SOURCE, secrets })
    }
    finally {
      call.dispose()
    }
    try {
      if (req.signal.aborted) throw new ProviderError('aborted', 'aborted', 'The request was cancelled')
      // the image is a view of the answer's buffer: whoever stores it hands the buffer back
      return { ...await imageFromResponse(response, secrets, seen.finishMessage, seen.blobs), release: seen.release }
    }
    catch (err) {
      seen.release()
      throw err
    }
  }

  return { name: 'gemini', model: opts.model, generate }
}

/**
 * What the SDK uses when it is given no fetch: Node's global undici dispatcher without its own 300 s
 * header/body timeouts, so only our per-size deadline (NANO_BANANA_TIMEOUT[_4K]) ends a slow call.
 */
const NO_TIMEOUT_DISPATCHER = {
  dispatch(options: Record<string, unknown>, handler: unknown): boolean {
    const global = (globalThis as Record<symbol, { dispatch(o: unknown, h: unknown): boolean } | undefined>)[Symbol.for('undici.globalDispatcher.1')]
    if (!global) throw new Error('Node\'s undici global dispatcher is not available')
    return global.dispatch({ ...options, headersTimeout: 0, bodyTimeout: 0 }, handler)
  },
}

interface AnswerSeen {
  finishMessage?: string
  /** the decoded images of the answer, referenced from its JSON as "#blob:<n>" */
  blobs: Buffer[]
  /** hands the blobs' buffer back to the pool (nothing may read a blob afterwards) */
  release: () => void
}

/** JSON keys whose string values are base64 images (Part.inlineData.data). */
const IMAGE_KEYS: ReadonlySet<string> = new Set(['data'])

/**
 * Reads a whole answer with the byte cap (ResponseTooLargeError beyond it, the connection cancelled).
 * A 2xx answer's images are decoded into `seen.blobs` and the first candidate's finishMessage noted;
 * returns a Response with the same status and headers and the (small) JSON for the SDK to parse.
 */
export async function readAnswer(res: Response, seen: AnswerSeen, maxBytes: number, pool?: BufferPool): Promise<Response> {
  const init = { status: res.status, statusText: res.statusText, headers: res.headers }
  if (!res.ok) return new Response(await readCapped(res.body, maxBytes), init)
  // the body's size, when it is known (not compressed): the decoded images get one buffer of the right size
  const length = res.headers.get('content-encoding') ? NaN : Number(res.headers.get('content-length') ?? NaN)
  const { json, blobs, release } = await readJsonWithBlobs(res.body, maxBytes, IMAGE_KEYS, { contentLength: Number.isFinite(length) ? length : undefined, pool })
  seen.blobs = blobs
  seen.release = release
  try {
    const parsed: unknown = JSON.parse(json.toString('utf8'))
    const candidate = isRecord(parsed) && Array.isArray(parsed.candidates) && isRecord(parsed.candidates[0]) ? parsed.candidates[0] : undefined
    if (typeof candidate?.finishMessage === 'string') seen.finishMessage = candidate.finishMessage
  }
  catch { /* the SDK reports an unreadable body */ }
  return new Response(json, init)
}

/**
 * The final image of a 200 answer, or the ProviderError explaining why there is none. `blobs`: the
 * images readAnswer decoded (an inlineData.data of "#blob:<n>" is blobs[n]; any other is base64).
 */
export async function imageFromResponse(response: GenerateContentResponse, secrets: string[], finishMessageSeen?: string, blobs: readonly Buffer[] = []): Promise<GeneratedImage> {
  const candidate = response.candidates?.[0]
  const parts = candidate?.content?.parts ?? []
  const finals = parts.filter(part => part.inlineData?.data && part.thought !== true)
  const last = finals[finals.length - 1]
  if (last?.inlineData?.data) {
    return toGeneratedImage(blobOf(last.inlineData.data, blobs) ?? Buffer.from(last.inlineData.data, 'base64'), SOURCE)
  }

  const blockReason = response.promptFeedback?.blockReason
  if (blockReason) {
    const why = upstreamText(response.promptFeedback?.blockReasonMessage, secrets)
    throw new ProviderError('refused', 'safety_refused',
      `Gemini blocked this page's request (${blockReason}${why ? `: ${why}` : ''}). Rephrase the page's text or the extra prompt and try again.`)
  }
  const finishReason = String(candidate?.finishReason ?? '')
  const refusal = GEMINI_REFUSALS[finishReason]
  if (refusal) {
    // finishMessage explains the refusal in the model's words (only keys are taken out)
    const finishMessage = upstreamText((candidate as { finishMessage?: unknown } | undefined)?.finishMessage ?? finishMessageSeen, secrets)
    throw new ProviderError('refused', 'safety_refused',
      `Gemini refused to draw this page (${finishReason}: ${refusal}${finishMessage ? ` — "${finishMessage}"` : ''}). Rephrase the page's text or the extra prompt and try again.`)
  }
  const text = upstreamText(parts.filter(p => p.text && p.thought !== true).map(p => p.text).join(' '), secrets)
  const drafts = parts.length - finals.length > 0 && parts.some(p => p.inlineData?.data)
  const reason = finishReason && finishReason !== 'STOP' ? finishReason : drafts ? 'only a draft image' : 'no image'
  throw new ProviderError('retryable', 'no_image', `Gemini answered without an image (${reason})${text ? `: ${text}` : ''}`)
}

interface GoogleErrorBody {
  code?: number
  message?: string
  status?: string
  details?: Array<Record<string, unknown>>
}

/** The SDK's ApiError carries `.status`; its message is the JSON error body as a string. */
function parseApiErrorBody(err: ApiError): GoogleErrorBody {
  try {
    const parsed: unknown = JSON.parse(err.message)
    if (isRecord(parsed) && isRecord(parsed.error)) return parsed.error as GoogleErrorBody
  }
  catch { /* not JSON: keep the raw text */ }
  return { message: err.message }
}

export function classifyGeminiApiError(err: ApiError, model: string, secrets: string[]): ProviderError {
  const status = err.status
  const body = parseApiErrorBody(err)
  const details = Array.isArray(body.details) ? body.details.filter(isRecord) : []
  const typed = (suffix: string) => details.filter(d => typeof d['@type'] === 'string' && (d['@type'] as string).endsWith(suffix))
  const reasons = typed('google.rpc.ErrorInfo').map(d => d.reason)
  const upstreamStatus = body.status ?? ''
  const message = upstreamText(body.message, secrets)
  const said = message ? `: ${message}` : ''
  // no `cause`: the SDK's message is the raw upstream body, which is not ours to log
  const opts = { status }

  if (reasons.includes('API_KEY_INVALID') || status === 401 || /API key not valid/i.test(body.message ?? '')) {
    return new ProviderError('fatal', 'invalid_api_key', 'The proxy\'s API key was rejected — ask the administrator to check GEMINI_API_KEY', opts)
  }
  if (status === 400 && upstreamStatus === 'FAILED_PRECONDITION') {
    return new ProviderError('fatal', 'upstream_precondition',
      `Gemini cannot serve this project${said} — usually billing is not enabled or the API is not available in the server's region; ask the administrator`, opts)
  }
  if (status === 403) {
    return new ProviderError('fatal', 'permission_denied', `Gemini denied access${said} — ask the administrator to check the API key's project and permissions`, opts)
  }
  if (status === 404) {
    const retired = retiredMessage(model, 'NANO_BANANA_MODEL')
    if (retired) return new ProviderError('fatal', 'model_retired', `${retired} — ask the administrator`, opts)
    return new ProviderError('fatal', 'model_not_found', `Gemini does not know the model "${model}" — ask the administrator to check NANO_BANANA_MODEL`, opts)
  }
  if (status === 429) {
    const perDay = typed('google.rpc.QuotaFailure').some(d =>
      Array.isArray(d.violations) && d.violations.some(v => isRecord(v) && typeof v.quotaId === 'string' && v.quotaId.includes('PerDay')))
    // a limit of 0: the project has no quota at all for this model (no billing) — waiting never helps
    const noQuota = typed('google.rpc.QuotaFailure').some(d =>
      Array.isArray(d.violations) && d.violations.some(v => isRecord(v) && String(v.quotaValue ?? '') === '0'))
      || /\blimit:\s*0\b/.test(body.message ?? '')
    if (noQuota) {
      return new ProviderError('fatal', 'no_quota',
        `This key's project has no quota for ${model} (its limit is 0) — enable billing for the project, or ask the administrator to pick a model the project may use`, opts)
    }
    if (perDay) {
      return new ProviderError('fatal', 'daily_quota_exhausted', 'The Gemini daily quota of the proxy\'s API key is used up — try again tomorrow or ask the administrator to raise the quota', opts)
    }
    const retryAfterMs = typed('google.rpc.RetryInfo').map(d => parseDurationMs(d.retryDelay)).find(ms => ms !== undefined)
    const quota = typed('google.rpc.QuotaFailure').flatMap(d => (Array.isArray(d.violations) ? d.violations : []))
      .map(v => (isRecord(v) && typeof v.quotaId === 'string' ? v.quotaId : undefined)).find(id => id !== undefined)
    return new ProviderError('retryable', 'rate_limited', `Gemini is rate limiting requests (RESOURCE_EXHAUSTED)${said}`, { ...opts, retryAfterMs, quota })
  }
  if (status === 408 || status === 504) return new ProviderError('retryable', 'upstream_timeout', `Gemini timed out${said}`, opts)
  if (status === 502 || status === 503) return new ProviderError('retryable', 'upstream_unavailable', `Gemini is unavailable or overloaded${said}`, opts)
  if (status >= 500) return new ProviderError('retryable', 'upstream_error', `Gemini had an internal error${said}`, opts)
  return new ProviderError('fatal', 'upstream_rejected', `Gemini rejected the request (HTTP ${status} ${upstreamStatus})${said}`, opts)
}
