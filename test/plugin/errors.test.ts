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

  it('a gateway\'s 502/503/504 for a proxy that is down reads as unreachable; the proxy\'s own 503 keeps its meaning', () => {
    for (const status of [502, 503, 504]) {
      expect(toUserError(httpError(status, '<html><body>502 Bad Gateway</body></html>'), zh, URL)).toEqual({ kind: 'unreachable', message: expect.stringContaining('无法连接到生成服务') })
    }
    expect(toUserError(httpError(503, { error: { code: 'storage_unavailable', message: 'x' } }), en, URL).kind).toBe('config')
    expect(toUserError(httpError(500, '<html>oops</html>'), en, URL).kind).toBe('unknown')
  })

  it('queue full gives the wait from Retry-After', () => {
    const error = toUserError(httpError(429, { error: { code: 'queue_full', message: 'full' } }, { 'retry-after': '17' }), en, URL)
    expect(error).toEqual({ kind: 'queue_full', retryAfter: 17, message: 'The generation queue is full. Try again in 17 s.' })
    expect(toUserError(httpError(429, {}), en, URL).message).toBe('The generation queue is full. Try again shortly.')
  })

  it('budget exhausted, per-client limits and unusable storage are explained in both languages', () => {
    const budget = httpError(429, { error: { code: 'budget_exhausted', message: 'The proxy has used up its budget of $10.00 per 10 minutes' } }, { 'retry-after': '290' })
    expect(toUserError(budget, en, URL)).toMatchObject({ kind: 'queue_full', retryAfter: 290, message: expect.stringContaining('used up its generation budget') })
    expect(toUserError(budget, en, URL).message).toContain('4 min 50 s')
    expect(toUserError(budget, zh, URL).message).toContain('生成预算已用完')
    expect(toUserError(budget, zh, URL).message).toContain('4 分 50 秒')
    const limited = httpError(429, { error: { code: 'client_queue_full', message: 'x' } }, { 'retry-after': '30' })
    expect(toUserError(limited, en, URL).message).toBe('Too many requests from you: this service limits each user. Try again in 30 s.')
    expect(toUserError(limited, zh, URL).message).toContain('30 秒')
    const storage = httpError(503, { error: { code: 'storage_unavailable', message: 'DATA_DIR is not writable' } })
    expect(toUserError(storage, zh, URL)).toMatchObject({ kind: 'config', message: expect.stringContaining('存储空间不可用'), detail: 'DATA_DIR is not writable' })
    expect(pageErrorText(en, 'image_url_blocked', 'x')).toContain('internal address')
    // a disk that filled up during the batch: the page says so in the UI's language, not in the proxy's English
    expect(pageErrorText(zh, 'storage_unavailable', 'The proxy could not store the image (its disk is full, ENOSPC)')).toMatch(/^生成服务的存储空间不可用/)
    expect(pageErrorText(en, 'storage_unavailable', 'x')).toContain('disk full or read-only')
  })

  it('the 422s a wait cannot help (budget below one page\'s price, batch over the per-minute limit) and a page failed for its price, in both languages', () => {
    const below = httpError(422, { error: { code: 'budget_below_price', message: 'One 4K image costs $0.24, more than the budget', details: [{ path: 'budget', message: 'x' }] } })
    expect(toUserError(below, zh, URL)).toMatchObject({ kind: 'config', message: expect.stringContaining('更小的分辨率'), detail: 'One 4K image costs $0.24, more than the budget' })
    expect(toUserError(below, en, URL).message).toContain('smaller resolution')
    const over = httpError(422, { error: { code: 'batch_exceeds_rate_limit', message: 'This batch has 150 pages', details: [{ path: 'pages', message: 'at most 120 pages per batch on this proxy' }] } })
    expect(toUserError(over, zh, URL)).toMatchObject({ kind: 'invalid', message: '本服务每分钟最多接受每位用户 120 页：请用“指定页面”分几批生成。' })
    expect(toUserError(over, en, URL).message).toContain('at most 120 slides per minute')
    expect(pageErrorText(zh, 'budget_below_price', 'One 2K image costs $0.13, more than …')).toMatch(/^这一页的价格超过了/)
    expect(pageErrorText(en, 'budget_below_price', 'x')).toContain('nothing paid')
  })

  it('401 asks for the token; a bad upstream key asks for the admin in the UI\'s language, the proxy\'s words kept as detail', () => {
    expect(toUserError(httpError(401, { error: { code: 'unauthorized', message: 'no' } }), zh, URL).kind).toBe('unauthorized')
    const config = toUserError(httpError(500, { error: { code: 'invalid_api_key', message: 'API key not valid' } }), en, URL)
    expect(config.kind).toBe('config')
    expect(config.message).toContain('ask the administrator')
    expect(config.detail).toBe('API key not valid')
    // Chinese: no English proxy text inside the sentence
    const zhConfig = toUserError(httpError(500, { error: { code: 'quota_exhausted', message: 'Gemini says the account has no credit' } }), zh, URL)
    expect(zhConfig.message).toBe('图像服务账号的额度或余额已用完：请联系管理员。')
    expect(zhConfig.message).not.toMatch(/[A-Za-z]{3,}/)
    expect(zhConfig.detail).toBe('Gemini says the account has no credit')
    // a config-like code the UI does not know gets the general sentence
    expect(toUserError(httpError(500, { error: { code: 'billing_disabled', message: 'x' } }), zh, URL).message).toBe('生成服务配置有误（如 API 密钥无效），请联系管理员。')
  })

  it('invalid input quotes the server\'s reason', () => {
    expect(toUserError(httpError(400, { error: { code: 'invalid_request', message: 'pages must not be empty' } }), en, URL).message)
      .toBe('Invalid request: pages must not be empty')
  })

  it('page failures: safety refusals ask to rephrase, config failures ask the admin', () => {
    expect(pageErrorKind('safety_refused')).toBe('refused')
    expect(pageErrorKind('moderation_blocked')).toBe('refused')
    expect(pageErrorKind('invalid_api_key')).toBe('config')
    expect(pageErrorKind('upstream_unavailable')).toBe('unknown')
    expect(pageErrorText(zh, 'safety_refused', 'IMAGE_SAFETY')).toBe('模型的安全过滤拒绝了这一页：请改写这页的文字或补充要求后重试。')
    expect(pageErrorText(zh, 'moderation_blocked', 'blocked')).toBe('模型的安全过滤拒绝了这一页：请改写这页的文字或补充要求后重试。')
    expect(pageErrorText(zh, 'some_billing_problem', 'billing off')).toBe('生成服务配置有误：请联系管理员（鼠标悬停可看原因）。')
  })

  it('every error code the proxy gives a page reads as a sentence in the UI\'s language, not the proxy\'s English', () => {
    // the codes of server/providers/errors.ts, server/batches.ts and README "Image providers"
    const codes = [
      'interrupted', 'rate_limited', 'upstream_unavailable', 'upstream_error', 'upstream_timeout', 'network_error',
      'bad_response', 'no_image', 'invalid_image', 'download_failed', 'preview_failed', 'safety_refused',
      'invalid_api_key', 'permission_denied', 'model_not_found', 'upstream_precondition', 'daily_quota_exhausted',
      'quota_exhausted', 'upstream_rejected', 'image_too_large', 'unknown_template', 'internal_error',
      'cancelled', 'aborted', 'shutdown', 'model_retired', 'no_quota', 'relay_streamed', 'unreadable_answer',
    ]
    const proxyMessage = 'Gemini is unavailable or overloaded: model gemini-3-pro-image (gave up after 3 retries)'
    for (const code of codes) {
      const zhText = pageErrorText(zh, code, proxyMessage)
      const enText = pageErrorText(en, code, proxyMessage)
      expect(zhText, code).not.toBe(proxyMessage)
      expect(zhText, code).toMatch(/[\u4e00-\u9fff]/)
      expect(zhText, code).not.toMatch(/[A-Za-z]{4,}/)
      expect(zhText, code).toContain('：') // what happened：what to do
      expect(enText, code).not.toBe(proxyMessage)
      expect(enText, code).not.toMatch(/[\u4e00-\u9fff]/)
      expect(enText, code).toContain(': ')
    }
    expect(pageErrorText(zh, 'interrupted', 'interrupted — retry')).toBe('生成服务重启，这一页被中断：请点“重试”。')
    expect(pageErrorText(en, 'upstream_unavailable', proxyMessage)).toBe('The image service is unavailable or overloaded: retry in a little while.')
  })

  it('an unknown page error code falls back to the proxy\'s message, then the code', () => {
    expect(pageErrorText(zh, 'brand_new_code', 'something new happened')).toBe('something new happened')
    expect(pageErrorText(zh, 'brand_new_code', null)).toBe('brand_new_code')
    expect(pageErrorText(zh, null, null)).toBe('失败')
  })
})
