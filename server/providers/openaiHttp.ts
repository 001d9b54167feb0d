// One POST to an OpenAI-compatible endpoint: timeout + caller signal, JSON parsing, and every
// failure (HTTP error, error object inside a 200, truncated body, network, abort) as a ProviderError.
import { ProviderError } from './types.js'
import { classifyOpenAIError, fromThrown, isRecord, safeCause, upstreamText } from './errors.js'
import { assembleChatStream, looksLikeEventStream } from './eventStream.js'
import { callSignal } from './signals.js'
import { readCapped, readJsonWithBlobs } from './answerReader.js'
import { DEFAULT_MAX_DOWNLOAD_BYTES } from './download.js'
import type { BufferPool } from './bufferPool.js'

export interface OpenAICallContext {
  source: string
  model: string
  keyEnv: string
  /** the variable that sets the model, named when it is retired */
  modelEnv: string
  apiKey: string
  timeoutMs: number
  fetch: typeof fetch
  /** cap on the answer's body, bytes (MAX_UPSTREAM_RESPONSE_MB; default 64 MB): beyond it `image_too_large` */
  maxResponseBytes?: number
  /** where a 2xx answer's images are decoded into (see OpenAIAnswer.release); fresh buffers without */
  buffers?: BufferPool
}

/** A 2xx answer: its JSON with every inline image replaced by "#blob:<n>" (blobOf), and those images. */
export interface OpenAIAnswer {
  body: Record<string, unknown>
  /** decoded images, in order of appearance */
  blobs: Buffer[]
  /** hands the blobs' buffer back to the pool once nothing reads them (idempotent) */
  release: () => void
}

// Where relays put images (upstream.md §2, §3): Images-API b64_json and content parts' base64 are plain
// base64; image_url(.url) and an image part's data may be a data URL (a link stays as it is). Read as the
// answer arrives (answerReader.ts), so a 4K answer (~40 MB of JSON) is never one string nor one parse.
const BASE64_KEYS: ReadonlySet<string> = new Set(['b64_json', 'base64'])
const DATA_URL_KEYS: ReadonlySet<string> = new Set(['url', 'image_url', 'data'])

/**
 * POSTs `body` and reads the answer: a 2xx JSON answer (or an event stream of chat chunks, assembled)
 * with its inline images decoded on the way; any failure as a ProviderError (the images' buffer is
 * then already handed back).
 */
export async function postOpenAI(url: string, body: string | FormData, callerSignal: AbortSignal, ctx: OpenAICallContext): Promise<OpenAIAnswer> {
  if (callerSignal.aborted) throw new ProviderError('aborted', 'aborted', 'The request was cancelled')
  const call = callSignal(callerSignal, ctx.timeoutMs)
  const secrets = [ctx.apiKey]
  const headers: Record<string, string> = { authorization: `Bearer ${ctx.apiKey}`, accept: 'application/json' }
  if (typeof body === 'string') headers['content-type'] = 'application/json'
  let release = () => {}
  try {
    const res = await ctx.fetch(url, { method: 'POST', headers, body, signal: call.signal })
    // capped: a body past the cap is cancelled (the connection closed) instead of read on
    const maxBytes = ctx.maxResponseBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES
    let text: string
    let blobs: Buffer[] = []
    if (res.ok) {
      const encoded = res.headers.get('content-encoding')
      const length = encoded ? NaN : Number(res.headers.get('content-length') ?? NaN)
      const read = await readJsonWithBlobs(res.body, maxBytes, BASE64_KEYS, { contentLength: Number.isFinite(length) ? length : undefined, pool: ctx.buffers, dataUrlKeys: DATA_URL_KEYS })
      release = read.release
      blobs = read.blobs
      text = read.json.toString('utf8')
    }
    else text = (await readCapped(res.body, maxBytes)).toString('utf8')
    let parsed: unknown
    if (res.ok && looksLikeEventStream(res.headers.get('content-type'), text)) {
      // asked for one JSON answer, got a stream anyway: read the image out of the chunks
      parsed = assembleChatStream(text)
      if (parsed === null) {
        throw new ProviderError('fatal', 'relay_streamed',
          `${ctx.source} answered with an event stream (text/event-stream) the proxy could not read, although no stream was asked for — ask the administrator to check the relay (OPENAI_BASE_URL)`,
          { answerShape: 'event stream without JSON chunks' })
      }
    }
    else {
      try {
        parsed = JSON.parse(text)
      }
      catch (err) {
        if (!res.ok) throw classifyOpenAIError({ status: res.status, body: text, headers: res.headers, source: ctx.source, model: ctx.model, keyEnv: ctx.keyEnv, modelEnv: ctx.modelEnv, secrets })
        // cut-off JSON is a transient accident; any other body (an HTML page…) is a shape that may repeat
        const truncated = /^\s*[[{]/.test(text)
        const type = (res.headers.get('content-type') ?? 'no content type').split(';')[0]
        throw new ProviderError('retryable', 'bad_response', truncated
          ? `${ctx.source} sent a truncated response`
          : `${ctx.source} sent something that is not JSON (${type}: "${upstreamText(text.slice(0, 80), secrets)}")`,
        { cause: safeCause(err, secrets), ...(truncated ? {} : { answerShape: `HTTP ${res.status} ${type}, not JSON` }) })
      }
    }
    if (!res.ok) throw classifyOpenAIError({ status: res.status, body: parsed, headers: res.headers, source: ctx.source, model: ctx.model, keyEnv: ctx.keyEnv, modelEnv: ctx.modelEnv, secrets })
    if (!isRecord(parsed)) throw new ProviderError('retryable', 'bad_response', `${ctx.source} sent an unexpected response`)
    // relays may answer HTTP 200 with an error object and nothing else
    if (parsed.error && !parsed.choices && !parsed.data) {
      throw classifyOpenAIError({ status: 200, body: parsed, headers: res.headers, source: ctx.source, model: ctx.model, keyEnv: ctx.keyEnv, modelEnv: ctx.modelEnv, secrets })
    }
    return { body: parsed, blobs, release }
  }
  catch (err) {
    release()
    throw fromThrown(err, { signal: callerSignal, timedOut: call.timedOut(), timeoutMs: ctx.timeoutMs, source: ctx.source, secrets })
  }
  finally {
    call.dispose()
  }
}
