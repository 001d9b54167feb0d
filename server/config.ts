// Proxy configuration from the environment. loadConfig() is pure: it reads only the object it is
// given and either returns a typed config or throws a ConfigError whose message is one line naming
// the offending variable (index.ts prints it and exits, no stack).
import { checkBudgetFloor } from './budgetFloor.js'
import path from 'node:path'
import type { ProviderName, Resolution } from '../plugin/types/api.js'
import type { LogFormat, LogThreshold } from './logger.js'
import type { ProviderSettings } from './providers/types.js'
import { parseHostPolicy } from './net/safeHttp.js'
import { readWebhookSettings, type WebhookSettings } from './webhooks.js'
import { DEFAULT_CLIENT_LIMITS, parseTokens, type ClientLimitsConfig, type ClientToken } from './clients.js'
import { DEFAULT_MODEL, parsePriceOverride, type PriceOverride } from './models.js'
import { readS3Settings, type S3Settings } from './s3Config.js'

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

export interface AppConfig {
  provider: ProviderSettings
  maxConcurrentGenerations: number
  maxQueuedPages: number
  maxRetries: number
  /** RATE_LIMIT_MAX_WAIT (minutes) in ms: how long a rate-limited page waits for quota before failing */
  maxQuotaWaitMs: number
  defaultResolution: Resolution
  /** PRICE_PER_IMAGE_USD: replaces the catalogue's list prices (server/models.ts) when set */
  priceOverride?: PriceOverride
  thumbnail: { width: number; height: number }
  dataDir: string
  /** when set, /api/v1 (except health, templates, images) needs `Authorization: Bearer <token>` */
  proxyToken?: string
  /** every client token (PROXY_TOKEN as `default`, PROXY_TOKENS, PROXY_TOKENS_FILE); empty: clients are IPs */
  tokens: ClientToken[]
  /** per-client limits (PAGES_PER_MINUTE_PER_CLIENT, MAX_QUEUED_PAGES_PER_CLIENT, RETRIES_PER_PAGE_PER_HOUR, MAX_STREAMS_PER_CLIENT) */
  clientLimits: ClientLimitsConfig
  /** Express `trust proxy` (TRUST_PROXY): false, true, a hop count or a list of addresses/CIDRs */
  trustProxy: boolean | number | string
  /** BUDGET_USD_PER_DAY / BUDGET_USD_PER_10MIN (unset: no limit) */
  budget: { perDayUsd?: number; per10MinUsd?: number }
  /** when set, GET /metrics needs `Authorization: Bearer <token>` */
  metricsToken?: string
  /** '*' or an explicit list of allowed origins (an entry ending in `:*` allows any port) */
  corsOrigins: '*' | string[]
  port: number
  host: string
  /** MAX_UPLOAD_MB: largest .pptx accepted by POST /api/v1/decks */
  maxUploadMb: number
  /** REDIS_URL set: batch state, events and the queue are shared by every replica through Redis */
  redis?: { url: string; prefix: string }
  /** S3_BUCKET set: images (and their thumbnails) in an S3-compatible bucket instead of DATA_DIR/images */
  s3?: S3Settings
  /** UPSTREAM_RPM: upstream attempts per minute (across replicas in Redis mode) */
  upstreamRpm?: number
  /** BATCH_RETENTION_HOURS / IMAGE_RETENTION_HOURS (0: keep forever) */
  retention: RetentionConfig
  /** LOG_FORMAT (undefined: pretty on a terminal outside production, else json) and LOG_LEVEL */
  log: { format?: LogFormat; level: LogThreshold }
  /** WEBHOOK_* settings (server/webhooks.ts) */
  webhooks: WebhookSettings
  /** HTTP server bounds against slow and idle clients */
  http: HttpLimits
  /** what the defaults left open or closed, for the start-up log (safe defaults) */
  exposure: Exposure
}

