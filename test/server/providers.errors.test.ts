import { describe, expect, it } from 'vitest'
import { classifyOpenAIError, parseDurationMs, parseRetryAfterMs, redact } from '../../server/providers/errors.js'
import { createGeminiProvider } from '../../server/providers/gemini.js'
import { sniffImageMime, toGeneratedImage } from '../../server/providers/sniff.js'
import { errorText, makeRequest, providerError } from './providers.helpers.js'

const KEY = 'AIzaSy-secret-key-abcdef123456'

describe('redact', () => {
  it('removes key query parameters, bearer tokens and the key itself', () => {
    const text = `GET https://x.example/v1/models?alt=json&key=${KEY} failed; Authorization: Bearer sk-abcdefghijklmnop; echo ${KEY}`
    const out = redact(text, [KEY])
    expect(out).not.toContain(KEY)
    expect(out).not.toContain('sk-abcdefghijklmnop')
    expect(out).toContain('key=[redacted]')
  })
})

describe('retry delays', () => {
  it('parses google.protobuf.Duration strings', () => {
    expect(parseDurationMs('26s')).toBe(26_000)
    expect(parseDurationMs('1.5s')).toBe(1500)
    expect(parseDurationMs('0.200s')).toBe(200)
    expect(parseDurationMs('soon')).toBeUndefined()
    expect(parseDurationMs(12)).toBeUndefined()
  })

  it('parses Retry-After seconds, HTTP dates and retry-after-ms', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '12' }), now)).toBe(12_000)
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }), now)).toBe(30_000)
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' }), now)).toBe(0)
    expect(parseRetryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250)
    expect(parseRetryAfterMs(new Headers(), now)).toBeUndefined()
  })
})

describe('classifyOpenAIError', () => {
  const classify = (status: number, body: unknown) => classifyOpenAIError({ status, body, headers: new Headers(), source: 'Relay', model: 'm', keyEnv: 'OPENAI_API_KEY', secrets: [] })
  it('classifies by code before status', () => {
    expect(classify(400, { error: { code: 'moderation_blocked', message: 'no' } })).toMatchObject({ kind: 'refused', code: 'safety_refused' })
    expect(classify(400, { error: { code: 'content_policy_violation' } })).toMatchObject({ kind: 'refused' })
    expect(classify(429, { error: { code: 'insufficient_quota' } })).toMatchObject({ kind: 'fatal', code: 'quota_exhausted' })
    expect(classify(200, { error: { code: 503, message: 'overloaded' } })).toMatchObject({ kind: 'retryable', code: 'upstream_unavailable', status: 503 })
    expect(classify(200, { error: { code: 401 } })).toMatchObject({ kind: 'fatal', code: 'invalid_api_key' })
    expect(classify(422, 'Unprocessable')).toMatchObject({ kind: 'fatal', code: 'upstream_rejected', status: 422 })
    expect(classify(502, '<html>bad gateway</html>')).toMatchObject({ kind: 'retryable', code: 'upstream_unavailable' })
  })
})

describe('gemini error messages never carry the key', () => {
  it('redacts a key the upstream put into its error body', async () => {
    const leakyFetch: typeof fetch = async () => new Response(JSON.stringify({
      error: { code: 400, status: 'INVALID_ARGUMENT', message: `Request to https://generativelanguage.googleapis.com/v1beta/models/x?key=${KEY} had an invalid field (key ${KEY})` },
    }), { status: 400, headers: { 'content-type': 'application/json' } })
    const provider = createGeminiProvider({ apiKey: KEY, model: 'gemini-3-pro-image', timeoutMs: 5000, fetch: leakyFetch })
    const err = await providerError(provider.generate(await makeRequest()))
    expect(err).toMatchObject({ kind: 'fatal', code: 'upstream_rejected', status: 400 })
    expect(err.message).toContain('invalid field')
    expect(errorText(err)).not.toContain(KEY)
  })

  it('redacts the key from a network error', async () => {
    const failingFetch: typeof fetch = async () => { throw new TypeError(`fetch failed for https://x.example/?key=${KEY}`) }
    const provider = createGeminiProvider({ apiKey: KEY, model: 'gemini-3-pro-image', timeoutMs: 5000, fetch: failingFetch })
    const err = await providerError(provider.generate(await makeRequest()))
    expect(err).toMatchObject({ kind: 'retryable', code: 'network_error' })
    expect(errorText(err)).not.toContain(KEY)
  })
})

describe('sniffing', () => {
  it('recognises PNG, JPEG and WebP by magic bytes and rejects the rest', async () => {
    expect(sniffImageMime(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('image/png')
    expect(sniffImageMime(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg')
    expect(sniffImageMime(Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 ', 'latin1'))).toBe('image/webp')
    expect(sniffImageMime(Buffer.from('GIF89a'))).toBeNull()
    await expect(toGeneratedImage(Buffer.from('<html>'), 'X')).rejects.toMatchObject({ kind: 'retryable', code: 'invalid_image' })
  })
})
