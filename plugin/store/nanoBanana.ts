// The extension's own state: dialog / float visibility and the running batch, page by page.
import { defineStore } from 'pinia'
import type { BatchStatus, GenerationMode, PageResult } from '../types/api'
import type { UserError } from '../api/errors'

/** A page as the float shows it: the proxy's result, plus what only the editor knows. */
export interface PageView extends Omit<PageResult, 'error_code'> {
  error_code: string | null
  /** the slide was deleted while the page was generating: its result is not applied */
  skipped: boolean
  /** the user put the editable slide back (restore): its image is no longer on the slide */
  restored: boolean
  /**
   * the slide shows this page's image: set once the browser has loaded it and the slide was updated
   * (a page the proxy finished is not on the slide yet while its image loads, or cannot be loaded)
   */
  applied: boolean
}

export type Transport = 'sse' | 'polling'
/** 'reconnecting' while the proxy cannot be reached during a batch (no progress, no time estimate) */
export type Connection = 'ok' | 'reconnecting'

export interface NanoBananaState {
  dialogVisible: boolean
  floatVisible: boolean
  floatMinimised: boolean
  batchId: string | null
  status: BatchStatus | null
  mode: GenerationMode
  pages: PageView[]
  remainingSeconds: number | null
  /** the proxy holds calls back until the upstream's rate limit frees */
  waitingForQuota: boolean
  /** pages wait for the proxy's spend budget (they run when it allows) */
  waitingForBudget: boolean
  /** while waiting for budget: when the proxy expects it to allow the next page (ms since epoch, this clock); null when unknown */
  budgetResumesAt: number | null
  transport: Transport | null
  connection: Connection
  error: UserError | null
}

const TERMINAL: BatchStatus[] = ['completed', 'partial', 'failed', 'cancelled']

export function isTerminalStatus(status: BatchStatus | null): boolean {
  return !!status && TERMINAL.includes(status)
}

