import { describe, expect, it } from 'vitest'
import { pageErrorKind, pageErrorText, toUserError } from '../../plugin/api/errors'
import { translate } from '../../plugin/i18n/messages'
import { httpError, networkError } from './fakes/proxyApi'

const zh = (key: Parameters<typeof translate>[1], params?: Parameters<typeof translate>[2]) => translate('zh', key, params)
const en = (key: Parameters<typeof translate>[1], params?: Parameters<typeof translate>[2]) => translate('en', key, params)
const URL = 'http://127.0.0.1:8787'

describe('errors in words', () => {
  it('proxy unreachable names the URL', () => {
    expect(toUserError(networkError(), en, URL)).toEqual({
      kind: 'unreachable', message: `Cannot reach the generation service at ${URL}. Is it running and reachable?`,
    })
    expect(toUserError(new TypeError('Failed to fetch'), zh, URL).kind).toBe('unreachable')
  })

  it('queue full gives the wait from Retry-After', () => {
    const error = toUserError(httpError(429, { error: { code: 'queue_full', message: 'full' } }, { 'retry-after': '17' }), en, URL)
    expect(error).toEqual({ kind: 'queue_full', retryAfter: 17, message: 'The generation queue is full. Try again in 17 s.' })
    expect(toUserError(httpError(429, {}), en, URL).message).toBe('The generation queue is full. Try again shortly.')
  })

  it('401 asks for the token; a bad upstream key asks for the admin', () => {
    expect(toUserError(httpError(401, { error: { code: 'unauthorized', message: 'no' } }), zh, URL).kind).toBe('unauthorized')
    const config = toUserError(httpError(500, { error: { code: 'invalid_api_key', message: 'API key not valid' } }), en, URL)
    expect(config.kind).toBe('config')
    expect(config.message).toContain('ask the administrator')
  })

  it('invalid input quotes the server\'s reason', () => {
    expect(toUserError(httpError(400, { error: { code: 'invalid_request', message: 'pages must not be empty' } }), en, URL).message)
      .toBe('Invalid request: pages must not be empty')
  })

  it('page failures: safety refusals ask to rephrase, config failures ask the admin, others show the reason', () => {
    expect(pageErrorKind('safety_refused')).toBe('refused')
    expect(pageErrorKind('moderation_blocked')).toBe('refused')
    expect(pageErrorKind('invalid_api_key')).toBe('config')
    expect(pageErrorKind('upstream_unavailable')).toBe('unknown')
    expect(pageErrorText(zh, 'safety_refused', 'IMAGE_SAFETY')).toBe('该页内容被模型的安全策略拒绝，请修改页面文字或补充要求后重试。')
    expect(pageErrorText(en, 'upstream_unavailable', 'model overloaded')).toBe('model overloaded')
  })
})
