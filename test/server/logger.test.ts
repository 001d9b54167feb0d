import { describe, expect, it } from 'vitest'
import { createLogger, redact } from '../../server/logger.js'

describe('redact', () => {
  it.each([
    ['GET /x?key=abc123&x=1', 'GET /x?key=[redacted]&x=1'],
    ['token=tok123 next', 'token=[redacted] next'],
    ['{"api_key": "whatever"}', '{"api_key": "[redacted]"}'],
    ['x-goog-api-key: xyz', 'x-goog-api-key: [redacted]'],
    ['Authorization: Bearer abc.def', 'Authorization: Bearer [redacted]'],
    ['key AIzaSyA1234567890abcdefghijk leaked', 'key [redacted] leaked'],
    ['sk-proj-abcdefghijklmnop1234', '[redacted]'],
  ])('masks %j', (input, expected) => {
    expect(redact(input)).toBe(expected)
  })

  it('leaves ordinary text and our own fields alone', () => {
    for (const t of ['image_key=abc', 'monkey=1', 'no API key: slides are drawn locally', 'page=3 status=completed']) expect(redact(t)).toBe(t)
  })

  it('masks every configured secret wherever it appears', () => {
    expect(redact('upstream said: bad key my-own-secret-1 (my-own-secret-1)', ['my-own-secret-1'])).toBe('upstream said: bad key [redacted] ([redacted])')
  })
})

describe('createLogger', () => {
  it('writes one redacted line per call with key=value fields', () => {
    const lines: string[] = []
    const log = createLogger({ secrets: ['s3cr3t-value'], write: l => { lines.push(l) }, now: () => new Date('2026-01-02T03:04:05.000Z') })
    log.info('page failed', { batch: 'b_1', page: 2, message: 'the key s3cr3t-value was\nrejected', skipped: undefined })
    log.error('boom')
    expect(lines).toEqual([
      '2026-01-02T03:04:05.000Z INFO page failed batch=b_1 page=2 message="the key [redacted] was\\nrejected"',
      '2026-01-02T03:04:05.000Z ERROR boom',
    ])
  })
})
