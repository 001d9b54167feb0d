// Turns failures into sentences a user can act on.
import { isAxiosError } from 'axios'
import type { ApiErrorBody } from '../types/api'
import type { Translate } from '../i18n/messages'

export type UserErrorKind = 'unreachable' | 'queue_full' | 'unauthorized' | 'config' | 'refused' | 'invalid' | 'not_found' | 'unknown'

export interface UserError {
  kind: UserErrorKind
  message: string
  /** seconds to wait before trying again (queue full) */
  retryAfter?: number
}

const REFUSED = /refus|safety|moderation|prohibit|blocked|recitation/i
const CONFIG = /api_key|invalid_key|unauthenticated|permission|billing|precondition|quota|model_not_found|unknown_model|config|fatal/i

/** What a failed page's error code means to the user. */
export function pageErrorKind(code: string | null | undefined): UserErrorKind {
  if (!code) return 'unknown'
  if (REFUSED.test(code)) return 'refused'
  if (CONFIG.test(code)) return 'config'
  return 'unknown'
}

export function pageErrorText(t: Translate, code: string | null | undefined, message: string | null | undefined): string {
  const kind = pageErrorKind(code)
  if (kind === 'refused') return t('errRefused')
  if (kind === 'config') return t('errConfig', { detail: message ?? '' }).trim()
  return message || code || t('statusFailed')
}

function parseRetryAfter(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds))
  const date = Date.parse(String(value))
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - Date.now()) / 1000)) : undefined
}

export function toUserError(error: unknown, t: Translate, serverUrl: string): UserError {
  if (isAxiosError(error)) {
    const response = error.response
    if (!response) return { kind: 'unreachable', message: t('errUnreachable', { url: serverUrl }) }
    const body = response.data as Partial<ApiErrorBody> | undefined
    const code = body?.error?.code ?? ''
    const detail = body?.error?.message ?? error.message
    if (response.status === 401) return { kind: 'unauthorized', message: t('errUnauthorized') }
    if (response.status === 429) {
      const retryAfter = parseRetryAfter(response.headers?.['retry-after'])
      return {
        kind: 'queue_full',
        message: retryAfter !== undefined ? t('errQueueFull', { n: retryAfter }) : t('errQueueFullNoWait'),
        retryAfter,
      }
    }
    if (response.status === 404) return { kind: 'not_found', message: t('errNotFound') }
    if (REFUSED.test(code)) return { kind: 'refused', message: t('errRefused') }
    if (CONFIG.test(code)) {
      return { kind: 'config', message: t('errConfig', { detail }).trim() }
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
