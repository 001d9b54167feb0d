// Wiring: createApp(deps) builds the Express app from already-made parts (provider, logger, config)
// so tests hand in fakes; startServer() also listens. Nothing here reads process.env.
import { existsSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import express, { type Express } from 'express'
import type { BatchManager, BackoffOptions, BuildPrompt, PageTiming } from './batches.js'
import type { Resolution } from '../plugin/types/api.js'
import type { AppConfig, HttpLimits } from './config.js'
import { listenBounded } from './httpServer.js'
import { corsMiddleware, isLoopbackHost, originGuard } from './cors.js'
import { ClientLimiter, wrongTokenLimiter } from './clients.js'
import { meteredProvider, SpendGuard } from './spend.js'
import { ApiError, errorMiddleware } from './errors.js'
import type { AppLogger } from './logger.js'
import { requestLogger } from './requestLog.js'
import { observeProvider, ProviderStatus, type UpstreamListener } from './providers/observed.js'
import type { ImageProvider } from './providers/types.js'
import { WebhookSender, type WebhookSettings } from './webhooks.js'
import { createMetricsRouter, ProxyMetrics, type PriceFn } from './metrics.js'
import { createProbeRouter, providerCheck, storageCheck, type ReadinessCheck } from './probes.js'
import { combineLifecycles, type BatchLifecycle } from './engine/lifecycle.js'
import { createDeckStore, createEngine, createGuardStores, type Engine } from './engine/setup.js'
import type { DeploymentSetting } from './engine/deployment.js'
import { HOUR_MS } from './engine/retention.js'
import { TemplateReferences } from './references.js'
import { createDeckRouter, type DeckLimits } from './deckRoutes.js'
import { createAdmission } from './admission.js'
import type { DeckStore } from './pptx/store.js'
import { createApiRouter } from './routes.js'
import { createStorage, MIN_FREE_BYTES, storageProblem, type Storage } from './storage.js'
import { buildPrompt } from './prompts.js'
import { pricePerImageUsd } from './models.js'

/** The package root: the nearest folder above this file with a package.json (server/ in development, dist/server/ when built). */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir
    if (path.dirname(dir) === dir) return path.resolve(from, '..')
  }
}
const ROOT = packageRoot(path.dirname(fileURLToPath(import.meta.url)))

export type AppConfigSubset = Pick<AppConfig,
  'maxConcurrentGenerations' | 'maxQueuedPages' | 'maxRetries' | 'defaultResolution' | 'thumbnail' | 'dataDir' | 'proxyToken' | 'corsOrigins' | 'metricsToken'
  | 'priceOverride'> & Partial<Pick<AppConfig, 'redis' | 's3' | 'upstreamRpm' | 'tokens' | 'clientLimits' | 'trustProxy' | 'budget' | 'maxQuotaWaitMs' | 'retention'>>

export interface AppDeps {
  /** webhooks are optional here (none sent without them) */
  config: AppConfigSubset & { webhooks?: WebhookSettings }
  provider: ImageProvider
  logger: AppLogger
  /** DATA_DIR with less free space than this counts as full: new batches get 503 (default 64 MB) */
  minFreeBytes?: number
  /** per-size upstream deadlines (config.provider), reported by GET /api/v1/models */
  timeouts?: { timeoutMs: number; timeoutMs4K?: number }
  /** folder holding imgs/nano_banana (default: <repo>/public) */
  publicDir?: string
  /** built demo host (default: <repo>/dist/demo); served at / when it exists */
  demoDir?: string
  buildPrompt?: BuildPrompt
  /** SSE keep-alive comment interval (default 15 s) */
  pingIntervalMs?: number
  backoff?: Partial<BackoffOptions>
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  random?: () => number
  /** benchmarks: timings of each generated page */
  onPageTiming?: (t: PageTiming) => void
  /** more /readyz checks (e.g. Redis, S3 when configured), run next to storage and provider */
  readinessChecks?: readonly ReadinessCheck[]
  /** per readiness check, ms (default 2000) */
  readinessTimeoutMs?: number
  /** told about page and batch events, next to the metrics */
  lifecycle?: BatchLifecycle
  /** more listeners for every upstream call */
  upstreamListeners?: readonly UpstreamListener[]
  /** Redis set-up: queue lock timing (tests shorten how fast a dead replica's attempts are taken over) */
  redisTiming?: { lockDurationMs?: number; stalledIntervalMs?: number; streamLeaseMs?: number }
  /** Redis set-up: this replica's deployment settings, kept on the prefix while it is live (server/engine/deployment.ts; npm start claims them first) */
  deployment?: readonly DeploymentSetting[]
  /** USD per image for the spend metric (default: the list prices) */
  price?: PriceFn
  /** .pptx upload limits (POST /api/v1/decks); the upload size comes from MAX_UPLOAD_MB */
  deckLimits?: Partial<DeckLimits>
  /** where batches made from a .pptx keep their deck (default: DATA_DIR/decks/) */
  deckStore?: DeckStore
  /** how often a page waiting for the budget looks again (default 1 s; tests pass less) */
  spendPollMs?: number
  /** the address the server listens on (startServer): a loopback one without tokens also checks Host (server/cors.ts) */
  host?: string
}