export interface RetentionConfig {
  /** a finished batch (records, events, state file) is removed this long after it finished; 0: never */
  batchHours: number
  /** an image (with its thumbnail and embed variant) is removed this long after it was made; 0: never */
  imageHours: number
}

export interface HttpLimits {
  /** whole request (headers + body) must arrive within this (REQUEST_TIMEOUT_SECONDS, default 30 s); responses and SSE streams are not limited */
  requestTimeoutMs: number
  /** headers must arrive within this (default 15 s, at most requestTimeoutMs) */
  headersTimeoutMs: number
  /** an idle keep-alive connection is closed after this (default 5 s) */
  keepAliveTimeoutMs: number
  /** requests served on one keep-alive connection at most (default 1000) */
  maxRequestsPerSocket: number
}

export interface Exposure {
  /** the provider costs money (anything but preview) */
  paid: boolean
  /** a client token is required */
  tokenRequired: boolean
  /** HOST was chosen by the safe default (127.0.0.1) rather than set */
  hostDefaulted: boolean
  /** CORS_ORIGINS was chosen by the safe default (loopback origins) rather than set */
  corsDefaulted: boolean
}

/** Origins of pages served from this machine (any port): the CORS default for a paid proxy without a token. */
export const LOOPBACK_ORIGINS = ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*']

export type Env = Record<string, string | undefined>

const LOG_FORMATS: LogFormat[] = ['json', 'pretty']
const LOG_LEVELS: LogThreshold[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']
const PROVIDERS: ProviderName[] = ['gemini', 'openai-chat', 'openai-images', 'preview']
const RESOLUTIONS: Resolution[] = ['1K', '2K', '4K']

export const DEFAULTS = {
  geminiModel: DEFAULT_MODEL,
  openaiImageModel: 'gpt-image-1',
  maxConcurrentGenerations: 5,
  maxQueuedPages: 500,
  maxUploadMb: 50,
  timeoutSeconds: 120,
  /** a 4K image legitimately takes longer; at least this, and never below NANO_BANANA_TIMEOUT */
  timeoutSeconds4K: 300,
  maxRetries: 3,
  maxQuotaWaitMinutes: 10,
  defaultResolution: '2K' as Resolution,
  thumbnail: '300x169',
  dataDir: './data',
  maxUpstreamResponseMb: 64,
  /** a finished batch is kept 7 days after it finished */
  batchRetentionHours: 168,
  /** an image is kept 30 days after it was made (linked decks point at it) */
  imageRetentionHours: 720,
  requestTimeoutSeconds: 30,
  port: 8787,
  host: '0.0.0.0',
}

/** Empty strings count as unset: `FOO=` in a .env file should mean "use the default". */
function read(env: Env, name: string): string | undefined {
  const v = env[name]
  if (v === undefined) return undefined
  const t = v.trim()
  return t === '' ? undefined : t
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = read(env, name)
  if (raw === undefined) return def
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number between ${min} and ${max} (got "${raw}")`)
  const n = Number(raw)
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max} (got ${n})`)
  return n
}

function usd(env: Env, name: string): number | undefined {
  const raw = read(env, name)
  if (raw === undefined) return undefined
  if (!/^\d+(\.\d+)?$/.test(raw)) throw new ConfigError(`${name} must be an amount of US dollars like 25 or 2.5 (got "${raw}")`)
  return Number(raw)
}

