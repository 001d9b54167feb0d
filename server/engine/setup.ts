// The one place where the set-up is chosen: the five seams are made here and handed to the batch
// engine. With nothing configured this is the one-process set-up (memory + DATA_DIR).
import type { Resolution } from '../../plugin/types/api.js'
import { findTemplate as defaultFind, type SlideTemplate } from '../../plugin/configs/nanoBananaTemplates.js'
import { BatchManager } from '../batches.js'
import type { Logger } from '../logger.js'
import type { ImageProvider } from '../providers/types.js'
import type { TemplateReferences } from '../references.js'
import type { Storage } from '../storage.js'
import { LocalEventBus, type EventBus } from './eventBus.js'
import type { BatchLifecycle } from './lifecycle.js'
import type { ImageStore } from './imageStore.js'
import { PageRunner, type BackoffOptions, type BuildPrompt, type PageTiming } from './pageRunner.js'
import { MemoryScheduler, type Scheduler } from './scheduler.js'
import { MemoryStateStore, type StateStore } from './stateStore.js'

export interface EngineOptions {
  provider: ImageProvider
  /** DATA_DIR storage: images (one-process image store) and the state files */
  storage: Storage
  logger: Logger
  templateRefs: TemplateReferences
  buildPrompt: BuildPrompt
  concurrency: number
  maxRetries: number
  maxQueuedPages: number
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
}

export interface Engine {
  batches: BatchManager
  store: StateStore
  scheduler: Scheduler
  runner: PageRunner
  bus: EventBus
  images: ImageStore
  /** stops the engine and releases its connections */
  close(): Promise<void>
}

/** Builds the seams for the configuration and the batch engine on top of them (not yet init()ed). */
export function createEngine(opts: EngineOptions): Engine {
  const { logger } = opts
  const images: ImageStore = opts.storage
  const store = new MemoryStateStore({ persistence: opts.storage, logger, now: opts.now, eventRetentionMs: opts.eventRetentionMs })
  const scheduler = new MemoryScheduler({ concurrency: opts.concurrency, sleep: opts.sleep })
  const bus = new LocalEventBus()
  const runner = new PageRunner({
    provider: opts.provider, images, store, templateRefs: opts.templateRefs, buildPrompt: opts.buildPrompt,
    findTemplate: opts.findTemplate ?? defaultFind, logger, maxRetries: opts.maxRetries, backoff: opts.backoff,
    random: opts.random, initialPageSeconds: opts.initialPageSeconds, onPageTiming: opts.onPageTiming,
  })
  const batches = new BatchManager({
    store, scheduler, runner, bus, images, logger,
    maxQueuedPages: opts.maxQueuedPages, defaultResolution: opts.defaultResolution,
    findTemplate: opts.findTemplate, now: opts.now, imageUrl: opts.imageUrl, lifecycle: opts.lifecycle,
  })
  return {
    batches, store, scheduler, runner, bus, images,
    async close() {
      await batches.close()
      await store.close()
      await bus.close()
    },
  }
}
