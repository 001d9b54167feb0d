// The batch engine: the batch/page state machine, style chain, retries, cancel, page retry
// (optionally with an instruction), estimates, admission and restart recovery — written once. What
// differs between the one-process and the several-replica set-ups sits behind five seams it receives
// (server/engine/*): the state store, the scheduler, the page runner, the event bus, the image store.
//
// Page states:  pending → generating → completed | failed | cancelled
//               (failed | completed | cancelled) → pending again on a manual retry
// Batch states: pending → generating → completed (all ok) | partial (some ok) | failed (none ok) | cancelled
//
// Every state change goes through the state store's atomic mutate(), which commits the change and
// its events together; the events are then published on the bus. One scheduler job is ONE upstream
// attempt: a page waiting out a retry backoff is a delayed job and holds no slot.
import { randomBytes } from 'node:crypto'
import type { BatchOptions, BatchProgress, CreateBatchResponse, Resolution } from '../plugin/types/api.js'
import { findTemplate as defaultFindTemplate, type SlideTemplate } from '../plugin/configs/nanoBananaTemplates.js'
import { ApiError, notFound } from './errors.js'
import type { LoggedEvent, SseSource } from './events.js'
import type { Logger } from './logger.js'
import { ProviderError } from './providers/types.js'
import type { CreateBatchInput } from './schemas.js'
import type { EventBus } from './engine/eventBus.js'
import type { ImageStore } from './engine/imageStore.js'
import type { PageRunner } from './engine/pageRunner.js'
import { AttemptFlow } from './engine/attempts.js'
import type { BatchLifecycle } from './engine/lifecycle.js'
import {
  budgetResumesIn, countsOf, doneEvent, emitPage, emitProgress, estimateRemaining, isFinal, pendingPage, resultOf, waitingForBudget, waitingForQuota,
  type BatchRecord, type BudgetWait, type EstimateContext,
} from './engine/records.js'
import { recoverBatch } from './engine/recovery.js'
import type { Scheduler } from './engine/scheduler.js'
import type { StateStore } from './engine/stateStore.js'

export type { BatchRecord, PageRecord } from './engine/records.js'
export type { BackoffOptions, BuildPrompt, PageTiming } from './engine/pageRunner.js'
export { INITIAL_PAGE_SECONDS } from './engine/pageRunner.js'
export { defaultSleep } from './engine/scheduler.js'
export type { PromptInput } from './prompts.js'

export interface BatchManagerDeps {
  store: StateStore
  scheduler: Scheduler
  runner: PageRunner
  bus: EventBus
  images: ImageStore
  logger: Logger
  maxQueuedPages: number
  /** pending + generating pages one client may have at once (default: no own limit) */
  maxQueuedPagesPerClient?: number
  defaultResolution: Resolution
  findTemplate?: (id: string) => SlideTemplate | undefined
  now?: () => number
  imageUrl?: (key: string) => string
  /** told about page and batch events (metrics, webhooks) */
  lifecycle?: BatchLifecycle
  /** the spend guard's wait for a call (AttemptFlowDeps.budgetWait); absent: no budgets */
  budgetWait?: (client: string | undefined, resolution: Resolution) => BudgetWait | Promise<BudgetWait>
  /** why images cannot be stored now, or null (AttemptFlowDeps.storageProblem) */
  storageProblem?: () => Promise<string | null>
}

const DEFAULT_OPTIONS: Omit<BatchOptions, 'resolution'> = {
  aspect_ratio: '16:9',
  mode: 'full',
  language: 'zh',
  extra_prompt: '',
  style_chain: true,
}

export class BatchManager {
  private readonly attempts: AttemptFlow
  private readonly now: () => number
  private readonly findTemplate: (id: string) => SlideTemplate | undefined
  private readonly imageUrl: (key: string) => string
  private readonly offCancel: () => void
  private readonly offQuota: () => void