function url(env: Env, name: string): string | undefined {
  const raw = read(env, name)
  if (raw === undefined) return undefined
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL (got "${raw}")`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`${name} must be an http(s) URL (got "${raw}")`)
  return raw.replace(/\/+$/, '')
}

export function loadConfig(env: Env): AppConfig {
  const geminiKey = read(env, 'GEMINI_API_KEY')
  const openaiKey = read(env, 'OPENAI_API_KEY')

  const providerRaw = read(env, 'IMAGE_PROVIDER')?.toLowerCase()
  let provider: ProviderName
  if (providerRaw === undefined) provider = geminiKey ? 'gemini' : 'preview'
  else if ((PROVIDERS as string[]).includes(providerRaw)) provider = providerRaw as ProviderName
  else throw new ConfigError(`IMAGE_PROVIDER must be one of ${PROVIDERS.join(', ')} (got "${providerRaw}")`)

  if (provider === 'gemini' && !geminiKey) throw new ConfigError('GEMINI_API_KEY is required when IMAGE_PROVIDER=gemini')
  if ((provider === 'openai-chat' || provider === 'openai-images') && !openaiKey) {
    throw new ConfigError(`OPENAI_API_KEY is required when IMAGE_PROVIDER=${provider}`)
  }

  const geminiBaseUrl = url(env, 'GEMINI_BASE_URL')
  const openaiBaseUrl = url(env, 'OPENAI_BASE_URL')
  const nanoModel = read(env, 'NANO_BANANA_MODEL') ?? DEFAULTS.geminiModel
  const imageModel = read(env, 'OPENAI_IMAGE_MODEL') ?? DEFAULTS.openaiImageModel
  const model = provider === 'openai-images' ? imageModel : provider === 'preview' ? 'preview' : nanoModel

  const timeoutSeconds = int(env, 'NANO_BANANA_TIMEOUT', DEFAULTS.timeoutSeconds, 1, 3600)
  const timeoutSeconds4K = int(env, 'NANO_BANANA_TIMEOUT_4K', Math.max(DEFAULTS.timeoutSeconds4K, timeoutSeconds), 1, 3600)
  const priceRaw = read(env, 'PRICE_PER_IMAGE_USD')
  let priceOverride: PriceOverride | undefined
  if (priceRaw !== undefined) {
    try {
      priceOverride = parsePriceOverride(priceRaw)
    } catch (err) {
      throw new ConfigError(`PRICE_PER_IMAGE_USD must be a price in US dollars such as 0.134, or per size such as 1K=0.134,4K=0.24 (${err instanceof Error ? err.message : String(err)})`)
    }
  }
  const maxConcurrentGenerations = int(env, 'MAX_CONCURRENT_GENERATIONS', DEFAULTS.maxConcurrentGenerations, 1, 100)
  const maxQueuedPages = int(env, 'MAX_QUEUED_PAGES', DEFAULTS.maxQueuedPages, 1, 100_000)
  const maxRetries = int(env, 'MAX_RETRIES', DEFAULTS.maxRetries, 0, 10)
  const maxUploadMb = int(env, 'MAX_UPLOAD_MB', DEFAULTS.maxUploadMb, 1, 2048)
  const maxQuotaWaitMs = int(env, 'RATE_LIMIT_MAX_WAIT', DEFAULTS.maxQuotaWaitMinutes, 1, 1440) * 60_000

  const resRaw = read(env, 'DEFAULT_RESOLUTION')?.toUpperCase()
  if (resRaw !== undefined && !(RESOLUTIONS as string[]).includes(resRaw)) {
    throw new ConfigError(`DEFAULT_RESOLUTION must be one of ${RESOLUTIONS.join(', ')} (got "${resRaw}")`)
  }
  const defaultResolution = (resRaw ?? DEFAULTS.defaultResolution) as Resolution

  const thumbRaw = read(env, 'IMAGE_THUMBNAIL_SIZE') ?? DEFAULTS.thumbnail
  const thumbMatch = /^(\d{1,4})x(\d{1,4})$/i.exec(thumbRaw)
  const thumbnail = thumbMatch ? { width: Number(thumbMatch[1]), height: Number(thumbMatch[2]) } : undefined
  if (!thumbnail || thumbnail.width < 16 || thumbnail.height < 16 || thumbnail.width > 2048 || thumbnail.height > 2048) {
    throw new ConfigError(`IMAGE_THUMBNAIL_SIZE must look like 300x169 (16–2048 px each side, got "${thumbRaw}")`)
  }

  const dataDir = path.resolve(read(env, 'DATA_DIR') ?? DEFAULTS.dataDir)

  const proxyToken = read(env, 'PROXY_TOKEN')
  if (proxyToken !== undefined && proxyToken.length < 8) throw new ConfigError('PROXY_TOKEN must be at least 8 characters long')
  const metricsToken = read(env, 'METRICS_TOKEN')
  if (metricsToken !== undefined && metricsToken.length < 8) throw new ConfigError('METRICS_TOKEN must be at least 8 characters long')

  // Safe defaults: a proxy that spends money and needs no token is not open to the network or to
  // every web page the user visits (a page on any origin could otherwise start paid batches through
  // the user's browser). HOST and CORS_ORIGINS set explicitly are respected, except CORS_ORIGINS=*.
  const paid = provider !== 'preview'
  let tokens: ClientToken[]
  try {
    tokens = parseTokens({ proxyToken, tokens: read(env, 'PROXY_TOKENS'), tokensFile: read(env, 'PROXY_TOKENS_FILE') })
  } catch (err) {
    throw new ConfigError((err as Error).message)
  }
  const tokenRequired = tokens.length > 0
  const clientLimits: ClientLimitsConfig = {
    pagesPerMinute: int(env, 'PAGES_PER_MINUTE_PER_CLIENT', DEFAULT_CLIENT_LIMITS.pagesPerMinute, 1, 100_000),
    maxQueuedPagesPerClient: int(env, 'MAX_QUEUED_PAGES_PER_CLIENT', DEFAULT_CLIENT_LIMITS.maxQueuedPagesPerClient, 1, 100_000),
    retriesPerPagePerHour: int(env, 'RETRIES_PER_PAGE_PER_HOUR', DEFAULT_CLIENT_LIMITS.retriesPerPagePerHour, 1, 10_000),
    maxStreamsPerClient: int(env, 'MAX_STREAMS_PER_CLIENT', DEFAULT_CLIENT_LIMITS.maxStreamsPerClient, 1, 10_000),
  }
  const trustRaw = read(env, 'TRUST_PROXY')
  const trustProxy: boolean | number | string = trustRaw === undefined || /^(false|0|no)$/i.test(trustRaw) ? false
    : /^(true|yes)$/i.test(trustRaw) ? true : /^\d+$/.test(trustRaw) ? Number(trustRaw) : trustRaw
  const budget = { perDayUsd: usd(env, 'BUDGET_USD_PER_DAY'), per10MinUsd: usd(env, 'BUDGET_USD_PER_10MIN') }
  // a budget below the price of one image could never allow a call (server/budgetFloor.ts)
  const floor = checkBudgetFloor({ model, priceOverride, budget, tokens })
  if (floor.error) throw new ConfigError(floor.error)
  const guarded = paid && !tokenRequired
  const corsRaw = read(env, 'CORS_ORIGINS')
  if (guarded && corsRaw === '*') {
    throw new ConfigError('CORS_ORIGINS=* with a paid IMAGE_PROVIDER needs PROXY_TOKEN: any web page could spend your key. Set PROXY_TOKEN, or list the PPTist origins in CORS_ORIGINS')
  }
  let corsOrigins: '*' | string[] = guarded && corsRaw === undefined ? [...LOOPBACK_ORIGINS] : '*'
  if (corsRaw !== undefined && corsRaw !== '*') {
    corsOrigins = corsRaw.split(',').map(s => s.trim().replace(/\/+$/, '')).filter(Boolean)
    for (const o of corsOrigins) {
      if (!/^https?:\/\/[^/\s*]+(:\*)?$/.test(o)) throw new ConfigError(`CORS_ORIGINS must be * or a comma-separated list of origins like https://ppt.example.com (bad entry "${o}")`)
    }
    if (corsOrigins.length === 0) corsOrigins = '*'
  }

  const imageHosts = parseHostPolicy(read(env, 'ALLOW_PRIVATE_IMAGE_HOSTS'))
  if ('error' in imageHosts) {
    throw new ConfigError(`ALLOW_PRIVATE_IMAGE_HOSTS must be true, false or a comma-separated list of IPs/CIDRs like 10.0.0.0/8 (bad entry "${imageHosts.error}")`)
  }
  const maxResponseBytes = int(env, 'MAX_UPSTREAM_RESPONSE_MB', DEFAULTS.maxUpstreamResponseMb, 1, 1024) * 1024 * 1024
  const logFormat = read(env, 'LOG_FORMAT')?.toLowerCase()
  if (logFormat !== undefined && !(LOG_FORMATS as string[]).includes(logFormat)) {
    throw new ConfigError(`LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')} (got "${logFormat}")`)
  }
  const logLevel = read(env, 'LOG_LEVEL')?.toLowerCase() ?? 'info'
  if (!(LOG_LEVELS as string[]).includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`)

  const port = int(env, 'PORT', DEFAULTS.port, 0, 65535)
  const hostRaw = read(env, 'HOST')
  const host = hostRaw ?? (guarded ? '127.0.0.1' : DEFAULTS.host)

  const requestTimeoutMs = int(env, 'REQUEST_TIMEOUT_SECONDS', DEFAULTS.requestTimeoutSeconds, 1, 3600) * 1000
  const http: HttpLimits = {
    requestTimeoutMs,
    headersTimeoutMs: Math.min(requestTimeoutMs, 15_000),
    keepAliveTimeoutMs: 5_000,
    maxRequestsPerSocket: 1000,
  }

  const redisUrl = read(env, 'REDIS_URL')
  if (redisUrl !== undefined && !/^rediss?:\/\/\S+$/.test(redisUrl)) throw new ConfigError('REDIS_URL must look like redis://host:6379 or rediss://user:password@host:6380/0')
  const redisPrefix = read(env, 'REDIS_PREFIX') ?? 'nb'
  if (!/^[A-Za-z0-9_.-]{1,40}$/.test(redisPrefix)) throw new ConfigError(`REDIS_PREFIX must be 1–40 letters, digits, _ . or - (got "${redisPrefix}")`)
  const retention: RetentionConfig = {
    batchHours: int(env, 'BATCH_RETENTION_HOURS', DEFAULTS.batchRetentionHours, 0, 876_000),
    imageHours: int(env, 'IMAGE_RETENTION_HOURS', DEFAULTS.imageRetentionHours, 0, 876_000),
  }
  // a batch must not list images that are already gone
  if (retention.imageHours !== 0 && (retention.batchHours === 0 || retention.imageHours < retention.batchHours)) {
    throw new ConfigError(`IMAGE_RETENTION_HOURS (${retention.imageHours}) must be 0 (keep forever) or at least BATCH_RETENTION_HOURS (${retention.batchHours === 0 ? '0 = forever' : retention.batchHours})`)
  }
  const s3 = readS3Settings(env)
  const upstreamRpmRaw = read(env, 'UPSTREAM_RPM')
  const upstreamRpm = upstreamRpmRaw === undefined ? undefined : int(env, 'UPSTREAM_RPM', 0, 1, 100_000)

  return {
    provider: {
      provider,
      model,
      gemini: { apiKey: geminiKey, baseUrl: geminiBaseUrl },
      openai: { apiKey: openaiKey, baseUrl: openaiBaseUrl },
      timeoutMs: timeoutSeconds * 1000,
      maxResponseBytes,
      imageHosts,
      timeoutMs4K: timeoutSeconds4K * 1000,
    },
    maxConcurrentGenerations,
    maxQueuedPages,
    maxRetries,
    maxUploadMb,
    maxQuotaWaitMs,
    defaultResolution,
    ...(priceOverride !== undefined ? { priceOverride } : {}),
    thumbnail,
    dataDir,
    proxyToken,
    tokens,
    clientLimits,
    trustProxy,
    budget,
    metricsToken,
    corsOrigins,
    port,
    host,
    ...(redisUrl ? { redis: { url: redisUrl, prefix: redisPrefix } } : {}),
    ...(s3 ? { s3 } : {}),
    ...(upstreamRpm !== undefined ? { upstreamRpm } : {}),
    retention,
    log: { ...(logFormat ? { format: logFormat as LogFormat } : {}), level: logLevel as LogThreshold },
    webhooks: readWebhookSettings(env),
    http,
    exposure: { paid, tokenRequired, hostDefaulted: hostRaw === undefined && guarded, corsDefaulted: corsRaw === undefined && guarded },
  }
}

/** One line each: what a client on the network / a web page can do with this proxy (logged at start-up). */
export function describeExposure(config: Pick<AppConfig, 'host' | 'corsOrigins' | 'exposure'> & Partial<Pick<AppConfig, 'tokens' | 'trustProxy' | 'budget'>>): { open: string[]; warnings: string[] } {
  const { exposure, host, corsOrigins, trustProxy, budget } = config
  const local = host === '127.0.0.1' || host === '::1' || host === 'localhost'
  const clients = config.tokens?.length ?? 0
  const budgets = [budget?.perDayUsd !== undefined ? `$${budget.perDayUsd}/day` : '', budget?.per10MinUsd !== undefined ? `$${budget.per10MinUsd}/10 min` : ''].filter(Boolean)
  const open = [
    `listening on ${host}${local ? ' (this machine only)' : ' (reachable from the network)'}${exposure.hostDefaulted ? ' — safe default for a paid provider without PROXY_TOKEN' : ''}`,
    `tokens: ${exposure.tokenRequired ? `required for batch endpoints${clients ? ` (${clients} client${clients === 1 ? '' : 's'})` : ''}` : `none (anyone who can reach it may start batches; clients are IP addresses${trustProxy ? ' from X-Forwarded-For, TRUST_PROXY' : ''})`}`,
    `CORS: ${corsOrigins === '*' ? 'every web origin' : `${corsOrigins.join(', ')} (POSTs from other web origins are refused)`}${exposure.corsDefaulted ? ' — safe default; set CORS_ORIGINS for PPTist on another host' : ''}`,
    // server/cors.ts: DNS rebinding is refused by the Host header when nothing else protects the proxy
    ...(local && !exposure.tokenRequired && corsOrigins !== '*' ? ['Host: loopback names and the CORS origins\' hosts only'] : []),
    ...(exposure.paid ? [`budgets: ${budgets.length ? budgets.join(', ') : 'none (BUDGET_USD_PER_DAY, BUDGET_USD_PER_10MIN)'}`] : []),
  ]
  const warnings: string[] = []
  if (exposure.paid && !exposure.tokenRequired && !local) {
    warnings.push(`HOST=${host} with a paid provider and no PROXY_TOKEN: anyone who can reach this port can spend your key. Set PROXY_TOKEN (README: running it in public)`)
  }
  if (trustProxy === true) {
    warnings.push('TRUST_PROXY=true believes the left-most X-Forwarded-For entry, which any caller can write: a client can pose as any address. Use TRUST_PROXY=1 (one reverse proxy in front) or its address')
  }
  return { open, warnings }
}

/** Every secret the config holds, for log/response redaction. */
export function configSecrets(config: AppConfig): string[] {
  // a Redis password inside REDIS_URL is redacted too
  let redisPassword: string | undefined
  try {
    redisPassword = config.redis ? decodeURIComponent(new URL(config.redis.url).password) || undefined : undefined
  } catch { /* not a URL the logger could leak more of */ }
  return [config.provider.gemini.apiKey, config.provider.openai.apiKey, config.proxyToken, config.metricsToken, config.webhooks.secret, redisPassword, config.s3?.credentials?.secretAccessKey, ...config.tokens.map(t => t.token)].filter((s): s is string => !!s)
}
