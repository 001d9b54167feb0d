import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, configSecrets, describeExposure, loadConfig } from '../../server/config.js'
import { originAllowed } from '../../server/cors.js'

function expectConfigError(env: Record<string, string>, variable: string) {
  let err: unknown
  try {
    loadConfig(env)
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(ConfigError)
  const message = (err as Error).message
  expect(message).toContain(variable)
  expect(message).not.toContain('\n')
}

describe('loadConfig', () => {
  it('works with no configuration at all (preview provider, documented defaults)', () => {
    const c = loadConfig({})
    expect(c.provider.provider).toBe('preview')
    expect(c.provider.timeoutMs).toBe(120_000)
    expect(c.maxConcurrentGenerations).toBe(5)
    expect(c.maxQueuedPages).toBe(500)
    expect(c.maxRetries).toBe(3)
    expect(c.defaultResolution).toBe('2K')
    expect(c.thumbnail).toEqual({ width: 300, height: 169 })
    expect(c.dataDir).toBe(path.resolve('./data'))
    expect(c.proxyToken).toBeUndefined()
    expect(c.corsOrigins).toBe('*')
    expect(c.port).toBe(8787)
  })

  it('defaults to gemini with the Nano Banana Pro model when GEMINI_API_KEY is set', () => {
    const c = loadConfig({ GEMINI_API_KEY: 'AIza-test', GEMINI_BASE_URL: 'http://127.0.0.1:9/' })
    expect(c.provider.provider).toBe('gemini')
    expect(c.provider.model).toBe('gemini-3-pro-image')
    expect(c.provider.gemini).toEqual({ apiKey: 'AIza-test', baseUrl: 'http://127.0.0.1:9' })
  })

  it('reads every variable', () => {
    const c = loadConfig({
      IMAGE_PROVIDER: 'openai-images', OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: 'https://relay.example/v1', OPENAI_IMAGE_MODEL: 'gpt-image-1.5',
      NANO_BANANA_MODEL: 'gemini-3-pro-image', MAX_CONCURRENT_GENERATIONS: '2', MAX_QUEUED_PAGES: '40', NANO_BANANA_TIMEOUT: '30',
      MAX_RETRIES: '0', DEFAULT_RESOLUTION: '4k', IMAGE_THUMBNAIL_SIZE: '320x180', DATA_DIR: '/tmp/nb-data', PROXY_TOKEN: 'secret-token-1',
      CORS_ORIGINS: 'https://a.example, https://b.example/', PORT: '9000', HOST: '127.0.0.1',
    })
    expect(c.provider).toMatchObject({ provider: 'openai-images', model: 'gpt-image-1.5', timeoutMs: 30_000, openai: { apiKey: 'sk-x', baseUrl: 'https://relay.example/v1' } })
    expect(c).toMatchObject({
      maxConcurrentGenerations: 2, maxQueuedPages: 40, maxRetries: 0, defaultResolution: '4K', thumbnail: { width: 320, height: 180 },
      dataDir: '/tmp/nb-data', proxyToken: 'secret-token-1', corsOrigins: ['https://a.example', 'https://b.example'], port: 9000, host: '127.0.0.1',
    })
    // PROXY_TOKEN is also the client `default` (listed once more among the client tokens)
    expect([...new Set(configSecrets(c))]).toEqual(['sk-x', 'secret-token-1'])
  })

  it('reads UPSTREAM_RPM and RATE_LIMIT_MAX_WAIT (minutes), with defaults and clear errors', () => {
    expect(loadConfig({}).upstreamRpm).toBeUndefined()
    expect(loadConfig({}).maxQuotaWaitMs).toBe(600_000)
    expect(loadConfig({ UPSTREAM_RPM: '20', RATE_LIMIT_MAX_WAIT: '3' })).toMatchObject({ upstreamRpm: 20, maxQuotaWaitMs: 180_000 })
    expect(() => loadConfig({ UPSTREAM_RPM: 'fast' })).toThrow(/UPSTREAM_RPM must be a whole number/)
    expect(() => loadConfig({ RATE_LIMIT_MAX_WAIT: '0' })).toThrow(/RATE_LIMIT_MAX_WAIT must be between 1 and 1440/)
  })

  it('reads BATCH_RETENTION_HOURS and IMAGE_RETENTION_HOURS; images are never kept shorter than batches', () => {
    expect(loadConfig({}).retention).toEqual({ batchHours: 168, imageHours: 720 })
    expect(loadConfig({ BATCH_RETENTION_HOURS: '0', IMAGE_RETENTION_HOURS: '0' }).retention).toEqual({ batchHours: 0, imageHours: 0 })
    expect(loadConfig({ BATCH_RETENTION_HOURS: '24', IMAGE_RETENTION_HOURS: '0' }).retention).toEqual({ batchHours: 24, imageHours: 0 })
    expect(() => loadConfig({ BATCH_RETENTION_HOURS: '200', IMAGE_RETENTION_HOURS: '100' })).toThrow(/IMAGE_RETENTION_HOURS \(100\) must be 0 \(keep forever\) or at least BATCH_RETENTION_HOURS \(200\)/)
    expect(() => loadConfig({ BATCH_RETENTION_HOURS: '0' })).toThrow(/IMAGE_RETENTION_HOURS/)
    expect(() => loadConfig({ BATCH_RETENTION_HOURS: 'week' })).toThrow(/BATCH_RETENTION_HOURS must be a whole number/)
  })

  it('uses NANO_BANANA_MODEL for openai-chat relays', () => {
    const c = loadConfig({ IMAGE_PROVIDER: 'openai-chat', OPENAI_API_KEY: 'k', NANO_BANANA_MODEL: 'google/gemini-3-pro-image' })
    expect(c.provider.model).toBe('google/gemini-3-pro-image')
  })

  it('treats empty values as unset', () => {
    const c = loadConfig({ GEMINI_API_KEY: '', PORT: '', IMAGE_PROVIDER: ' ' })
    expect(c.provider.provider).toBe('preview')
    expect(c.port).toBe(8787)
  })

  it.each([
    [{ IMAGE_PROVIDER: 'dalle' }, 'IMAGE_PROVIDER'],
    [{ IMAGE_PROVIDER: 'gemini' }, 'GEMINI_API_KEY'],
    [{ IMAGE_PROVIDER: 'openai-chat' }, 'OPENAI_API_KEY'],
    [{ IMAGE_PROVIDER: 'openai-images' }, 'OPENAI_API_KEY'],
    [{ GEMINI_BASE_URL: 'not a url' }, 'GEMINI_BASE_URL'],
    [{ OPENAI_BASE_URL: 'ftp://x.example' }, 'OPENAI_BASE_URL'],
    [{ MAX_CONCURRENT_GENERATIONS: '0' }, 'MAX_CONCURRENT_GENERATIONS'],
    [{ MAX_CONCURRENT_GENERATIONS: 'five' }, 'MAX_CONCURRENT_GENERATIONS'],
    [{ MAX_QUEUED_PAGES: '-1' }, 'MAX_QUEUED_PAGES'],
    [{ NANO_BANANA_TIMEOUT: '1.5' }, 'NANO_BANANA_TIMEOUT'],
    [{ NANO_BANANA_TIMEOUT: '0' }, 'NANO_BANANA_TIMEOUT'],
    [{ MAX_RETRIES: '11' }, 'MAX_RETRIES'],
    [{ DEFAULT_RESOLUTION: '8K' }, 'DEFAULT_RESOLUTION'],
    [{ IMAGE_THUMBNAIL_SIZE: '300' }, 'IMAGE_THUMBNAIL_SIZE'],
    [{ IMAGE_THUMBNAIL_SIZE: '5x5' }, 'IMAGE_THUMBNAIL_SIZE'],
    [{ PROXY_TOKEN: 'short' }, 'PROXY_TOKEN'],
    [{ CORS_ORIGINS: 'example.com' }, 'CORS_ORIGINS'],
    [{ CORS_ORIGINS: 'https://a.example/path' }, 'CORS_ORIGINS'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: 'http' }, 'PORT'],
  ])('rejects %j with one line naming %s', (env, variable) => {
    expectConfigError(env as Record<string, string>, variable)
  })

  it('never puts a key into an error message', () => {
    expect(() => loadConfig({ GEMINI_API_KEY: 'AIzaSECRETSECRET', MAX_RETRIES: 'x' })).toThrow(/^MAX_RETRIES must be a whole number/)
    expect(() => loadConfig({ GEMINI_API_KEY: 'AIzaSECRETSECRET', MAX_RETRIES: 'x' })).not.toThrow(/AIzaSECRETSECRET/)
  })
})

