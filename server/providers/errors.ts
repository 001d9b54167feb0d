// Shared error helpers for the providers: key redaction, retry delays, network/timeout/abort
// classification and the OpenAI-style `{error:{code,message}}` classification (chat relays, Images API).
import { ProviderError } from './types.js'
import { retiredMessage } from '../models.js'
import { ResponseTooLargeError } from '../net/safeHttp.js'

const MAX_UPSTREAM_MESSAGE = 300

/** Removes `key=...` query parameters, bearer tokens and every given secret from a text. */
export function redact(text: string, secrets: Array<string | undefined>): string {
  let out = text
    .replace(/([?&](?:key|api_key|apikey|access_token)=)[^&\s"')]+/gi, '$1[redacted]')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/g, '$1[redacted]')
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]')
  }
  return out
}

/** Short, single-line, key-free version of an upstream message for a human. */
export function upstreamText(text: unknown, secrets: Array<string | undefined>): string {
  if (typeof text !== 'string') return ''
  const oneLine = redact(text, secrets).replace(/\s+/g, ' ').trim()
  return oneLine.length > MAX_UPSTREAM_MESSAGE ? `${oneLine.slice(0, MAX_UPSTREAM_MESSAGE)}…` : oneLine
}

/** google.protobuf.Duration in JSON ("26s", "1.5s", "0.200s") → ms. */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const match = /^\s*(\d+(?:\.\d+)?)s\s*$/.exec(value)
  return match ? Math.round(Number(match[1]) * 1000) : undefined
}

/** `retry-after-ms`, or `Retry-After` as seconds or an HTTP date → ms (never negative). */
export function parseRetryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms')
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms))
  const value = headers.get('retry-after')?.trim()
  if (!value) return undefined
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

export interface ThrownContext {
  /** the caller's signal: when it is aborted, the failure is ours (cancel) */
  signal: AbortSignal
  /** our own deadline fired (when the provider runs one) */
  timedOut?: boolean
  timeoutMs: number
  source: string
  secrets: Array<string | undefined>
}

/** The error to keep as `cause`, or undefined when any part of its chain mentions a secret. */
export function safeCause(err: unknown, secrets: Array<string | undefined>): unknown {
  const keys = secrets.filter((s): s is string => Boolean(s && s.length >= 4))
  let current: unknown = err
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const text = current instanceof Error ? `${current.message}\n${current.stack ?? ''}` : String(current)
    if (keys.some(key => text.includes(key))) return undefined
    current = current instanceof Error ? current.cause : undefined
  }
  return err
}

/** A source name inside a sentence: "The chat relay" → "the chat relay" ("Gemini" stays). */
export function midSentence(source: string): string {
  return source.replace(/^The\b/, 'the')
}

/** undici's error for a body cut off mid-way: TypeError "terminated" (cause: socket closed). */
function isCutOff(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const cause = err.cause instanceof Error ? err.cause : undefined
  const code = cause && 'code' in cause ? String((cause as { code: unknown }).code) : ''
  return err.message === 'terminated' || code === 'UND_ERR_SOCKET'
}

/** Anything thrown around a fetch (network, abort, timeout, bad JSON) → ProviderError. */
export function fromThrown(thrown: unknown, ctx: ThrownContext): ProviderError {
  if (thrown instanceof ProviderError) return thrown
  if (thrown instanceof ResponseTooLargeError) {
    // fatal: asking again would pay for another answer of the same kind
    return new ProviderError('fatal', 'image_too_large',
      `${ctx.source} sent an answer larger than ${Math.round(thrown.maxBytes / 1024 / 1024)} MB (MAX_UPSTREAM_RESPONSE_MB); it was not read to the end`)
  }
  const err = safeCause(thrown, ctx.secrets)
  const name = thrown instanceof Error ? thrown.name : ''
  if (ctx.signal.aborted) return new ProviderError('aborted', 'aborted', 'The request was cancelled', { cause: err })
  if (ctx.timedOut || name === 'TimeoutError' || name === 'AbortError') {
    return new ProviderError('retryable', 'upstream_timeout', `${ctx.source} did not answer within ${ctx.timeoutMs < 1000 ? `${ctx.timeoutMs} ms` : `${Math.round(ctx.timeoutMs / 1000)} s`}`, { cause: err })
  }
  if (thrown instanceof SyntaxError) {
    return new ProviderError('retryable', 'bad_response', `${ctx.source} sent a truncated or unreadable response`, { cause: err })
  }
  if (isCutOff(thrown)) {
    return new ProviderError('retryable', 'bad_response', `The answer from ${midSentence(ctx.source)} was cut off before its end (the connection closed mid-way)`, { cause: err })
  }
  const detail = thrown instanceof Error ? upstreamText(causeMessage(thrown), ctx.secrets) : ''
  return new ProviderError('retryable', 'network_error', `Could not reach ${midSentence(ctx.source)}${detail ? ` (${detail})` : ''}`, { cause: err })
}

function causeMessage(err: Error): string {
  const cause = err.cause instanceof Error ? err.cause : undefined
  const code = cause && 'code' in cause ? String((cause as { code: unknown }).code) : ''
  return [err.message, code].filter(Boolean).join(' ')
}

