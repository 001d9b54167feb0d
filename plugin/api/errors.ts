// Turns failures into sentences a user can act on.
import { isAxiosError } from 'axios'
import type { ApiErrorBody } from '../types/api'
import type { MessageKey, Translate } from '../i18n/messages'

export type UserErrorKind = 'unreachable' | 'queue_full' | 'unauthorized' | 'config' | 'refused' | 'invalid' | 'not_found' | 'unknown'

export interface UserError {
  kind: UserErrorKind
  message: string
  /** the proxy's own words (English, may name the model or the reason): for a tooltip */
  detail?: string
  /** seconds to wait before trying again (queue full) */
  retryAfter?: number
}

const REFUSED = /refus|safety|moderation|prohibit|blocked|recitation/i
const CONFIG = /api_key|invalid_key|unauthenticated|permission|billing|precondition|quota|model_not_found|model_retired|unknown_model|relay_streamed|unreadable|config|fatal/i

/** What a failed page's error code means to the user. */
export function pageErrorKind(code: string | null | undefined): UserErrorKind {
  if (!code) return 'unknown'
  if (REFUSED.test(code)) return 'refused'
  if (CONFIG.test(code)) return 'config'
  return 'unknown'
}

// The proxy's page error codes (server/providers/errors.ts, server/batches.ts, README "Image providers").
const PAGE_ERROR_KEYS: Record<string, MessageKey> = {
  interrupted: 'pageErrInterrupted',
  rate_limited: 'pageErrRateLimited',
  upstream_unavailable: 'pageErrUnavailable',
  upstream_error: 'pageErrUpstream',
  upstream_timeout: 'pageErrTimeout',
  network_error: 'pageErrNetwork',
  bad_response: 'pageErrBadResponse',
  no_image: 'pageErrNoImage',
  invalid_image: 'pageErrInvalidImage',
  download_failed: 'pageErrDownload',
  preview_failed: 'pageErrPreview',
  safety_refused: 'pageErrRefused',
  invalid_api_key: 'pageErrApiKey',
  permission_denied: 'pageErrPermission',
  model_not_found: 'pageErrModel',
  model_retired: 'pageErrModelRetired',
  no_quota: 'pageErrNoQuota',
  relay_streamed: 'pageErrRelayStreamed',
  unreadable_answer: 'pageErrUnreadable',
  upstream_precondition: 'pageErrPrecondition',
  daily_quota_exhausted: 'pageErrDailyQuota',
  quota_exhausted: 'pageErrQuota',
  upstream_rejected: 'pageErrRejected',
  image_too_large: 'pageErrTooLarge',
  image_url_blocked: 'pageErrUrlBlocked',
  storage_unavailable: 'pageErrStorage',
  budget_below_price: 'pageErrBudgetBelowPrice',
  unknown_template: 'pageErrTemplate',
  internal_error: 'pageErrInternal',
  cancelled: 'pageErrCancelled',
  aborted: 'pageErrCancelled',
  shutdown: 'pageErrInterrupted',
}

/**
 * A failed page's reason in the UI's language: a known code becomes a short sentence (what happened,
 * what to do); an unknown one falls back to the proxy's message, whose words stay available as `detail`.
 */
export function pageErrorText(t: Translate, code: string | null | undefined, message: string | null | undefined): string {
  const key = code ? PAGE_ERROR_KEYS[code.toLowerCase()] : undefined
  if (key) return t(key)
  const kind = pageErrorKind(code)
  if (kind === 'refused') return t('pageErrRefused')
  if (kind === 'config') return t('pageErrConfig')
  return message || code || t('statusFailed')
}

function parseRetryAfter(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds))
  const date = Date.parse(String(value))
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - Date.now()) / 1000)) : undefined
}

const GATEWAY_STATUSES = [502, 503, 504]

export function toUserError(error: unknown, t: Translate, serverUrl: string): UserError {
  if (isAxiosError(error)) {
    const response = error.response
    if (!response) return { kind: 'unreachable', message: t('errUnreachable', { url: serverUrl }) }
    const body = response.data as Partial<ApiErrorBody> | undefined
    const code = body?.error?.code ?? ''
    // 502/503/504 without the proxy's error shape: a gateway in front of it (nginx, a load balancer)
    // answering for a proxy that is down or restarting — the same as no answer at all
    if (GATEWAY_STATUSES.includes(response.status) && !code) return { kind: 'unreachable', message: t('errUnreachable', { url: serverUrl }) }
    const detail = body?.error?.message ?? error.message
    if (response.status === 401) return { kind: 'unauthorized', message: t('errUnauthorized') }
    if (response.status === 429) {
      const retryAfter = parseRetryAfter(response.headers?.['retry-after'])
      if (code === 'budget_exhausted') {
        const wait = retryAfter === undefined ? '?' : retryAfter < 120 ? t('seconds', { n: retryAfter }) : t('minutes', { m: Math.floor(retryAfter / 60), s: retryAfter % 60 })
        return { kind: 'queue_full', message: t('errBudget', { wait }), detail, retryAfter }
      }
      if ((code === 'rate_limited' || code === 'client_queue_full' || code === 'too_many_streams') && retryAfter !== undefined) {
        return { kind: 'queue_full', message: t('errClientLimit', { n: retryAfter }), detail, retryAfter }
      }
      return {
        kind: 'queue_full',
        message: retryAfter !== undefined ? t('errQueueFull', { n: retryAfter }) : t('errQueueFullNoWait'),
        retryAfter,
      }
    }
    if (response.status === 404) return { kind: 'not_found', message: t('errNotFound') }
    if (code === 'storage_unavailable') return { kind: 'config', message: t('errStorage'), detail }
    if (REFUSED.test(code)) return { kind: 'refused', message: t('errRefused'), detail }
    // the proxy's English detail goes to the tooltip, so a Chinese sentence is not mixed with it
    if (CONFIG.test(code)) {
      const key = PAGE_ERROR_KEYS[code.toLowerCase()]
      return { kind: 'config', message: key ? t(key) : t('errConfig'), detail }
    }
    // 422: waiting would never help (docs/api.md); said in the UI's language, the proxy's words as detail
    if (code === 'budget_below_price') return { kind: 'config', message: t('errBudgetBelowPrice'), detail }
    if (code === 'batch_exceeds_rate_limit') {
      const details = Array.isArray(body?.error?.details) ? body.error.details as { message?: unknown }[] : []
      const max = details.map(d => /at most (\d+)/.exec(String(d.message ?? ''))?.[1]).find(Boolean)
      return { kind: 'invalid', message: max ? t('errBatchOverRate', { n: max }) : t('errBatchOverRateNoMax'), detail }
    }
    if (response.status === 400 || response.status === 413 || response.status === 409) {
      return { kind: 'invalid', message: t('errInvalid', { detail }) }
    }
    return { kind: 'unknown', message: t('errUnknown', { detail }) }
  }
  if (error instanceof TypeError) return { kind: 'unreachable', message: t('errUnreachable', { url: serverUrl }) }
  const detail = error instanceof Error ? error.message : String(error)
  return { kind: 'unknown', message: t('errUnknown', { detail }) }
}