describe('safe defaults', () => {
  it('a paid provider without a token binds to 127.0.0.1 and allows only loopback origins', () => {
    const c = loadConfig({ GEMINI_API_KEY: 'AIza-x' })
    expect(c.host).toBe('127.0.0.1')
    expect(c.corsOrigins).toEqual(['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'])
    expect(c.exposure).toMatchObject({ paid: true, tokenRequired: false, hostDefaulted: true, corsDefaulted: true })
    expect(describeExposure(c).open.join('\n')).toMatch(/this machine only/)
    expect(describeExposure(c).open.join('\n')).toMatch(/\(POSTs from other web origins are refused\)[^]*Host: loopback names/)
  })

  it('with a token, or with the free preview, the old defaults stay (all interfaces, every origin)', () => {
    expect(loadConfig({ GEMINI_API_KEY: 'AIza-x', PROXY_TOKEN: 'long-enough-token' })).toMatchObject({ host: '0.0.0.0', corsOrigins: '*' })
    expect(loadConfig({})).toMatchObject({ host: '0.0.0.0', corsOrigins: '*' })
  })

  it('refuses CORS_ORIGINS=* for a paid provider without a token, respects explicit HOST with a warning', () => {
    expect(() => loadConfig({ GEMINI_API_KEY: 'AIza-x', CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS=\* with a paid IMAGE_PROVIDER needs PROXY_TOKEN/)
    const c = loadConfig({ GEMINI_API_KEY: 'AIza-x', HOST: '0.0.0.0', CORS_ORIGINS: 'https://ppt.example.com' })
    expect(c).toMatchObject({ host: '0.0.0.0', corsOrigins: ['https://ppt.example.com'] })
    expect(describeExposure(c).warnings.join('\n')).toMatch(/anyone who can reach this port can spend your key/)
    expect(describeExposure(c).open.join('\n')).toMatch(/budgets: none \(BUDGET_USD_PER_DAY/)
  })

  it('the exposure lines name the clients and budgets; TRUST_PROXY=true is warned about, TRUST_PROXY=1 is not', () => {
    const c = loadConfig({ GEMINI_API_KEY: 'AIza-x', PROXY_TOKENS: 'alice:alice-token-1,bob:bob-token-22', BUDGET_USD_PER_DAY: '20', BUDGET_USD_PER_10MIN: '5', TRUST_PROXY: '1' })
    const e = describeExposure(c)
    expect(e.open.join('\n')).toMatch(/tokens: required for batch endpoints \(2 clients\)/)
    expect(e.open.join('\n')).toMatch(/budgets: \$20\/day, \$5\/10 min/)
    expect(e.warnings).toEqual([])
    expect(describeExposure(loadConfig({ PROXY_TOKEN: 'long-enough-token', TRUST_PROXY: 'true' })).warnings.join('\n')).toMatch(/TRUST_PROXY=true believes the left-most X-Forwarded-For/)
  })

  it('REQUEST_TIMEOUT_SECONDS bounds slow requests (default 30 s, headers 15 s)', () => {
    expect(loadConfig({}).http).toEqual({ requestTimeoutMs: 30_000, headersTimeoutMs: 15_000, keepAliveTimeoutMs: 5_000, maxRequestsPerSocket: 1000 })
    expect(loadConfig({ REQUEST_TIMEOUT_SECONDS: '10' }).http).toMatchObject({ requestTimeoutMs: 10_000, headersTimeoutMs: 10_000 })
  })
})

describe('CORS origin patterns', () => {
  it('matches an exact origin or any port of a :* entry, nothing else', () => {
    const allowed = ['http://localhost:*', 'https://ppt.example.com']
    expect(originAllowed('http://localhost:5173', allowed)).toBe(true)
    expect(originAllowed('http://localhost', allowed)).toBe(true)
    expect(originAllowed('https://ppt.example.com', allowed)).toBe(true)
    expect(originAllowed('http://localhost.evil.com', allowed)).toBe(false)
    expect(originAllowed('http://localhost:5173.evil.com', allowed)).toBe(false)
    expect(originAllowed('https://evil.example', allowed)).toBe(false)
  })
})

describe('loadConfig: several replicas', () => {
  it('REDIS_URL, REDIS_PREFIX and UPSTREAM_RPM; nothing set keeps the one-process set-up', () => {
    expect(loadConfig({}).redis).toBeUndefined()
    expect(loadConfig({}).upstreamRpm).toBeUndefined()
    const c = loadConfig({ REDIS_URL: 'redis://:s3cretpass@10.0.0.5:6379/1', REDIS_PREFIX: 'ppt', UPSTREAM_RPM: '10' })
    expect(c.redis).toEqual({ url: 'redis://:s3cretpass@10.0.0.5:6379/1', prefix: 'ppt' })
    expect(c.upstreamRpm).toBe(10)
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redis?.prefix).toBe('nb')
    // the password in the URL is redacted from logs like the other secrets
    expect(configSecrets(c)).toContain('s3cretpass')
    expectConfigError({ REDIS_URL: '127.0.0.1:6379' }, 'REDIS_URL')
    expectConfigError({ REDIS_URL: 'redis://x', REDIS_PREFIX: 'a b' }, 'REDIS_PREFIX')
    expectConfigError({ UPSTREAM_RPM: '0' }, 'UPSTREAM_RPM')
  })

  it('S3_BUCKET and friends: validated at start with the variable named; nothing set keeps DATA_DIR/images', () => {
    expect(loadConfig({}).s3).toBeUndefined()
    const c = loadConfig({
      S3_BUCKET: 'nano-banana', S3_ENDPOINT: 'http://minio.internal:9000/', S3_ACCESS_KEY_ID: 'AKID', S3_SECRET_ACCESS_KEY: 's3-secret-value',
      S3_PUBLIC_BASE_URL: 'https://cdn.example.com/nb/',
    })
    expect(c.s3).toEqual({
      bucket: 'nano-banana', endpoint: 'http://minio.internal:9000', region: 'us-east-1', forcePathStyle: true,
      credentials: { accessKeyId: 'AKID', secretAccessKey: 's3-secret-value' }, publicBaseUrl: 'https://cdn.example.com/nb',
    })
    expect(configSecrets(c)).toContain('s3-secret-value')
    // AWS itself: virtual-host style unless told, credentials from the SDK's chain (IAM role)
    expect(loadConfig({ S3_BUCKET: 'nb-images', S3_REGION: 'eu-central-1' }).s3).toEqual({ bucket: 'nb-images', region: 'eu-central-1', forcePathStyle: false })
    expect(loadConfig({ S3_BUCKET: 'nb-images', S3_ENDPOINT: 'https://s3.example.com', S3_FORCE_PATH_STYLE: 'false' }).s3?.forcePathStyle).toBe(false)
    expectConfigError({ S3_BUCKET: 'Bad_Bucket' }, 'S3_BUCKET')
    expectConfigError({ S3_ENDPOINT: 'http://minio:9000' }, 'S3_BUCKET')
    expectConfigError({ S3_BUCKET: 'nb-images', S3_ENDPOINT: 'minio:9000' }, 'S3_ENDPOINT')
    expectConfigError({ S3_BUCKET: 'nb-images', S3_ACCESS_KEY_ID: 'AKID' }, 'S3_SECRET_ACCESS_KEY')
    expectConfigError({ S3_BUCKET: 'nb-images', S3_FORCE_PATH_STYLE: 'maybe' }, 'S3_FORCE_PATH_STYLE')
    expectConfigError({ S3_BUCKET: 'nb-images', S3_PUBLIC_BASE_URL: 'ftp://cdn' }, 'S3_PUBLIC_BASE_URL')
  })
})
