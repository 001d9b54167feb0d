// The life of one attempt, as the batch engine runs it when the scheduler hands it a job: claim the
// page (pending → generating, atomically in the state store), run it with the page runner holding an
// AbortController in this process, then commit completed / retry later / failed / cancelled.
// Part of the batch logic (written once); BatchManager (server/batches.ts) owns the public API.
import type { Resolution } from '../../plugin/types/api.js'
import type { LoggedEvent } from '../events.js'
import type { Logger } from '../logger.js'
import { ProviderError, type GeneratedImage } from '../providers/types.js'
import type { EventBus } from './eventBus.js'
import { pageFields, type BatchLifecycle } from './lifecycle.js'
import { isRateLimit, type Decision, type PageRunner } from './pageRunner.js'
import { countsOf, emitPage, emitProgress, isFinal, settlePage, type BatchRecord, type BudgetWait, type CacheEntry, type EstimateContext, type Settled } from './records.js'
import type { AttemptJob, EnqueueOptions, Scheduler, UpstreamFeedback } from './scheduler.js'
import type { StateStore } from './stateStore.js'
import { noteImageDropped } from '../memory.js'


/** A waiting page's resume time is re-announced only when it moved by more than this (ms): a poll finds the same moment, give or take its own latency. */
const BUDGET_RESUME_SLACK_MS = 5000
export interface AttemptFlowDeps {
  store: StateStore
  scheduler: Scheduler
  runner: PageRunner
  bus: EventBus
  logger: Logger
  now: () => number
  imageUrl: (key: string) => string
  estimateContext: () => Promise<EstimateContext>
  /** told about page and batch events (metrics, webhooks) */
  lifecycle?: BatchLifecycle
  /**
   * The spend guard's view (SpendGuard.wait): for a call of this client at this size, ms before it
   * looks again (recheckMs; 0: it fits now) and ms until the budget allows it (resumesInMs). A page
   * that must wait goes back as a delayed job before it is claimed, so it holds no upstream slot and
   * other clients' pages go on; its record keeps when it resumes (budget_resumes_at) for progress.
   */
  budgetWait?: (client: string | undefined, resolution: Resolution) => BudgetWait | Promise<BudgetWait>
  /**
   * Why images cannot be stored now (DATA_DIR read-only or full since the batch was accepted), or
   * null. Asked before each upstream call: a page whose image could not be kept fails
   * storage_unavailable without being paid for.
   */
  storageProblem?: () => Promise<string | null>
}

export class AttemptFlow {
  /** per batch, per page attempted in this process: aborts its upstream call */
  private readonly controllers = new Map<string, Map<number, AbortController>>()
  /** background work (storing images, thumbnails) that flush() waits for */
  private readonly writes = new Set<Promise<void>>()
  /** batches queued from this process and not known to be finished (told when a quota wait starts or ends) */
  private readonly open = new Set<string>()
  /** images being stored after their job freed its upstream slot */
  private storingDetached = 0
  private closed = false

  constructor(private readonly deps: AttemptFlowDeps) {}

  /** Upstream calls this process holds for a batch. */
  heldFor(batchId: string): number {
    return this.controllers.get(batchId)?.size ?? 0
  }

  /** Aborts every upstream call this process holds for the batch (cancel, shutdown). */
  abortLocal(batchId: string, reason: ProviderError): void {
    const local = this.controllers.get(batchId)
    if (!local) return
    for (const ctrl of local.values()) ctrl.abort(reason)
  }

  async enqueue(batchId: string, pageNumber: number, opts: EnqueueOptions = {}): Promise<void> {
    if (this.closed) return
    this.open.add(batchId)
    await this.deps.scheduler.enqueue({ batchId, pageNumber }, opts)
  }

  /** A quota wait began or ended: every open batch's progress says so (and its estimate moves). */
  async quotaWaitChanged(): Promise<void> {
    const ctx = await this.deps.estimateContext()
    for (const id of [...this.open]) {
      const r = await this.deps.store.mutate(id, (s, emit) => {
        if (isFinal(s)) return false
        emitProgress(s, emit, ctx)
        return true
      })
      if (!r?.value) this.open.delete(id)
      else this.deps.bus.publish(id, r.events)
    }
  }

