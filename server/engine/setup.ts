// The one place where the set-up is chosen: the five seams are made here and handed to the batch
// engine. With nothing configured this is the one-process set-up (memory + DATA_DIR).
import path from 'node:path'
import type { Resolution } from '../../plugin/types/api.js'
import { findTemplate as defaultFind, type SlideTemplate } from '../../plugin/configs/nanoBananaTemplates.js'
import { BatchManager } from '../batches.js'
import type { Logger } from '../logger.js'
import type { ImageProvider } from '../providers/types.js'
import type { BudgetWait } from './records.js'
import type { TemplateReferences } from '../references.js'
import type { Storage } from '../storage.js'
import { LocalEventBus, type EventBus } from './eventBus.js'
import type { BatchLifecycle } from './lifecycle.js'
import { diskImageStore, type ImageStore } from './imageStore.js'
import { S3ImageStore } from './s3ImageStore.js'
import { createS3DeckStore } from './s3DeckStore.js'
import { createFileDeckStore, type DeckStore } from '../pptx/store.js'
import type { S3Settings } from '../s3Config.js'
import { PageRunner, type BackoffOptions, type BuildPrompt, type PageTiming } from './pageRunner.js'
import { MemoryScheduler, type Scheduler } from './scheduler.js'
import { MemoryStateStore, type StateStore } from './stateStore.js'
import { Redis } from 'ioredis'
import type { ReadinessCheck } from '../probes.js'
import { BullScheduler } from './bullScheduler.js'
import { RedisEventBus } from './redisEventBus.js'
import { RedisStateStore } from './redisStateStore.js'
import { cacheTtlMs, RetentionSweeper, type RetentionSettings } from './retention.js'
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible'
import { memoryLimitStores, type LimitStores } from '../clients.js'
import { RedisSpendLedger } from '../redisSpendLedger.js'
import { RedisStreamSlots } from '../redisStreamSlots.js'
import { redisAddress } from '../redisProbe.js'
import { deploymentKey, deploymentRecord, type DeploymentSetting } from './deployment.js'
import { FileSpendLedger, type SpendLedger } from '../spendLedger.js'

/** REDIS_URL set: state, events and queue shared with the other replicas. */
export interface RedisSetup {
  url: string
  /** key prefix (REDIS_PREFIX, default "nb"; tests use a unique one) */
  prefix: string
  /** queue job lock; another replica takes a dead one's attempts over after this (default 30 s) */
  lockDurationMs?: number
  stalledIntervalMs?: number
  /** how long an open progress stream of a replica that died still counts against its client (default 30 s) */
  streamLeaseMs?: number
  /** this replica's deployment settings, kept on the prefix while it is live (server/engine/deployment.ts) */
  deployment?: readonly DeploymentSetting[]
}

export interface EngineOptions {
  provider: ImageProvider
  /** DATA_DIR storage: images (one-process image store) and the state files */
  storage: Storage
  logger: Logger
  templateRefs: TemplateReferences
  buildPrompt: BuildPrompt
  concurrency: number
  maxRetries: number
  /** RATE_LIMIT_MAX_WAIT in ms (default 10 min) */
  maxQuotaWaitMs?: number
  maxQueuedPages: number
  maxQueuedPagesPerClient?: number
  defaultResolution: Resolution
  findTemplate?: (id: string) => SlideTemplate | undefined
  backoff?: Partial<BackoffOptions>
  /** waits ms or rejects when the signal aborts (tests pass a fast one) */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  random?: () => number
  now?: () => number
  initialPageSeconds?: number
  imageUrl?: (key: string) => string
  /** how long a finished batch keeps its full event history for Last-Event-ID replays (default 10 min) */
  eventRetentionMs?: number
  onPageTiming?: (t: PageTiming) => void
  /** told about page and batch events (metrics, webhooks) */
  lifecycle?: BatchLifecycle
  /** the several-replica set-up; absent: memory + DATA_DIR */
  redis?: RedisSetup
  /** S3_BUCKET set: images and their variants in the bucket; absent: DATA_DIR/images */
  s3?: { settings: S3Settings; thumbnail: { width: number; height: number } }
  /** UPSTREAM_RPM: at most this many upstream call starts in any 60 s */
  rpm?: number
  /** the spend guard's wait for a call (SpendGuard.wait at the call's price); absent: no budgets */
  budgetWait?: (client: string | undefined, resolution: Resolution) => BudgetWait | Promise<BudgetWait>
  /** an image could not be stored (PageRunnerDeps.onStorageFailure) */
  onStorageFailure?: (reason: string) => void
  /** why images cannot be stored now (DATA_DIR unwritable or full), or null: asked before each upstream call (AttemptFlowDeps) */
  storageProblem?: () => Promise<string | null>
  /** BATCH_RETENTION_HOURS / IMAGE_RETENTION_HOURS in ms (absent: everything kept forever) */
  retention?: RetentionSettings
  /** removed with images past their retention (e.g. uploaded decks); each returns how many */
  retentionExtra?: ReadonlyArray<(cutoffMs: number) => Promise<number>>
}