export interface OpenAIErrorContext {
  /** HTTP status; for an error object inside an HTTP 200 body, pass 200 */
  status: number
  body: unknown
  headers: Headers
  source: string
  model: string
  keyEnv: string
  /** the variable that sets the model (named when the model is retired) */
  modelEnv?: string
  secrets: Array<string | undefined>
}

const REFUSAL_CODES = new Set(['moderation_blocked', 'content_policy_violation', 'content_filter', 'safety_refused', 'image_safety'])
const KEY_CODES = new Set(['invalid_api_key', 'unauthorized', 'authentication_error', 'invalid_authentication'])

/** An OpenAI-style error (`{error:{code,message,type}}`, code string or number) → ProviderError. */
export function classifyOpenAIError(ctx: OpenAIErrorContext): ProviderError {
  const error = isRecord(ctx.body) && isRecord(ctx.body.error) ? ctx.body.error : isRecord(ctx.body) ? ctx.body : {}
  const rawCode = error.code ?? error.type
  const code = typeof rawCode === 'string' ? rawCode.toLowerCase() : ''
  // relays (OpenRouter) put the HTTP status in error.code, also inside a 200 body
  const status = typeof rawCode === 'number' && rawCode >= 400 ? rawCode
    : ctx.status >= 400 ? ctx.status
      : typeof error.status === 'number' ? error.status : 0
  const message = upstreamText(error.message ?? (typeof ctx.body === 'string' ? ctx.body : ''), ctx.secrets)
  const said = message ? `: ${message}` : ''
  const opts = { status: status || undefined }

  const metadata = isRecord(error.metadata) ? error.metadata : {}
  const reasons = Array.isArray(metadata.reasons) ? metadata.reasons.filter((r): r is string => typeof r === 'string') : []
  if (status === 403 && (reasons.length || typeof metadata.flagged_input === 'string')) {
    // OpenRouter's moderation: 403 with error.metadata.reasons (and the flagged part of the input)
    const why = reasons.length ? ` (${upstreamText(reasons.join(', '), ctx.secrets)})` : ''
    return new ProviderError('refused', 'safety_refused', `The relay's moderation refused this page${why}${said}. Rephrase the page's text or the extra prompt and try again.`, opts)
  }
  if (REFUSAL_CODES.has(code)) {
    return new ProviderError('refused', 'safety_refused', `The image service refused this page (${code})${said}. Rephrase the page's text or the extra prompt and try again.`, opts)
  }
  if (status === 401 || KEY_CODES.has(code)) {
    return new ProviderError('fatal', 'invalid_api_key', `The proxy's API key was rejected — ask the administrator to check ${ctx.keyEnv}`, opts)
  }
  if (code === 'insufficient_quota' || code === 'billing_hard_limit_reached' || status === 402) {
    return new ProviderError('fatal', 'quota_exhausted', `${ctx.source} says the account has no credit or quota left${said} — ask the administrator to check billing`, opts)
  }
  if (status === 403) {
    return new ProviderError('fatal', 'permission_denied', `${ctx.source} denied access${said} — ask the administrator to check the key's permissions`, opts)
  }
  if (status === 404 || code === 'model_not_found') {
    const retired = retiredMessage(ctx.model, ctx.modelEnv ?? 'the model variable')
    if (retired) return new ProviderError('fatal', 'model_retired', `${retired} — ask the administrator`, opts)
    return new ProviderError('fatal', 'model_not_found', `${ctx.source} does not know the model "${ctx.model}"${said} — ask the administrator to check the model name`, opts)
  }
  if (status === 429 || code === 'rate_limit_exceeded') {
    return new ProviderError('retryable', 'rate_limited', `${ctx.source} is rate limiting requests${said}`, { ...opts, retryAfterMs: parseRetryAfterMs(ctx.headers) })
  }
  if (status === 408 || status === 504) {
    return new ProviderError('retryable', 'upstream_timeout', `${ctx.source} timed out${said}`, opts)
  }
  if (status === 502 || status === 503 || status === 529) {
    return new ProviderError('retryable', 'upstream_unavailable', `${ctx.source} is unavailable or overloaded${said}`, { ...opts, retryAfterMs: parseRetryAfterMs(ctx.headers) })
  }
  if (status >= 500 || status === 0) {
    return new ProviderError('retryable', 'upstream_error', `${ctx.source} failed${said}`, { ...opts, retryAfterMs: parseRetryAfterMs(ctx.headers) })
  }
  return new ProviderError('fatal', 'upstream_rejected', `${ctx.source} rejected the request (HTTP ${status})${said}`, opts)
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * A short structural description of a JSON answer (keys and value types, arrays by their first
 * element, a few levels deep; `finish_reason` values kept), e.g.
 * `{choices:[{finish_reason:"stop",message:{content:string,role:string}}],id:string}`. Two answers
 * with the same description are the same kind of answer (values such as ids do not matter).
 */
export function answerShape(value: unknown, depth = 0): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return value.length ? `[${answerShape(value[0], depth + 1)}]` : '[]'
  if (typeof value !== 'object') return typeof value
  if (depth >= 4) return '{…}'
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}:${/finish_reason$/.test(k) && typeof v === 'string' ? JSON.stringify(v) : answerShape(v, depth + 1)}`)
  const text = `{${entries.join(',')}}`
  return depth === 0 && text.length > 240 ? `${text.slice(0, 240)}…` : text
}