  /** Commits what follows a page settling: publish its events, queue released pages, log the end. */
  async afterSettle(s: BatchRecord, events: LoggedEvent[], what: Settled): Promise<void> {
    this.deps.bus.publish(s.batch_id, events)
    for (const n of what.release) await this.enqueue(s.batch_id, n)
    if (what.finished) {
      this.open.delete(s.batch_id)
      this.deps.runner.forget(s.batch_id)
      const durationMs = Math.max(0, this.deps.now() - Date.parse(s.created_at))
      this.deps.logger.info('batch finished', { batch_id: s.batch_id, template_id: s.template_id, status: s.status, duration_ms: durationMs, ...countsOf(s) })
      this.deps.lifecycle?.batchFinished?.(s, durationMs)
    }
  }

  async flush(): Promise<void> {
    while (this.writes.size) await Promise.allSettled([...this.writes])
  }

  /** Stops taking attempts and aborts the ones running here (their pages are left for recovery). */
  async close(): Promise<void> {
    this.closed = true
    for (const id of [...this.controllers.keys()]) this.abortLocal(id, new ProviderError('aborted', 'shutdown', 'The proxy is shutting down'))
  }

  /** One scheduler job: one upstream attempt of one page; `feedback` tells the scheduler what the upstream said. Never throws. */
  async attempt(job: AttemptJob, feedback?: UpstreamFeedback): Promise<void> {
    const { batchId, pageNumber: n } = job
    if (this.closed) return
    // the estimate's context is read alongside the budget check (one round trip less per call with Redis)
    const [waits, ctx] = await Promise.all([this.waitsForBudget(job), this.deps.estimateContext()])
    if (waits) return
    // claim: pending → generating (a retry after its backoff is already generating)
    const claim = await this.deps.store.mutate(batchId, (s, emit) => {
      const page = s.pages[n - 1]
      if (!page || s.status === 'cancelled' || (page.status !== 'pending' && page.status !== 'generating')) return false
      if (s.status === 'pending') s.status = 'generating'
      // a retry after its backoff: its call starts now (recovery must no longer queue it again)
      delete page.retry_at
      if (page.status === 'pending') {
        page.status = 'generating'
        delete page.budget_wait
        delete page.budget_resumes_at
        emitPage(emit, page, this.deps.imageUrl)
        emitProgress(s, emit, ctx)
      }
      return true
      // one process: the claim is on disk before the call starts, so restart recovery never queues
      // again (and pays twice for) a page whose call may have run; a durable queue keeps the job itself
    }, { durable: !this.deps.scheduler.durable })
    if (!claim?.value) return
    this.deps.bus.publish(batchId, claim.events)
    // the scheduler logged it; counted here, where the page is known (metrics: pages taken over)
    if (job.redelivered) this.deps.lifecycle?.pageTakenOver?.(pageFields(claim.record, claim.record.pages[n - 1], this.deps.runner.model))
    let local = this.controllers.get(batchId)
    if (!local) {
      local = new Map()
      this.controllers.set(batchId, local)
    }
    const ctrl = new AbortController()
    local.set(n, ctrl)
    const started = this.deps.now()
    const storageDown = await this.deps.storageProblem?.()
    if (storageDown) {
      const err = new ProviderError('fatal', 'storage_unavailable', `The proxy cannot store images right now (${storageDown}), so this page was not generated and nothing was paid for it. Ask the administrator, then retry it`)
      return this.onError(batchId, n, ctrl, err, started)
    }
    const out = await this.deps.runner.call(claim.record, claim.record.pages[n - 1], ctrl.signal, req => {
      const f = { ...pageFields(claim.record, claim.record.pages[n - 1], this.deps.runner.model), prompt_length: req.prompt.length }
      this.deps.logger.info('page started', f)
      this.deps.lifecycle?.pageStarted?.(f)
    })
    // tell the scheduler at once (before this job ends and frees its slot): a rate limit holds everyone
    let holdUntil: number | undefined
    if (out.kind === 'image') feedback?.answered()
    else if (out.kind === 'error') {
      if (isRateLimit(out.error)) holdUntil = await feedback?.rateLimited(out.error.retryAfterMs)
      else if (out.error instanceof ProviderError && out.error.status !== undefined) feedback?.answered()
    }
    if (out.kind === 'cached') return this.complete(batchId, n, ctrl, out.stored, started, null)
    if (out.kind === 'error') return this.onError(batchId, n, ctrl, out.error, started, holdUntil)
    if (ctrl.signal.aborted) return this.release(batchId, n, ctrl)
    // the closure holds the image only until it is stored (a 4K image is ~30 MB): not while the
    // state is written
    const { cacheKey, providerMs } = out
    const imageBytes = out.image.bytes.length
    let image: GeneratedImage | null = out.image
    const storeAndComplete = async () => {
      try {
        const { stored, thumbnail, released } = await this.deps.runner.store(image!, cacheKey, providerMs)
        image = null
        // its memory comes back at a full collection once the proxy is idle (server/memory.ts), after
        // the variants' decode that may have started from it
        void released.then(() => noteImageDropped(imageBytes))
        this.track(thumbnail)
        if (ctrl.signal.aborted) return this.release(batchId, n, ctrl)
        await this.complete(batchId, n, ctrl, stored, started, imageBytes)
      } catch (err) {
        await this.onError(batchId, n, ctrl, err, started)
      }
    }
    // The upstream call is over: free the slot now and store the image alongside the next call
    // (MAX_CONCURRENT_GENERATIONS limits upstream calls, not local image work). A durable scheduler
    // keeps the page safe meanwhile (detach: BullMQ holds the job as a delayed one until the outcome
    // is committed; another replica runs the page if this one dies); without detach the job is held
    // until then. No more images wait to be stored than calls may run: when storing is slower than
    // the upstream (a loaded machine, a slow disk), the job keeps its slot until its image is stored,
    // so answered images (each holding its bytes) do not pile up.
    const detach = this.deps.scheduler.durable ? feedback?.detach : async () => async () => {}
    const done = detach && this.storingDetached < this.deps.scheduler.concurrency ? await detach().catch(() => null) : null
    if (!done) await storeAndComplete()
    else {
      this.storingDetached++
      this.track(storeAndComplete().finally(() => {
        this.storingDetached--
        return done()
      }))
    }
  }