export const useNanoBananaStore = defineStore('nanoBanana', {
  state: (): NanoBananaState => ({
    dialogVisible: false,
    floatVisible: false,
    floatMinimised: false,
    batchId: null,
    status: null,
    mode: 'full',
    pages: [],
    remainingSeconds: null,
    waitingForQuota: false,
    waitingForBudget: false,
    budgetResumesAt: null,
    transport: null,
    connection: 'ok',
    error: null,
  }),

  getters: {
    total: state => state.pages.length,
    /** pages applied to their slide (a finished page whose slide was deleted is skipped, not done) */
    doneCount: state => state.pages.filter(p => p.status === 'completed' && !p.skipped).length,
    /** pages whose slide was deleted meanwhile: not applied */
    skippedCount: state => state.pages.filter(p => p.skipped).length,
    failedCount: state => state.pages.filter(p => p.status === 'failed' && !p.skipped).length,
    /** pages no longer waiting or drawing */
    settledCount: state => state.pages.filter(p => p.status !== 'pending' && p.status !== 'generating').length,
    /**
     * pages the progress bar, percentage and "n / m" count: settled ones while running or finished,
     * but only the pages actually done once the batch was cancelled (its cancelled pages never ran)
     */
    progressCount(): number {
      return this.status === 'cancelled' ? this.doneCount : this.settledCount
    },
    percentage(): number {
      return this.total ? Math.round(this.progressCount / this.total * 100) : 0
    },
    isRunning: state => !!state.batchId && !isTerminalStatus(state.status),
    isFinished: state => isTerminalStatus(state.status),
  },

  actions: {
    openDialog() {
      this.dialogVisible = true
    },
    closeDialog() {
      this.dialogVisible = false
    },
    startBatch(batchId: string, mode: GenerationMode, pages: { slide_id: string }[]) {
      this.batchId = batchId
      this.status = 'pending'
      this.mode = mode
      this.error = null
      this.remainingSeconds = null
      this.waitingForQuota = false
      this.waitingForBudget = false
      this.budgetResumesAt = null
      this.transport = null
      this.connection = 'ok'
      this.pages = pages.map((page, i) => ({
        page_number: i + 1,
        slide_id: page.slide_id,
        status: 'pending',
        image_url: null,
        thumbnail_url: null,
        error_message: null,
        error_code: null,
        retry_count: 0,
        skipped: false,
        restored: false,
        applied: false,
      }))
      this.floatVisible = true
      this.floatMinimised = false
    },
    /** merge one page result from the proxy; returns the stored page */
    upsertPage(result: PageResult): PageView {
      let page = this.pages.find(p => p.page_number === result.page_number)
      if (!page) {
        page = {
          page_number: result.page_number, slide_id: result.slide_id, status: result.status,
          image_url: null, thumbnail_url: null, error_message: null, error_code: null, retry_count: 0, skipped: false, restored: false, applied: false,
        }
        this.pages.push(page)
        this.pages.sort((a, b) => a.page_number - b.page_number)
        page = this.pages.find(p => p.page_number === result.page_number) as PageView
      }
      page.slide_id = result.slide_id || page.slide_id
      page.status = result.status
      // a new image (a retry, a revision) is not on the slide until it has loaded too
      if (result.image_url !== page.image_url) page.applied = false
      page.image_url = result.image_url
      page.thumbnail_url = result.thumbnail_url
      page.error_message = result.error_message
      page.error_code = result.error_code ?? null
      page.retry_count = result.retry_count
      return page
    },
    markSkipped(pageNumber: number) {
      const page = this.pages.find(p => p.page_number === pageNumber)
      if (page) page.skipped = true
    },
    markRestored(pageNumber: number) {
      const page = this.pages.find(p => p.page_number === pageNumber)
      if (page) page.restored = true
    },
    /**
     * After undo/redo: a page whose image reached its slide reads "restored" exactly when its slide
     * no longer holds a kept source (`generated` answers for a slide id; null: the slide is gone).
     */
    syncRestored(generated: (slideId: string) => boolean | null) {
      for (const page of this.pages) {
        if (page.status !== 'completed' || page.skipped || !page.applied) continue
        const now = generated(page.slide_id)
        if (now !== null) page.restored = !now
      }
    },
    /** the slide now shows the page's image */
    markApplied(pageNumber: number) {
      const page = this.pages.find(p => p.page_number === pageNumber)
      if (page) page.applied = true
    },
    markPending(pageNumbers: number[]) {
      for (const page of this.pages) {
        if (pageNumbers.includes(page.page_number)) {
          page.status = 'pending'
          page.restored = false
          page.applied = false
          page.error_message = null
          page.error_code = null
        }
      }
      if (this.status && isTerminalStatus(this.status)) this.status = 'generating'
    },
    setStatus(status: BatchStatus) {
      this.status = status
    },
    setRemaining(seconds: number | null) {
      this.remainingSeconds = seconds
    },
    setWaitingForQuota(waiting: boolean) {
      this.waitingForQuota = waiting
    },
    /** `resumesInSeconds`: the proxy's budget_resumes_in_seconds, when it gives one */
    setWaitingForBudget(waiting: boolean, resumesInSeconds?: number | null) {
      this.waitingForBudget = waiting
      this.budgetResumesAt = waiting && typeof resumesInSeconds === 'number' && Number.isFinite(resumesInSeconds)
        ? Date.now() + Math.max(0, resumesInSeconds) * 1000
        : null
    },
    setTransport(transport: Transport | null) {
      this.transport = transport
    },
    setConnection(connection: Connection) {
      this.connection = connection
    },
    setError(error: UserError | null) {
      this.error = error
    },
    closeFloat() {
      this.floatVisible = false
      if (!this.isRunning) {
        this.batchId = null
        this.status = null
        this.pages = []
        this.error = null
      }
    },
  },
})

export type NanoBananaStore = ReturnType<typeof useNanoBananaStore>
