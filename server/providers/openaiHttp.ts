// One POST to an OpenAI-compatible endpoint: timeout + caller signal, JSON parsing, and every
// failure (HTTP error, error object inside a 200, truncated body, network, abort) as a ProviderError.
import { ProviderError } from './types.js'
import { classifyOpenAIError, fromThrown, isRecord, safeCause, upstreamText } from './errors.js'
import { assembleChatStream, looksLikeEventStream } from './eventStream.js'
import { callSignal } from './signals.js'
import { readCapped } from './answerReader.js'
import { DEFAULT_MAX_DOWNLOAD_BYTES } from './download.js'

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
}

export async function postOpenAI(url: string, body: string | FormData, callerSignal: AbortSignal, ctx: OpenAICallContext): Promise<Record<string, unknown>> {
  if (callerSignal.aborted) throw new ProviderError('aborted', 'aborted', 'The request was cancelled')
  const call = callSignal(callerSignal, ctx.timeoutMs)
  const secrets = [ctx.apiKey]
  const headers: Record<string, string> = { authorization: `Bearer ${ctx.apiKey}`, accept: 'application/json' }
  if (typeof body === 'string') headers['content-type'] = 'application/json'
  try {
    const res = await ctx.fetch(url, { method: 'POST', headers, body, signal: call.signal })
    // capped: a body past the cap is cancelled (the connection closed) instead of read on
    const text = (await readCapped(res.body, ctx.maxResponseBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES)).toString('utf8')
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
    return parsed
  }
  catch (err) {
    throw fromThrown(err, { signal: callerSignal, timedOut: call.timedOut(), timeoutMs: ctx.timeoutMs, source: ctx.source, secrets })
  }
  finally {
    call.dispose()
  }
}