  /**
   * true when the page's call does not fit the spend budget now: the job is put back, delayed, without
   * claiming the page. The first time, the page says so (pending, waiting_for_budget, when the budget
   * allows it) and so does the batch's progress; later looks change nothing the client sees unless
   * that moment moved by more than BUDGET_RESUME_SLACK_MS (a refund, another batch's charge, a new day).
   */
  private async waitsForBudget(job: AttemptJob): Promise<boolean> {
    if (!this.deps.budgetWait) return false
    const s = await this.deps.store.get(job.batchId)
    const page = s?.pages[job.pageNumber - 1]
    if (!s || !page || s.status === 'cancelled' || (page.status !== 'pending' && page.status !== 'generating')) return false
    const wait = await this.deps.budgetWait(s.client, s.options.resolution)
    if (wait.recheckMs <= 0) return false
    const resumesAt = this.deps.now() + wait.resumesInMs
    const moved = page.budget_resumes_at === undefined || Math.abs(page.budget_resumes_at - resumesAt) > BUDGET_RESUME_SLACK_MS
    if (!page.budget_wait || page.status !== 'pending' || moved) {
      const ctx = await this.deps.estimateContext()
      const r = await this.deps.store.mutate(job.batchId, (rec, emit) => {
        const p = rec.pages[job.pageNumber - 1]
        if (rec.status === 'cancelled' || (p.status !== 'pending' && p.status !== 'generating')) return false
        // a retry waiting out its backoff is 'generating': it waits as pending (nothing runs for it)
        p.status = 'pending'
        delete p.retry_at
        p.budget_wait = true
        p.budget_resumes_at = resumesAt
        emitPage(emit, p, this.deps.imageUrl)
        emitProgress(rec, emit, ctx)
        return true
      })
      if (r?.value) this.deps.bus.publish(job.batchId, r.events)
    }
    await this.enqueue(job.batchId, job.pageNumber, { front: true, delayMs: wait.recheckMs })
    return true
  }

  /** imageBytes: null when the duplicate cache answered */
  private async complete(batchId: string, n: number, ctrl: AbortController, stored: CacheEntry, started: number, imageBytes: number | null): Promise<void> {
    const ctx = await this.deps.estimateContext()
    const r = await this.deps.store.mutate(batchId, (s, emit) => {
      const page = s.pages[n - 1]
      if (page.status !== 'generating') return null
      page.status = 'completed'
      page.image_key = stored.image_key
      page.thumbnail_key = stored.thumbnail_key
      if (stored.shortened) page.shortened = true
      else delete page.shortened
      page.error_message = null
      page.error_code = null
      page.bypass_cache = false
      page.previous_image_key = null
      delete page.quota_since
      return settlePage(s, page, emit, ctx, this.deps.imageUrl)
    }, { durable: true }) // the client hears 'completed' only once the state saying so is on disk
    this.release(batchId, n, ctrl)
    if (!r?.value) return
    const done = { ...pageFields(r.record, r.record.pages[n - 1], this.deps.runner.model), duration_ms: this.deps.now() - started, image_bytes: imageBytes, cached: imageBytes === null }
    this.deps.logger.info('page completed', done)
    this.deps.lifecycle?.pageCompleted?.(done)
    await this.afterSettle(r.record, r.events, r.value)
  }