  constructor(private readonly deps: BatchManagerDeps) {
    this.now = deps.now ?? Date.now
    this.findTemplate = deps.findTemplate ?? defaultFindTemplate
    this.imageUrl = deps.imageUrl ?? (key => `/api/v1/images/${key}`)
    this.attempts = new AttemptFlow({
      store: deps.store, scheduler: deps.scheduler, runner: deps.runner, bus: deps.bus, logger: deps.logger,
      now: this.now, imageUrl: this.imageUrl, estimateContext: () => this.estimateContext(), lifecycle: deps.lifecycle,
      budgetWait: deps.budgetWait, storageProblem: deps.storageProblem,
    })
    this.offCancel = deps.bus.onCancel(id => this.attempts.abortLocal(id, new ProviderError('aborted', 'cancelled', 'Cancelled')))
    deps.scheduler.start((job, feedback) => this.attempts.attempt(job, feedback))
    // "waiting for quota" starts and ends for every batch with pages left
    this.offQuota = deps.scheduler.onQuotaWait?.(() => { void this.attempts.quotaWaitChanged() }) ?? (() => {})
  }

  /**
   * Recovers what a previous process left (server/engine/recovery.ts): pages that were only waiting
   * (queued, for budget or quota, a retry's backoff) are queued again — each batch's in page order,
   * the batches in the order they were made, whose lanes the scheduler then takes in turn as it does
   * for new batches; pages whose upstream call may have been running fail "interrupted". A batch
   * with pages left stays unfinished and its stream goes on.
   */
  async init(): Promise<void> {
    const ids = await this.deps.store.init()
    // only unfinished batches: finished ones stay on disk until asked for
    const records = (await Promise.all(ids.map(id => this.deps.store.get(id)))).filter((r): r is BatchRecord => r !== null)
    records.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.batch_id.localeCompare(b.batch_id))
    const ctx = await this.estimateContext()
    const totals = { batches: 0, interrupted_pages: 0, requeued_pages: 0, finished_batches: 0 }
    for (const { batch_id: id } of records) {
      // retry_at is on the wall clock (the scheduler's delays are real time)
      const r = await this.deps.store.mutate(id, (s, emit) => recoverBatch(s, emit, ctx, this.imageUrl, Date.now()))
      if (!r) continue
      const { interrupted, requeue, finished } = r.value
      this.deps.bus.publish(id, r.events)
      // in page order in the lane: the waiting ones, then the ones that were at its head before them
      for (const p of requeue) if (!p.front) await this.attempts.enqueue(id, p.pageNumber)
      for (const p of [...requeue].reverse()) if (p.front) await this.attempts.enqueue(id, p.pageNumber, { front: true, ...(p.delayMs ? { delayMs: p.delayMs } : {}) })
      if (interrupted || requeue.length) this.deps.logger.warn('batch recovered after restart', { batch: id, interrupted_pages: interrupted, requeued_pages: requeue.length, finished })
      // finished here (only interrupted pages were left): its webhook and metrics hear it as for any other end
      if (finished) this.deps.lifecycle?.batchFinished?.(r.record, Math.max(0, this.now() - Date.parse(r.record.created_at)))
      totals.batches++
      totals.interrupted_pages += interrupted
      totals.requeued_pages += requeue.length
      if (finished) totals.finished_batches++
    }
    if (totals.batches) this.deps.logger.info('unfinished batches recovered from disk', totals)
  }

  // -------------------------------------------------------------------------------------------
  // Public API used by the routes

  /**
   * Throws the 400 unknown_template that create() would: asked by admission before any budget or
   * limit, so a bad request is a 400 (never a 429) and uses up nothing.
   */
  checkTemplate(templateId: string): SlideTemplate {
    const template = this.findTemplate(templateId)
    if (!template) {
      throw new ApiError(400, 'unknown_template', `Unknown template "${templateId}"`, {
        details: [{ path: 'template_id', message: 'No template with this id; GET /api/v1/templates lists them' }],
      })
    }
    return template
  }

  /**
   * Throws what retryPage() would for a page that cannot be retried now — 404 (no such batch or
   * page), 409 page_busy (pending or generating): asked by admission before the retry allowance
   * and the budget, so a refused retry uses up nothing.
   */
  async checkRetry(batchId: string, pageNumber: number): Promise<void> {
    const page = (await this.get(batchId)).pages[pageNumber - 1]
    if (!page) throw notFound(`Page ${pageNumber} of this batch`)
    if (page.status === 'pending' || page.status === 'generating') throw pageBusy(pageNumber, page.status)
  }

  /** `client`: who makes it (token name or `ip:…`); only that client sees the batch afterwards. */
  async create(input: CreateBatchInput, opts: { client?: string } = {}): Promise<CreateBatchResponse> {
    const template = this.checkTemplate(input.template_id)
    await this.admit(input.pages.length, opts.client)

    const o = input.options ?? {}
    const options: BatchOptions = {
      aspect_ratio: o.aspect_ratio ?? DEFAULT_OPTIONS.aspect_ratio,
      resolution: o.resolution ?? this.deps.defaultResolution,
      mode: o.mode ?? DEFAULT_OPTIONS.mode,
      language: o.language ?? DEFAULT_OPTIONS.language,
      extra_prompt: o.extra_prompt ?? DEFAULT_OPTIONS.extra_prompt,
      style_chain: o.style_chain ?? DEFAULT_OPTIONS.style_chain,
    }
    const chained = options.style_chain && input.pages.length > 1
    const nowIso = new Date(this.now()).toISOString()
    const state: BatchRecord = {
      version: 1,
      batch_id: `b_${randomBytes(12).toString('hex')}`,
      created_at: nowIso,
      updated_at: nowIso,
      template_id: template.id,
      deck_title: input.deck_title,
      options,
      status: 'pending',
      last_event_id: 0,
      chain_held: chained,
      ...(input.callback_url ? { callback_url: input.callback_url } : {}),
      ...(opts.client ? { client: opts.client } : {}),
      pages: input.pages.map((p, i) => pendingPage({
        page_number: i + 1,
        slide_id: p.slide_id,
        page_type: p.page_type ?? (i === 0 ? 'cover' : 'content'),
        title: p.title,
        content: p.content,
        notes: p.notes,
        text_boxes: p.text_boxes,
      })),
    }
    await this.deps.store.create(state)
    const first = chained ? [state.pages[0]] : state.pages
    for (const page of first) await this.attempts.enqueue(state.batch_id, page.page_number)

    this.deps.logger.info('batch created', {
      batch_id: state.batch_id, pages: state.pages.length, template_id: template.id, model: this.deps.runner.model, resolution: options.resolution,
      mode: options.mode, style_chain: chained,
    })
    return { batch_id: state.batch_id, status: 'pending', total_pages: state.pages.length, estimated_time: estimateRemaining(state, await this.estimateContext()) }
  }

  /** The batch's client (undefined for batches made before clients were recorded); 404 when there is no such batch. */
  async ownerOf(batchId: string): Promise<string | undefined> {
    return (await this.get(batchId)).client
  }

  /** The size the batch's pages are generated at (what a retry of one of them costs); 404 when there is no such batch. */
  async resolutionOf(batchId: string): Promise<Resolution> {
    return (await this.get(batchId)).options.resolution
  }

  async has(batchId: string): Promise<boolean> {
    return (await this.deps.store.get(batchId)) !== null
  }

  async progress(batchId: string): Promise<BatchProgress> {
    return this.progressOf(await this.get(batchId))
  }

  async cancel(batchId: string): Promise<BatchProgress> {
    const ctx = await this.estimateContext()
    const r = await this.deps.store.mutate(batchId, (s, emit) => {
      if (isFinal(s)) return null // nothing left to cancel
      s.status = 'cancelled'
      s.chain_held = false
      let cancelled = 0
      for (const page of s.pages) {
        if (page.status === 'pending' || page.status === 'generating') {
          cancelled++
          page.status = 'cancelled'
          page.error_message = null
          page.error_code = null
          emitPage(emit, page, this.imageUrl)
        }
      }
      emitProgress(s, emit, ctx)
      emit('done', doneEvent(s))
      return { cancelled }
    })
    if (!r) throw notFound('Batch')
    if (!r.value) return this.progressOf(r.record)
    const aborted = this.attempts.heldFor(batchId)
    // every process aborts the upstream calls it holds for this batch (this one synchronously) before
    // the queued pages are dropped: the calls running are what costs, and a job taken meanwhile finds
    // the batch cancelled and calls nothing
    this.deps.bus.publishCancel(batchId)
    const dropped = await this.deps.scheduler.dropBatch(batchId)
    this.deps.bus.publish(batchId, r.events)
    this.deps.runner.forget(batchId)
    const durationMs = Math.max(0, this.now() - Date.parse(r.record.created_at))
    this.deps.logger.info('batch cancelled', { batch_id: batchId, template_id: r.record.template_id, dropped_queued: dropped, aborted_in_flight: aborted, duration_ms: durationMs })
    this.deps.lifecycle?.pagesCancelled?.(r.record, r.value.cancelled)
    this.deps.lifecycle?.batchFinished?.(r.record, durationMs)
    return this.progressOf(r.record)
  }

  /**
   * Queues page `pageNumber` (1-based) of the batch again. `instruction` (trimmed text) revises it from
   * its last good image; `''` asks for a plain re-draw. Without one, a page whose revision never
   * completed (failed, interrupted by a restart, cancelled) repeats that revision — a plain re-draw
   * would replace the slide with the unrevised page; a completed page is re-drawn plainly.
   * Errors: 404 unknown page, 409 page_busy while it is pending or generating, admission's 429/503.
   */
  async retryPage(batchId: string, pageNumber: number, instruction?: string): Promise<BatchProgress> {
    const current = await this.get(batchId)
    if (!current.pages[pageNumber - 1]) throw notFound(`Page ${pageNumber} of this batch`)
    await this.admit(1, current.client)
    const ctx = await this.estimateContext()
    let kept = false
    const r = await this.deps.store.mutate(batchId, (s, emit) => {
      const page = s.pages[pageNumber - 1]
      if (page.status === 'pending' || page.status === 'generating') return page.status
      const wasFinal = isFinal(s)
      // the last good image survives failed attempts, so a later revision can still start from it
      page.previous_image_key = page.status === 'completed' ? page.image_key : page.previous_image_key
      kept = instruction === undefined && page.status !== 'completed' && !!page.instruction
      if (!kept) page.instruction = instruction || null
      page.status = 'pending'
      page.image_key = null
      page.thumbnail_key = null
      delete page.shortened
      page.error_message = null
      page.error_code = null
      page.retry_count++
      page.auto_retries = 0
      delete page.last_answer_shape
      delete page.quota_since
      delete page.budget_wait
      delete page.budget_resumes_at
      delete page.retry_at
      page.bypass_cache = true
      if (wasFinal) s.status = 'generating'
      emitPage(emit, page, this.imageUrl)
      emitProgress(s, emit, ctx)
      return null
    })
    if (!r) throw notFound('Batch')
    if (r.value) throw pageBusy(pageNumber, r.value)
    this.deps.bus.publish(batchId, r.events)
    await this.attempts.enqueue(batchId, pageNumber)
    this.deps.logger.info('page retry queued', { batch: batchId, page: pageNumber, with_instruction: !!instruction || kept, ...(kept ? { instruction_kept: true } : {}) })
    return this.progressOf(r.record)
  }

  /** What the SSE endpoint streams; 404 when there is no such batch. */
  async sseSource(batchId: string): Promise<SseSource> {
    await this.get(batchId)
    return {
      since: lastId => this.deps.store.eventsSince(batchId, lastId),
      snapshot: async () => {
        const s = await this.get(batchId)
        const done = isFinal(s) ? await this.deps.store.lastDone(batchId) : null
        return { data: await this.progressOf(s), lastId: s.last_event_id, done }
      },
      subscribe: listener => this.deps.bus.subscribe(batchId, listener),
    }
  }

  /** The batch's logged events after `lastId` (null: not replayable). */
  eventsSince(batchId: string, lastId: number): Promise<LoggedEvent[] | null> {
    return this.deps.store.eventsSince(batchId, lastId)
  }

  /** running = upstream calls in flight; queued = pages accepted but not running (incl. backoff and style-chain waits) */
  async stats(): Promise<{ running: number; queued: number; capacity: number; concurrency: number }> {
    const q = await this.deps.scheduler.stats()
    return { running: q.running, queued: await this.waitingPages(q.running), capacity: this.deps.maxQueuedPages, concurrency: q.concurrency }
  }

  /** Average seconds per page (moving average of recent upstream calls). */
  averagePageSeconds(): number {
    return this.deps.runner.averagePageSeconds()
  }

  /** Resolves once every pending state write (and thumbnail) is durable. */
  async flush(): Promise<void> {
    await this.attempts.flush()
    await this.deps.store.flush()
  }

  /** Stops everything in flight (shutdown); pages left unfinished are taken up again by recovery. */
  async close(): Promise<void> {
    this.offCancel()
    this.offQuota()
    await this.attempts.close()
    await this.deps.scheduler.close()
    await this.flush()
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  private async get(batchId: string): Promise<BatchRecord> {
    const s = await this.deps.store.get(batchId)
    if (!s) throw notFound('Batch')
    return s
  }

  private async waitingPages(running?: number): Promise<number> {
    const r = running ?? (await this.deps.scheduler.stats()).running
    return Math.max(0, (await this.deps.store.unfinishedPages()) - r)
  }

  /** 429 when accepting `pages` more would queue beyond MAX_QUEUED_PAGES. */
  private async admit(pages: number, client?: string): Promise<void> {
    const own = this.deps.maxQueuedPagesPerClient
    if (client !== undefined && own !== undefined) {
      // one client cannot take the whole queue: a second client's small batch is still accepted
      const mine = await this.deps.store.unfinishedPages(client)
      if (mine + pages > own) {
        const retryAfter = Math.min(3600, Math.max(1, Math.ceil(Math.ceil((mine + pages - own) / this.deps.scheduler.concurrency) * this.averagePageSeconds())))
        throw new ApiError(429, 'client_queue_full', `This client already has ${mine} pages waiting (limit ${own} per client); try again in about ${retryAfter} s`, {
          headers: { 'Retry-After': String(retryAfter) },
        })
      }
    }
    const waiting = await this.waitingPages()
    if (waiting + pages <= this.deps.maxQueuedPages) return
    const concurrency = this.deps.scheduler.concurrency
    const excess = waiting + pages - this.deps.maxQueuedPages
    const retryAfter = Math.min(3600, Math.max(1, Math.ceil(Math.ceil(excess / concurrency) * this.averagePageSeconds())))
    throw new ApiError(429, 'queue_full', `The generation queue is full (${waiting} pages waiting, limit ${this.deps.maxQueuedPages}); try again in about ${retryAfter} s`, {
      headers: { 'Retry-After': String(retryAfter) },
    })
  }

  private async estimateContext(): Promise<EstimateContext> {
    return {
      activeBatches: await this.deps.store.activeBatches(), concurrency: this.deps.scheduler.concurrency, pageSeconds: this.averagePageSeconds(), now: this.now(),
      ...(this.deps.scheduler.quota ? { quota: this.deps.scheduler.quota() } : {}),
    }
  }

  // ---- wire shapes --------------------------------------------------------------------------

  private async progressOf(s: BatchRecord): Promise<BatchProgress> {
    const ctx = await this.estimateContext()
    const resumes = budgetResumesIn(s, ctx.now ?? this.now())
    return {
      batch_id: s.batch_id,
      status: s.status,
      progress: countsOf(s),
      results: s.pages.map(p => resultOf(p, this.imageUrl)),
      estimated_remaining_time: estimateRemaining(s, ctx),
      waiting_for_quota: waitingForQuota(s, ctx),
      waiting_for_budget: waitingForBudget(s),
      ...(resumes !== null ? { budget_resumes_in_seconds: resumes } : {}),
    }
  }
}

function pageBusy(pageNumber: number, status: string): ApiError {
  return new ApiError(409, 'page_busy', `Page ${pageNumber} is still ${status}; wait for it to finish before retrying`)
}