export interface Engine {
  batches: BatchManager
  store: StateStore
  scheduler: Scheduler
  runner: PageRunner
  bus: EventBus
  images: ImageStore
  /** the periodic retention sweep (started by init(); sweep() runs one now) */
  retention: RetentionSweeper
  /** /readyz checks of the set-up's own services (Redis: every connection is up and answers PING; S3: HeadBucket) */
  readiness: ReadinessCheck[]
  /**
   * Why the shared state cannot be used right now ("Redis at host:6379/0 is reconnecting"), or null; at
   * once, without a round trip (the Redis connections' own status). The one-process set-up: always null.
   */
  sharedStateProblem(): string | null
  /** connects (Redis set-up) and recovers what a previous process left; call once before use */
  init(): Promise<void>
  /** stops the engine and releases its connections */
  close(): Promise<void>
}

/** Builds the seams for the configuration and the batch engine on top of them (not yet init()ed). */
export function createEngine(opts: EngineOptions): Engine {
  const { logger } = opts
  const s3 = opts.s3 ? new S3ImageStore({ settings: opts.s3.settings, thumbnail: opts.s3.thumbnail }) : undefined
  const images: ImageStore = s3 ?? diskImageStore(opts.storage)
  const connections: Redis[] = []
  let store: StateStore
  let scheduler: Scheduler
  let bus: EventBus
  const retention = opts.retention ?? { batchMs: 0, imageMs: 0 }
  const cacheTtl = cacheTtlMs(retention)
  if (opts.redis) {
    const { url, prefix } = opts.redis
    const connect = () => {
      // BullMQ's blocking commands need maxRetriesPerRequest: null
      const c = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false })
      c.on('error', err => logger.warn('redis connection error', { error: err.message }))
      connections.push(c)
      return c
    }
    const redis = connect()
    store = new RedisStateStore({ redis, prefix, now: opts.now, eventRetentionMs: opts.eventRetentionMs, batchRetentionMs: retention.batchMs, cacheTtlMs: cacheTtl })
    bus = new RedisEventBus({ redis, subscriber: connect(), prefix, logger })
    scheduler = new BullScheduler({
      redis, connection: connect, prefix, concurrency: opts.concurrency, rpm: opts.rpm, logger,
      lockDurationMs: opts.redis.lockDurationMs, stalledIntervalMs: opts.redis.stalledIntervalMs, maxHoldMs: opts.maxQuotaWaitMs,
      ...(opts.redis.deployment ? { deployment: { key: deploymentKey(prefix), value: deploymentRecord(opts.redis.deployment) } } : {}),
    })
  } else {
    store = new MemoryStateStore({ persistence: opts.storage, logger, now: opts.now, eventRetentionMs: opts.eventRetentionMs, cacheTtlMs: cacheTtl })
    // no hold is longer than a page may wait for quota
    scheduler = new MemoryScheduler({ concurrency: opts.concurrency, sleep: opts.sleep, rpm: opts.rpm, maxHoldMs: opts.maxQuotaWaitMs })
    bus = new LocalEventBus()
  }
  const runner = new PageRunner({
    provider: opts.provider, images, store, templateRefs: opts.templateRefs, buildPrompt: opts.buildPrompt,
    findTemplate: opts.findTemplate ?? defaultFind, logger, maxRetries: opts.maxRetries, maxQuotaWaitMs: opts.maxQuotaWaitMs, backoff: opts.backoff,
    random: opts.random, initialPageSeconds: opts.initialPageSeconds, onPageTiming: opts.onPageTiming,
    onStorageFailure: opts.onStorageFailure,
  })
  const batches = new BatchManager({
    store, scheduler, runner, bus, images, logger,
    maxQueuedPages: opts.maxQueuedPages, maxQueuedPagesPerClient: opts.maxQueuedPagesPerClient, defaultResolution: opts.defaultResolution,
    findTemplate: opts.findTemplate, now: opts.now, imageUrl: opts.imageUrl, lifecycle: opts.lifecycle,
    budgetWait: opts.budgetWait,
    storageProblem: opts.storageProblem,
  })
  const sweeper = new RetentionSweeper({ ...retention, store, images, logger, extra: opts.retentionExtra, now: opts.now })
  const readiness: ReadinessCheck[] = [...images.readiness]
  if (opts.redis) {
    readiness.push({
      name: 'redis',
      async check() {
        // a connection that is down would queue the PING until it is back: say so instead
        const down = connections.find(c => c.status !== 'ready')
        if (down) throw new Error(`a connection is ${down.status}`)
        const pong = await connections[0].ping()
        if (pong !== 'PONG') throw new Error(`PING answered ${pong}`)
      },
    })
  }
  const sharedStateProblem = () => {
    const down = opts.redis && connections.find(c => c.status !== 'ready' && c.status !== 'wait')
    return down && opts.redis ? `Redis at ${redisAddress(opts.redis.url)} is ${down.status}` : null
  }
  return {
    batches, store, scheduler, runner, bus, images, readiness, retention: sweeper, sharedStateProblem,
    async init() {
      await s3?.start()
      if (bus instanceof RedisEventBus) await bus.whenReady()
      if (scheduler instanceof BullScheduler) await scheduler.whenReady()
      await batches.init()
      sweeper.start()
    },
    async close() {
      await sweeper.stop()
      await batches.close()
      await store.close()
      await bus.close()
      for (const c of connections) c.disconnect()
      s3?.close()
    },
  }
}