  private async onError(batchId: string, n: number, ctrl: AbortController, err: unknown, started: number, holdUntil?: number): Promise<void> {
    const aborted = ctrl.signal.aborted
    if (this.closed && aborted) {
      // shutdown: a durable queue gives the page to another replica now; otherwise restart recovery
      if (this.deps.scheduler.durable) await this.deps.scheduler.enqueue({ batchId, pageNumber: n }, { front: true }).catch(() => undefined)
      return this.release(batchId, n, ctrl)
    }
    const ctx = await this.deps.estimateContext()
    let decision: Decision | null = null
    const r = await this.deps.store.mutate(batchId, (s, emit) => {
      const page = s.pages[n - 1]
      decision = null
      if (page.status !== 'generating') return null // cancelled meanwhile: already reported
      const used = page.auto_retries ?? 0
      const now = Date.now()
      const quota = holdUntil !== undefined ? { holdUntil, since: page.quota_since ?? now, now } : undefined
      const d = this.deps.runner.decide(err, used, aborted, page.last_answer_shape, quota)
      decision = d
      const shape = err instanceof ProviderError ? err.answerShape : undefined
      if (shape) page.last_answer_shape = shape
      else delete page.last_answer_shape
      if (d.action === 'wait_quota' && quota) {
        // "slow down", not "this page failed": waiting again, no retry used
        page.quota_since = quota.since
        page.status = 'pending'
        emitPage(emit, page, this.deps.imageUrl)
        emitProgress(s, emit, ctx)
        return null
      }
      if (d.action === 'wait_budget') {
        // the budget does not allow the call yet: waiting, not failing; no retry used
        page.status = 'pending'
        page.budget_wait = true
        emitPage(emit, page, this.deps.imageUrl)
        emitProgress(s, emit, ctx)
        return null
      }
      delete page.quota_since
      if (d.action === 'retry') {
        page.auto_retries = used + 1
        page.retry_count++
        page.retry_at = now + d.delayMs
        emitPage(emit, page, this.deps.imageUrl)
        return null
      }
      if (d.action === 'cancelled') {
        page.status = 'cancelled'
      } else if (d.action === 'fail') {
        page.status = 'failed'
        page.error_code = d.code
        page.error_message = d.message
      } else {
        return null
      }
      return settlePage(s, page, emit, ctx, this.deps.imageUrl)
    })
    this.release(batchId, n, ctrl)
    const d = decision as Decision | null
    if (!r || !d) return
    if (d.action === 'wait_quota') {
      this.deps.logger.warn('page rate limited, waiting for quota', { batch: batchId, page: n, wait_ms: d.waitMs })
      this.deps.bus.publish(batchId, r.events)
      await this.enqueue(batchId, n, { front: true })
      return
    }
    if (d.action === 'wait_budget') {
      this.deps.bus.publish(batchId, r.events)
      await this.enqueue(batchId, n, { front: true, delayMs: d.waitMs })
      return
    }
    const f = pageFields(r.record, r.record.pages[n - 1], this.deps.runner.model)
    const durationMs = this.deps.now() - started
    if (d.action === 'retry') {
      const retrying = { ...f, error_code: d.code, delay_ms: d.delayMs, duration_ms: durationMs }
      this.deps.logger.warn('page attempt failed, retrying', retrying)
      this.deps.lifecycle?.pageRetrying?.(retrying)
      this.deps.bus.publish(batchId, r.events)
      await this.enqueue(batchId, n, { front: true, delayMs: d.delayMs })
      return
    }
    if (d.action === 'fail') {
      const failed = { ...f, error_code: d.code, error_kind: d.kind, duration_ms: durationMs }
      this.deps.logger.warn('page failed', failed)
      this.deps.lifecycle?.pageFailed?.(failed)
    }
    if (d.action === 'cancelled' && r.value) this.deps.lifecycle?.pagesCancelled?.(r.record, 1)
    if (r.value) await this.afterSettle(r.record, r.events, r.value)
  }

  private release(batchId: string, n: number, ctrl: AbortController): void {
    const local = this.controllers.get(batchId)
    if (local?.get(n) !== ctrl) return
    local.delete(n)
    if (local.size === 0) this.controllers.delete(batchId)
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch(err => {
      this.deps.logger.error('could not finish a page', { error: err instanceof Error ? err.message : String(err) })
    })
    this.writes.add(tracked)
    void tracked.finally(() => this.writes.delete(tracked))
  }
}