export interface ProxyApp {
  app: Express
  batches: BatchManager
  storage: Storage
  /** the five seams the batch engine runs on */
  engine: Engine
  metrics: ProxyMetrics
  webhooks: WebhookSender
  /** the spend guard (totals, budgets) */
  spend: SpendGuard
  /** stops in-flight work and flushes state to disk (does not close an HTTP server); /readyz answers 503 from the start */
  close(): Promise<void>
}

export async function createApp(deps: AppDeps): Promise<ProxyApp> {
  const { config, provider, logger } = deps
  const publicDir = deps.publicDir ?? path.join(ROOT, 'public')
  const demoDir = deps.demoDir ?? path.join(ROOT, 'dist', 'demo')
  const storage = await createStorage({
    dataDir: config.dataDir, thumbnail: config.thumbnail,
    onDamaged: (file, reason) => logger.warn('damaged batch file skipped', { file, reason }),
  })
  // the spend metric counts the catalogue's list price, or PRICE_PER_IMAGE_USD when the administrator set it
  const price: PriceFn = deps.price ?? ((model, resolution) => pricePerImageUsd(model, resolution, config.priceOverride))
  const metrics = new ProxyMetrics(price)
  const providerStatus = new ProviderStatus()
  // tokens: PROXY_TOKEN alone (tests, older set-ups) is the client `default`
  const tokens = config.tokens ?? (config.proxyToken ? [{ name: 'default', token: config.proxyToken }] : [])
  // spend guard: every upstream call metered at list price; totals survive restarts (DATA_DIR/spend.json)
  // or, with REDIS_URL, live in Redis so every replica enforces the same budgets and client limits
  const redisSetup = config.redis ? { ...config.redis, ...deps.redisTiming, ...(deps.deployment ? { deployment: deps.deployment } : {}) } : undefined
  const guards = createGuardStores({ redis: redisSetup, spendFile: path.join(storage.dataDir, 'spend.json'), logger })
  const spend = new SpendGuard({
    price,
    budgetUsdPerDay: config.budget?.perDayUsd,
    budgetUsdPer10Min: config.budget?.per10MinUsd,
    clientBudgets: new Map(tokens.filter(t => t.dailyBudgetUsd !== undefined).map(t => [t.name, t.dailyBudgetUsd!])),
    ledger: guards.ledger,
    pollMs: deps.spendPollMs,
  })
  await spend.load()
  const limits = config.clientLimits ? new ClientLimiter(config.clientLimits, guards.limits) : undefined
  // wrong tokens counted per address where the other limits are (memory, or Redis for every replica)
  const wrongTokens = wrongTokenLimiter(guards.limits)
  // metered outside observed: time spent waiting for the budget is not upstream latency
  const upstream = meteredProvider(observeProvider(provider, [providerStatus.listener, metrics.upstreamListener, ...(deps.upstreamListeners ?? [])]), spend)
  let stopping = false
  const templateRefs = new TemplateReferences(publicDir, (t, reason) => {
    logger.warn('template cover unavailable, generating without a style reference', { template: t.id, reason })
  })
  const webhooks = new WebhookSender({
    settings: config.webhooks ?? { allowedHosts: null, policy: { allowPrivate: false, allowList: [] }, maxAttempts: 1 },
    logger,
    onOutcome: o => metrics.webhook(o),
  })
  // with S3_BUCKET in the bucket, so any replica writes the .pptx of a deck another one took
  const decks = deps.deckStore ?? createDeckStore({ ...(config.s3 ? { s3: config.s3 } : {}), dataDir: config.dataDir })
  // Why new images could not be stored now: DATA_DIR (state, spend) unwritable or almost full, or with
  // S3_BUCKET the bucket (HeadBucket). Asked by admission (503) and before each upstream call (the page
  // fails storage_unavailable unpaid); checked at most once a second (it writes a file and stats the disk).
  let storageChecked: { at: number; problem: Promise<string | null> } | undefined
  const storageHealth = (): Promise<string | null> => {
    if (!storageChecked || Date.now() - storageChecked.at > 1000) {
      storageChecked = {
        at: Date.now(),
        problem: (async () => {
          const local = await storageProblem(storage.dataDir, deps.minFreeBytes)
          if (local) return local
          for (const c of engine.images.readiness) {
            const why = await c.check().then(() => null, (err: unknown) => `S3: ${err instanceof Error ? err.message : String(err)}`)
            if (why) return why
          }
          return null
        })(),
      }
    }
    return storageChecked.problem
  }
  const engine = createEngine({
    provider: upstream, storage, logger, templateRefs,
    // absent (tests, embedding): everything is kept; loadConfig always gives it
    ...(config.retention ? { retention: { batchMs: config.retention.batchHours * HOUR_MS, imageMs: config.retention.imageHours * HOUR_MS } } : {}),
    ...(decks.deleteOlderThan ? { retentionExtra: [decks.deleteOlderThan.bind(decks)] } : {}),
    concurrency: config.maxConcurrentGenerations,
    maxQuotaWaitMs: config.maxQuotaWaitMs,
    buildPrompt: deps.buildPrompt ?? buildPrompt,
    onPageTiming: t => {
      metrics.thumbnail(t.thumbnailOk)
      deps.onPageTiming?.(t)
    },
    lifecycle: combineLifecycles([metrics.lifecycle, webhooks.lifecycle, ...(deps.lifecycle ? [deps.lifecycle] : [])]),
    maxRetries: config.maxRetries,
    maxQueuedPages: config.maxQueuedPages,
    maxQueuedPagesPerClient: config.clientLimits?.maxQueuedPagesPerClient,
    defaultResolution: config.defaultResolution,
    backoff: deps.backoff,
    sleep: deps.sleep,
    random: deps.random,
    ...(redisSetup ? { redis: redisSetup } : {}),
    ...(config.s3 ? { s3: { settings: config.s3, thumbnail: config.thumbnail } } : {}),
    rpm: config.upstreamRpm,
    storageProblem: storageHealth,
    // a failed store is news the cached all-clear does not have: the next pages fail unpaid at once,
    // until a fresh check (a second later) finds the store back
    onStorageFailure: reason => {
      storageChecked = { at: Date.now(), problem: Promise.resolve(reason) }
    },
    // a page whose call does not fit a budget waits as a delayed job, holding no upstream slot
    // (the shared ledger unreachable: the page looks again later rather than failing)
    ...(spend.hasBudgets ? { budgetWait: (client: string | undefined, resolution: Resolution) => spend.wait(client, spend.priceOf(provider.model, resolution)).catch(() => ({ recheckMs: spend.pollMs, resumesInMs: spend.pollMs })) } : {}),
  })
  const batches = engine.batches
  await engine.init()
  metrics.attach({ queue: () => batches.stats() })

  const app = express()
  app.disable('x-powered-by')
  // TRUST_PROXY: behind nginx the client's address comes from X-Forwarded-For (per-IP clients)
  app.set('trust proxy', config.trustProxy ?? false)
  app.set('etag', false)
  app.use(requestLogger(logger))
  app.use(corsMiddleware(config.corsOrigins))
  // a page on another site cannot start paid work (simple POSTs, DNS rebinding): server/cors.ts
  app.use(originGuard({
    corsOrigins: config.corsOrigins,
    checkHost: tokens.length === 0 && config.corsOrigins !== '*' && deps.host !== undefined && isLoopbackHost(deps.host),
  }))

  app.use(createProbeRouter({
    checks: [
      storageCheck([storage.dataDir, path.join(storage.dataDir, 'images'), path.join(storage.dataDir, 'batches')], deps.minFreeBytes ?? MIN_FREE_BYTES),
      providerCheck(() => providerStatus.current()),
      ...engine.readiness,
      ...guards.readiness,
      ...(deps.readinessChecks ?? []),
    ],
    timeoutMs: deps.readinessTimeoutMs,
    notReadyReason: () => (stopping ? 'shutting down' : undefined),
  }))
  app.use(createMetricsRouter(metrics, config.metricsToken))

  // the same guards for every route that starts paid work (batches, decks, retries)
  const admission = createAdmission({
    batches, model: provider.model, defaultResolution: config.defaultResolution, spend, limits,
    // DATA_DIR (state, spend) and, with S3_BUCKET, the bucket (HeadBucket)
    storageProblem: storageHealth,
  })
  // Redis down (REDIS_URL): answer at once instead of waiting on a connection that queues every command
  // until it is back (the engine's must, for BullMQ); the catalogue and stored images need no Redis
  app.use('/api/v1', (req, res, next) => {
    if (req.method === 'GET' && (req.path === '/models' || req.path.startsWith('/images/'))) return next()
    const problem = engine.sharedStateProblem() ?? guards.sharedStateProblem()
    if (!problem) return next()
    next(new ApiError(503, 'storage_unavailable', `The proxy's shared state cannot be reached (${problem}); try again in a moment`, { headers: { 'Retry-After': '5' } }))
  })
  app.use('/api/v1', createDeckRouter({
    batches, images: engine.images, provider, admission,
    decks,
    proxyToken: config.proxyToken,
    tokens,
    wrongTokens,
    limits: deps.deckLimits,
    defaultResolution: config.defaultResolution,
    concurrency: config.maxConcurrentGenerations,
    price: resolution => pricePerImageUsd(provider.model, resolution, config.priceOverride),
  }))
  app.use('/api/v1', createApiRouter({
    batches, images: engine.images, provider, tokens, wrongTokens, limits, spend, admission,
    callbackRefusal: url => webhooks.refusal(url),
    sse: { pingIntervalMs: deps.pingIntervalMs ?? 15_000, clients: { opened: () => metrics.sseOpened(), closed: () => metrics.sseClosed() } },
    models: { defaultResolution: config.defaultResolution, priceOverride: config.priceOverride, timeouts: deps.timeouts },
  }))
  // anything else under /api/ is an api.md 404, never the demo's HTML
  app.use('/api', (req, _res, next) => next(new ApiError(404, 'not_found', `No such endpoint: ${req.method} ${req.baseUrl}${req.path}`)))

  // template covers and thumbnails (also the style references); PPTist exports fetch them cross-origin
  app.use('/imgs', express.static(path.join(publicDir, 'imgs'), { dotfiles: 'deny', index: false, fallthrough: true, maxAge: '1h' }))

  if (existsSync(path.join(demoDir, 'index.html'))) {
    app.use(express.static(demoDir, { index: 'index.html', dotfiles: 'deny' }))
    // SPA fallback: any other GET that is not an API or asset path gets the demo host
    app.use((req, res, next) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return next()
      if (req.path.startsWith('/imgs/')) return next()
      res.sendFile(path.join(demoDir, 'index.html'))
    })
  }

  app.use((req, _res, next) => next(new ApiError(404, 'not_found', `Not found: ${req.path}`)))
  app.use(errorMiddleware(logger))

  return {
    app, batches, storage, engine, metrics, webhooks, spend,
    close: async () => {
      stopping = true
      await engine.close()
      decks.close?.()
      await webhooks.close()
      await spend.flush()
      await guards.close()
    },
  }
}

export interface RunningServer extends ProxyApp {
  server: Server
  url: string
  /** closes the HTTP server (dropping open streams) and flushes state */
  stop(): Promise<void>
}

export async function startServer(deps: AppDeps & { port?: number; host?: string; http?: Partial<HttpLimits>; httpCheckIntervalMs?: number }): Promise<RunningServer> {
  const proxy = await createApp({ ...deps, host: deps.host ?? '127.0.0.1' })
  // slow clients: requests must arrive within the limits; responses (SSE streams) are not limited
  const server = await listenBounded(proxy.app, { port: deps.port ?? 0, host: deps.host ?? '127.0.0.1', limits: deps.http, checkIntervalMs: deps.httpCheckIntervalMs })
    .catch(async (error: unknown) => {
      await proxy.close()
      throw error
    })
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}`
  return {
    ...proxy, server, url,
    async stop() {
      await proxy.close()
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}