/**
 * Where batches made from a .pptx keep their parsed deck (GET …/batches/{id}/pptx): with S3_BUCKET the
 * bucket (`decks/<batch_id>.json`), so any replica can write the download whatever its DATA_DIR;
 * otherwise DATA_DIR/decks/. Both remove decks past IMAGE_RETENTION_HOURS (deleteOlderThan).
 */
export function createDeckStore(opts: { s3?: S3Settings; dataDir: string }): DeckStore {
  return opts.s3 ? createS3DeckStore(opts.s3) : createFileDeckStore(opts.dataDir)
}

/** Where the spend totals and the per-client limit counts live. */
export interface GuardStores {
  ledger: SpendLedger
  limits: LimitStores
  /** /readyz check of the guards' own Redis connection (none in the one-process set-up) */
  readiness: ReadinessCheck[]
  /** as Engine.sharedStateProblem, for the guards' connection */
  sharedStateProblem(): string | null
  close(): Promise<void>
}

/**
 * The spend ledger and the per-client limit stores for the set-up. One process: memory, the totals in
 * `spendFile` (DATA_DIR/spend.json). REDIS_URL: everything in Redis under the prefix, shared by every
 * replica (server/redisSpendLedger.ts, RateLimiterRedis, server/redisStreamSlots.ts), on a connection
 * of its own.
 */
export function createGuardStores(opts: { redis?: RedisSetup; spendFile: string; logger: Logger }): GuardStores {
  if (!opts.redis) {
    const ledger = new FileSpendLedger({ file: opts.spendFile })
    const limits = memoryLimitStores()
    return { ledger, limits, readiness: [], sharedStateProblem: () => null, async close() { await limits.streams.close(); await ledger.close() } }
  }
  const { url, prefix } = opts.redis
  const redis = new Redis(url, { maxRetriesPerRequest: 2 })
  redis.on('error', err => opts.logger.warn('redis connection error (spend and client limits)', { error: err.message }))
  const streams = new RedisStreamSlots({
    redis, prefix, leaseMs: opts.redis.streamLeaseMs,
    onError: err => opts.logger.warn('progress streams: Redis unreachable (this replica counts its own meanwhile)', { error: err.message }),
  })
  return {
    ledger: new RedisSpendLedger({ redis, prefix }),
    limits: {
      // Redis unreachable: rate-limiter-flexible falls back to this replica's own count (insuranceLimiter)
      rateLimiter: o => new RateLimiterRedis({
        storeClient: redis, points: o.points, duration: o.duration, keyPrefix: `${prefix}:limit:${o.keyPrefix}`,
        insuranceLimiter: new RateLimiterMemory({ points: o.points, duration: o.duration, keyPrefix: o.keyPrefix }),
      }),
      streams,
    },
    sharedStateProblem: () => (redis.status === 'ready' ? null : `Redis at ${redisAddress(url)} is ${redis.status}`),
    readiness: [{
      name: 'redis-limits',
      async check() {
        if (redis.status !== 'ready') throw new Error(`the connection is ${redis.status}`)
        const pong = await redis.ping()
        if (pong !== 'PONG') throw new Error(`PING answered ${pong}`)
      },
    }],
    async close() {
      await streams.close()
      redis.disconnect()
    },
  }
}

/**
 * The set-up in one line each, for the start-up log: where batch state, events and the queue live
 * (`shared`) and where images go (`images`). Never a password (REDIS_URL's is left out).
 */
export function describeSetUp(opts: { redis?: { url: string; prefix: string }; s3?: S3Settings; dataDir: string; concurrency: number }): { shared: string; images: string } {
  let shared = `none: one process (memory and ${opts.dataDir}); ${opts.concurrency} upstream calls at once`
  if (opts.redis) {
    const u = new URL(opts.redis.url)
    shared = `Redis ${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname} prefix "${opts.redis.prefix}": batch state, events and queue shared by every replica with this prefix; ${opts.concurrency} upstream calls at once across all of them`
  }
  const images = opts.s3
    ? `S3 bucket ${opts.s3.bucket} at ${opts.s3.endpoint ?? `AWS ${opts.s3.region}`}${opts.s3.publicBaseUrl ? `, served from ${opts.s3.publicBaseUrl}` : ''}`
    : `${path.join(opts.dataDir, 'images')}${opts.redis ? ' (every replica must share this directory, or set S3_BUCKET)' : ''}`
  return { shared, images }
}
