import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../server/config.js'
import { createLogger, defaultLogFormat, redact } from '../../server/logger.js'

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
  const at = () => new Date('2026-01-02T03:04:05.000Z')

  it('writes one redacted JSON line per call with the fields at the top level', () => {
    const lines: string[] = []
    const log = createLogger({ secrets: ['s3cr3t-value'], write: l => { lines.push(l) }, now: at })
    log.info('page failed', { batch_id: 'b_1', page_number: 2, message: 'the key s3cr3t-value was\nrejected', skipped: undefined, cached: false })
    log.error('boom')
    expect(lines).toHaveLength(2)
    const [a, b] = lines.map(l => JSON.parse(l))
    expect(a).toEqual({ level: 'info', time: '2026-01-02T03:04:05.000Z', pid: process.pid, msg: 'page failed', batch_id: 'b_1', page_number: 2, message: 'the key [redacted] was\nrejected', cached: false })
    expect(b).toMatchObject({ level: 'error', msg: 'boom' })
  })

  it('masks credential shapes in messages and values, fields named like credentials, keys and nested objects', () => {
    const lines: string[] = []
    const log = createLogger({ write: l => { lines.push(l) } })
    log.warn('upstream said x-goog-api-key: AIzaSyA1234567890abcdefghijk', { api_key: 'plain', token: 'plain2', url: 'https://h/x?key=abc123&y=1', header: 'Bearer abc.def', proxy_token: 'required' })
    log.pino.info({ nested: { deeper: ['sk-proj-abcdefghijklmnop1234'], authorization: 'Basic dXNlcjpwYXNz' } }, 'raw pino')
    const [a, b] = lines.map(l => JSON.parse(l))
    expect(a.msg).toBe('upstream said x-goog-api-key: [redacted]')
    expect(a).toMatchObject({ api_key: '[redacted]', token: '[redacted]', url: 'https://h/x?key=[redacted]&y=1', header: 'Bearer [redacted]', proxy_token: 'required' })
    expect(b.nested).toEqual({ deeper: ['[redacted]'], authorization: 'Basic [redacted]' })
  })

  it('stays valid JSON whatever the redaction cuts (quotes and backslashes next to a secret)', () => {
    const lines: string[] = []
    const log = createLogger({ secrets: ['q"uote\\secret'], write: l => { lines.push(l) } })
    log.info('x', { a: 'key=abc\\"', b: 'see q"uote\\secret here', c: 'token=\\\\"' })
    const o = JSON.parse(lines[0])
    expect(o.a).toBe('key=[redacted]"')
    expect(o.b).toBe('see [redacted] here')
  })

  it('pretty format: one line per call, same redaction', () => {
    const lines: string[] = []
    const log = createLogger({ format: 'pretty', secrets: ['s3cr3t-value'], write: l => { lines.push(l) }, now: at })
    log.warn('page failed\nagain', { batch_id: 'b_1', error: 'bad s3cr3t-value' })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: page failed again \{"batch_id":"b_1","error":"bad \[redacted\]"\}$/)
  })

  it('LOG_LEVEL: lines below the threshold are not written', () => {
    const lines: string[] = []
    const log = createLogger({ level: 'warn', write: l => { lines.push(l) } })
    log.info('quiet')
    log.warn('loud')
    log.pino.debug('quieter')
    expect(lines.map(l => JSON.parse(l).msg)).toEqual(['loud'])
  })
})

describe('log settings', () => {
  it('LOG_FORMAT and LOG_LEVEL are read and checked; the format defaults by terminal and NODE_ENV', () => {
    expect(loadConfig({}).log).toEqual({ level: 'info' })
    expect(loadConfig({ LOG_FORMAT: 'Pretty', LOG_LEVEL: 'DEBUG' }).log).toEqual({ format: 'pretty', level: 'debug' })
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/^LOG_FORMAT must be one of json, pretty \(got "xml"\)$/)
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/^LOG_LEVEL must be one of/)
    expect(defaultLogFormat({}, true)).toBe('pretty')
    expect(defaultLogFormat({ NODE_ENV: 'production' }, true)).toBe('json')
    expect(defaultLogFormat({}, false)).toBe('json')
  })
})
