// Runs one batch end to end: create it, follow its events (SSE, polling as fallback), apply each
// finished page to its slide as soon as it lands (once), group all changes into one undo step,
// retry and cancel. Components share one controller per app (see `useBatchGeneration`).
import { effectScope, inject, type InjectionKey } from 'vue'
import { isAxiosError } from 'axios'
import type { ApiErrorBody, BatchOptions, BatchProgress, HealthResponse, PageResult } from '../types/api'
import { createProxyApi, type ProxyApi } from '../api/client'
import { toUserError, type UserError } from '../api/errors'
import { resolveServerUrl, useNanoBananaConfig, type NanoBananaConfig } from '../config'
import { translate, type Translate } from '../i18n/messages'
import { computeSlideUpdate, restoreSlideUpdate } from '../host/applyResult'
import { DEFAULT_PAGE_LIMITS, slideToPageInput, type PageLimits } from '../host/extractText'
import { createDeckHost, HostNotFoundError, resolveHostStores, type DeckHost } from '../host/pptistHost'
import { createHistoryGroup, type HistoryGroup } from '../host/historyGroup'
import { trackDeckChanges, type DeckChangeOptions, type DeckChangeTracker } from '../host/historyTracker'
import { isTerminalStatus, useNanoBananaStore, type NanoBananaStore } from '../store/nanoBanana'
import { embedAsJpeg, embedVariantUrl, looksLikeWebp } from './useEmbedImage'
import { loadImagePixels, regionsUnder, type ImagePixels } from './useImageLuminance'
import { createProgressiveLoader, loadWithRetry, preloadImage } from './useImagePreload'
import { readableOnBackground } from '../host/readableText'
import { withRunChanges } from '../host/slideSource'
import { followBatchEvents, type BatchEvent } from './useEventStream'
import { API_KEY } from './useProxyApi'
import { useProgressPolling } from './useProgressPolling'

export interface StartBatchInput {
  templateId: string
  /** slides to generate, in deck order */
  slideIds: string[]
  options: BatchOptions
  /** inline a compressed JPEG instead of linking the proxy's URL */
  embed: boolean
}

export interface BatchControllerDeps {
  api: ProxyApi
  serverUrl: string
  apiBase: string
  token?: string
  store: NanoBananaStore
  host: () => DeckHost
  t: Translate
  embed?: (url: string) => Promise<string>
  /** background mode: the image's pixels, to keep the slide's text readable on it (null: leave text as is) */
  loadPixels?: (src: string) => Promise<ImagePixels | null>
  /**
   * resolves once the browser has the image (retrying while it cannot be had); a slide's elements
   * are replaced only after that. Absent: apply at once (tests, hosts without a DOM).
   */
  preloadImage?: (src: string) => Promise<void>
  /**
   * URL mode with `preloadImage`: loads the proxy's compact JPEG of a page (one try, high priority),
   * which the slide shows until the full image has loaded. Absent: the slide waits for the full image.
   */
  preloadPreview?: (src: string) => Promise<void>
  fetchImpl?: typeof fetch
  pollIntervalMs?: number
  sseRetryDelayMs?: number
}

export interface BatchController {
  start(input: StartBatchInput): Promise<boolean>
  cancel(): Promise<void>
  /** a failed page again, or a finished one revised with an instruction (its image goes along as reference) */
  retryPage(pageNumber: number, instruction?: string): Promise<void>
  retryFailed(): Promise<void>
  jumpTo(pageNumber: number): boolean
  /**
   * Whether the slide of this page is still in the deck (reactive where the host's deck is): a page
   * whose slide the user deleted offers nothing — a revision of it would be paid and thrown away.
   */
  slideExists(pageNumber: number): boolean
  /**
   * The editable slide back for these finished pages (all of them when omitted): original elements,
   * background and notes, image removed — one undo step. Returns how many slides were restored.
   */
  restore(pageNumbers?: number[]): Promise<number>
  /** resolves when every page result received so far has been applied and the undo step closed */
  settled(): Promise<void>
  /** start noticing deck changes made without a snapshot (call early, e.g. when the 🍌 button mounts) */
  watchHistory(): void
  dispose(): void
}

const MAX_RESUMES = 3

/** The per-page limits a proxy announces in its health answer, with the defaults for what it leaves out. */
export function pageLimitsOf(health: HealthResponse | null | undefined): PageLimits & { maxDeckTitleChars: number } {
  const l = health?.limits
  const positive = (value: unknown, fallback: number) => (typeof value === 'number' && value > 0 ? Math.floor(value) : fallback)
  return {
    maxPageTextChars: positive(l?.max_page_text_chars, DEFAULT_PAGE_LIMITS.maxPageTextChars),
    maxTextBoxes: positive(l?.max_text_boxes, DEFAULT_PAGE_LIMITS.maxTextBoxes),
    maxDeckTitleChars: positive(l?.max_deck_title_chars, 500),
  }
}

/**
 * A User Timing mark (what test/bench/editor.ts reads: a page's event arriving → its image loaded in
 * the browser → its slide updated), `detail` the page number. Nothing where the Performance API is missing.
 */
function mark(name: string, pageNumber: number, url?: string): void {
  if (typeof performance !== 'undefined' && typeof performance.mark === 'function') performance.mark(name, { detail: url ? { page: pageNumber, url } : pageNumber })
}

const clipText = (text: string, max: number) => (text.length > max ? text.slice(0, max) : text)

export function createBatchController(deps: BatchControllerDeps): BatchController {
  const { store, api, t } = deps
  let host: DeckHost | null = null
  let history: HistoryGroup = createHistoryGroup(null)
  let tracker: DeckChangeTracker | null = null
  let embed = false
  let streamAbort: AbortController | null = null
  let lastEventId: string | undefined
  let following = false
  let applyChain: Promise<void> = Promise.resolve()
  let finishing: Promise<void> = Promise.resolve()
  // times a `done` with pages still waiting here led to asking the proxy again (see finishOrResume)
  let resumes = 0
  // page_number|image_url of results already applied or being applied: replays are no-ops.
  const appliedKeys = new Set<string>()
  // slides showing a page's preview until its full image has loaded (see swapToFull)
  const pendingSwaps = new Set<Promise<void>>()
  const progressiveLoader = deps.preloadImage && deps.preloadPreview ? createProgressiveLoader(deps.preloadImage, deps.preloadPreview) : null

  const polling = useProgressPolling({
    intervalMs: deps.pollIntervalMs ?? 2000,
    fetchProgress: () => api.progress(store.batchId as string),
    onProgress: progress => {
      store.setError(null)
      store.setConnection('ok')
      handleProgress(progress)
      if (isTerminalStatus(progress.status)) {
        void finish()
        return true
      }
      return false
    },
    onError: error => {
      const status = isAxiosError(error) ? error.response?.status : undefined
      // no answer (or a gateway's 502/503/504 for it): the proxy is restarting or the network is
      // gone — say so, keep asking
      const userError = toUserError(error, t, deps.serverUrl)
      if (userError.kind === 'unreachable') store.setConnection('reconnecting')
      else store.setError(userError)
      if (status === 401 || status === 404) {
        void finish()
        return true
      }
      return false
    },
  })

  function handlePage(result: PageResult) {
    const page = store.upsertPage(result)
    if (page.status === 'generating' && store.status === 'pending') store.setStatus('generating')
    if (page.status === 'completed' && page.image_url) applyPage(page.page_number, page.slide_id, page.image_url)
  }

  function handleProgress(progress: BatchProgress) {
    store.setStatus(progress.status)
    store.setRemaining(progress.estimated_remaining_time ?? null)
    store.setWaitingForQuota(!!progress.waiting_for_quota)
    store.setWaitingForBudget(!!progress.waiting_for_budget, progress.budget_resumes_in_seconds)
    for (const result of progress.results) handlePage(result)
  }

  function handleEvent(event: BatchEvent) {
    if (event.type === 'snapshot') handleProgress(event.data)
    else if (event.type === 'page') handlePage(event.data)
    else if (event.type === 'progress') {
      store.setRemaining(event.data.estimated_remaining_time ?? null)
      store.setWaitingForQuota(!!event.data.waiting_for_quota)
      store.setWaitingForBudget(!!event.data.waiting_for_budget, event.data.budget_resumes_in_seconds)
      if (store.status === 'pending' && event.data.completed_pages + event.data.failed_pages < event.data.total_pages) store.setStatus('generating')
    }
    else if (event.type === 'done') store.setStatus(event.data.status)
  }

  function applyPage(pageNumber: number, slideId: string, imageUrl: string) {
    const key = `${pageNumber}|${imageUrl}`
    if (appliedKeys.has(key)) return
    appliedKeys.add(key)
    const absolute = resolveServerUrl(deps.serverUrl, imageUrl)
    mark('nb:page-event', pageNumber, absolute)
    // Fetch/encode outside the chain so pages embed in parallel; apply strictly in arrival order.
    // Embedding that fails falls back to the URL, except for WebP, which must never reach the deck.
    const webp = looksLikeWebp(absolute)
    const source = (embed || webp) && deps.embed
      ? deps.embed(absolute).catch(error => {
        if (webp) throw error
        return absolute
      })
      : Promise.resolve(absolute)
    source.catch(() => undefined) // handled in the chain below; avoids an unhandled-rejection report meanwhile
    const mode = store.mode
    // Loaded alongside, like the embedding; an image that cannot be read just leaves the text alone.
    const loadPixels = deps.loadPixels
    const pixels = mode === 'background' && loadPixels
      ? source.then(src => loadPixels(src)).catch(() => null)
      : Promise.resolve(null)
    const preload = deps.preloadImage
    // URL mode: the proxy's compact JPEG (ready about when the event is sent) shows first, the full
    // image replaces it once loaded — both before anything is removed from the slide
    const preview = !embed && !webp ? embedVariantUrl(absolute) : null
    const progressive = preview && progressiveLoader ? progressiveLoader(absolute, preview) : null
    const loaded = progressive ? progressive.first : preload ? source.then(src => preload(src).then(() => src)) : source
    loaded.catch(() => undefined)
    applyChain = applyChain.then(async () => {
      let src: string
      try {
        src = await loaded
      }
      catch (error) {
        // the image never loaded: the slide stays as it is; a later snapshot may bring it again
        appliedKeys.delete(key)
        throw error
      }
      mark('nb:image-ready', pageNumber)
      const image = await pixels
      const deck = host
      if (!deck) return
      const slide = deck.findSlide(slideId)
      if (!slide) {
        store.markSkipped(pageNumber) // deleted while generating: never resurrect it
        return
      }
      const update = computeSlideUpdate(slide, {
        mode, src, remarkHeader: t('remarkHeader'),
        viewportWidth: deck.viewportWidth(), viewportRatio: deck.viewportRatio(),
      })
      if (image) {
        const width = deck.viewportWidth()
        const height = width * deck.viewportRatio()
        const base = update.elements ?? slide.elements
        const readable = readableOnBackground(base, box => regionsUnder(image, box, width, height))
        if (readable) {
          update.elements = readable
          // kept so that restore and a later run can take these colours off again (host/slideSource.ts)
          if (update.nanoBananaSource) update.nanoBananaSource = withRunChanges(update.nanoBananaSource, base, readable)
        }
      }
      // One updateSlide per page: the new background and any text colour changes are one undo step.
      if (deck.updateSlide(slideId, update)) {
        mark('nb:slide-updated', pageNumber)
        store.markApplied(pageNumber)
        await history.record()
        if (update.remark !== undefined) await deck.refreshNotes(slideId)
        if (progressive && src !== absolute) swapToFull(pageNumber, slideId, src, progressive.full)
      }
    }).catch(error => {
      store.setError(toUserError(error, t, deps.serverUrl))
    })
  }

  /**
   * The slide shows `preview`: once `full` has loaded, its background takes the full image, in the
   * batch's undo step (the batch's end waits for these). Left as is when the background changed
   * meanwhile (a user edit, a later page, a restore), or when the full image never loads.
   */
  function swapToFull(pageNumber: number, slideId: string, preview: string, full: Promise<string>) {
    const group = history
    const swap = full.then(src => {
      const task = applyChain.then(async () => {
        const deck = host
        const background = deck?.findSlide(slideId)?.background
        if (!deck || background?.type !== 'image' || background.image?.src !== preview) return
        if (deck.updateSlide(slideId, { background: { ...background, image: { ...background.image, src } } })) {
          mark('nb:full-image', pageNumber)
          await group.record()
        }
      })
      applyChain = task.catch(error => store.setError(toUserError(error, t, deps.serverUrl)))
      return applyChain
    }, () => undefined)
    pendingSwaps.add(swap)
    void swap.finally(() => pendingSwaps.delete(swap))
  }

  /** A 400 naming `pages.<i>.…`: the slide's number in the deck, in the user's language. */
  function pageRefusal(error: unknown, slides: { id: string }[]): UserError | null {
    if (!isAxiosError(error) || error.response?.status !== 400) return null
    const body = error.response.data as Partial<ApiErrorBody> | undefined
    const details = Array.isArray(body?.error?.details) ? body.error.details as { path?: unknown; message?: unknown }[] : []
    for (const detail of details) {
      const match = /^pages\.(\d+)(?:\.|$)/.exec(String(detail.path ?? ''))
      const slide = match ? slides[Number(match[1])] : undefined
      if (!slide || !host) continue
      const n = host.slides().findIndex(s => s.id === slide.id) + 1
      return { kind: 'invalid', message: t('errPageInvalid', { n }), detail: String(detail.message ?? body?.error?.message ?? '') }
    }
    return null
  }

  function stopFollowing() {
    streamAbort?.abort()
    streamAbort = null
    polling.stop()
    following = false
  }

  function finish(): Promise<void> {
    stopFollowing()
    finishing = finishing.then(async () => {
      await applyChain
      // full images still loading for slides that show their preview: the undo step closes with them
      while (pendingSwaps.size) await Promise.all(pendingSwaps)
      await applyChain
      await history.end()
    })
    return finishing
  }

  function follow(batchId: string) {
    stopFollowing()
    following = true
    const abort = new AbortController()
    streamAbort = abort
    store.setTransport('sse')
    followBatchEvents({
      url: `${deps.apiBase}/slide-generations/batches/${encodeURIComponent(batchId)}/events`,
      token: deps.token,
      lastEventId,
      signal: abort.signal,
      fetchImpl: deps.fetchImpl,
      retryDelayMs: deps.sseRetryDelayMs,
      onEventId: id => {
        lastEventId = id
      },
      onConnection: state => {
        if (store.batchId === batchId) store.setConnection(state === 'open' ? 'ok' : 'reconnecting')
      },
      onEvent: event => {
        if (store.batchId === batchId) handleEvent(event)
      },
    }).then(outcome => {
      if (abort.signal.aborted && outcome !== 'done') return
      if (outcome === 'done') void finishOrResume(batchId)
      else if (outcome === 'unavailable' && store.batchId === batchId) {
        store.setTransport('polling')
        polling.start()
      }
    }).catch(() => {
      if (store.batchId === batchId && !abort.signal.aborted) {
        store.setTransport('polling')
        polling.start()
      }
    })
  }

  /**
   * The stream said `done`, but a page we asked to redo is still waiting here (a replay that ended on
   * an earlier `done`, a retry racing the stream's end): ask the proxy where things stand and keep
   * following if the batch is still going. Otherwise the batch is over.
   */
  async function finishOrResume(batchId: string) {
    const waiting = store.pages.some(p => p.status === 'pending' || p.status === 'generating')
    // bounded: a proxy that keeps saying `done` with pages it never reports is taken at its word
    if (waiting && resumes < MAX_RESUMES) {
      resumes++
      try {
        const progress = await api.progress(batchId)
        if (store.batchId !== batchId) return
        handleProgress(progress)
        if (!isTerminalStatus(progress.status)) {
          lastEventId = undefined
          follow(batchId)
          return
        }
      }
      catch {
        if (store.batchId !== batchId) return
        store.setTransport('polling')
        polling.start()
        return
      }
    }
    void finish()
  }

  /**
   * After a retry the proxy accepted: follow the batch again from a fresh snapshot (never from an old
   * event id: after a proxy restart, a reconnect or a closed stream, old ids may replay an earlier
   * `done`), so the redrawn page always reaches its slide.
   */
  async function followAgain() {
    if (!store.batchId) return
    if (!following) await history.begin()
    resumes = 0
    lastEventId = undefined
    follow(store.batchId)
  }

  const controller: BatchController = {
    async start(input) {
      store.setError(null)
      try {
        host = deps.host()
        // not watching yet (no 🍌 button mounted): from now on, at least
        if (!tracker) tracker = trackDeckChanges(host.stores, trackerOptions(host, store))
      }
      catch (error) {
        const detail = error instanceof HostNotFoundError ? error.message : String(error)
        store.setError({ kind: 'unknown', message: t('errHost', { detail }) })
        return false
      }
      const deck = host
      // the proxy's limits (an older proxy without them: its documented defaults)
      const limits = await api.health().then(health => pageLimitsOf(health), () => pageLimitsOf(null))
      const width = deck.viewportWidth()
      const viewport = input.options.mode === 'background' ? { width, height: width * deck.viewportRatio() } : undefined
      const slides = input.slideIds
        .map(id => deck.findSlide(id))
        .filter((slide): slide is NonNullable<typeof slide> => !!slide)
      const pages = slides.map(slide => slideToPageInput(slide, { limits, viewport }))
      try {
        const created = await api.createBatch({
          template_id: input.templateId,
          deck_title: clipText(deck.title(), limits.maxDeckTitleChars),
          pages,
          options: input.options,
        })
        stopFollowing()
        appliedKeys.clear()
        lastEventId = undefined
        resumes = 0
        embed = input.embed
        history = createHistoryGroup(deck.stores.snapshot, {
          changedSinceSnapshot: () => tracker?.changedSinceSnapshot() ?? false,
        })
        await history.begin()
        store.startBatch(created.batch_id, input.options.mode, pages)
        store.setStatus(created.status)
        store.setRemaining(created.estimated_time ?? null)
        follow(created.batch_id)
        return true
      }
      catch (error) {
        store.setError(pageRefusal(error, slides) ?? toUserError(error, t, deps.serverUrl))
        return false
      }
    },
    async cancel() {
      if (!store.batchId) return
      try {
        const progress = await api.cancel(store.batchId)
        handleProgress(progress)
        if (isTerminalStatus(progress.status)) await finish()
      }
      catch (error) {
        store.setError(toUserError(error, t, deps.serverUrl))
      }
    },
    async retryPage(pageNumber, instruction) {
      if (!store.batchId) return
      // its slide is gone: nothing to put the image on, so nothing is asked (or paid) for
      if (!controller.slideExists(pageNumber)) {
        store.markSkipped(pageNumber)
        return
      }
      const revision = instruction?.trim()
      try {
        if (revision) await api.retryPage(store.batchId, pageNumber, revision)
        else await api.retryPage(store.batchId, pageNumber)
        store.markPending([pageNumber])
        await followAgain()
      }
      catch (error) {
        store.setError(toUserError(error, t, deps.serverUrl))
      }
    },
    async retryFailed() {
      if (!store.batchId) return
      const failed = store.pages.filter(p => p.status === 'failed' && !p.skipped).map(p => p.page_number)
        .filter(n => controller.slideExists(n) || (store.markSkipped(n), false))
      let accepted = 0
      try {
        for (const pageNumber of failed) {
          await api.retryPage(store.batchId, pageNumber)
          store.markPending([pageNumber])
          accepted++
        }
      }
      catch (error) {
        store.setError(toUserError(error, t, deps.serverUrl))
      }
      // the pages the proxy accepted before one was refused still reach their slides
      if (accepted) await followAgain()
    },
    slideExists(pageNumber) {
      const page = store.pages.find(p => p.page_number === pageNumber)
      if (!page) return false
      const deck = host ?? safeHost(deps.host)
      return !deck || !!deck.findSlide(page.slide_id)
    },
    jumpTo(pageNumber) {
      const page = store.pages.find(p => p.page_number === pageNumber)
      if (!page) return false
      const deck = host ?? safeHost(deps.host)
      return !!deck && deck.goToSlide(page.slide_id)
    },
    restore(pageNumbers) {
      const task = applyChain.then(async () => {
        const deck = host ?? safeHost(deps.host)
        if (!deck) return 0
        const wanted = store.pages.filter(p => p.status === 'completed' && !p.skipped && !p.restored
          && (!pageNumbers || pageNumbers.includes(p.page_number)))
        const step = createHistoryGroup(deck.stores.snapshot, {
          changedSinceSnapshot: () => tracker?.changedSinceSnapshot() ?? false,
        })
        await step.begin()
        let restored = 0
        for (const page of wanted) {
          const slide = deck.findSlide(page.slide_id)
          const update = slide && restoreSlideUpdate(slide, t('remarkHeader'))
          if (!update || !deck.updateSlide(page.slide_id, update)) continue
          store.markRestored(page.page_number)
          restored++
          if (update.remark !== undefined) await deck.refreshNotes(page.slide_id)
        }
        // every slide restored here is one step: a single record after all of them
        if (restored) await step.record()
        await step.end()
        return restored
      })
      applyChain = task.then(() => undefined, () => undefined)
      return task
    },
    async settled() {
      await applyChain
      await finishing
    },
    watchHistory() {
      if (tracker) return
      const deck = host ?? safeHost(deps.host)
      if (deck) tracker = trackDeckChanges(deck.stores, trackerOptions(deck, store))
    },
    dispose() {
      stopFollowing()
      tracker?.stop()
      tracker = null
    },
  }
  return controller
}

// undo/redo of a batch swaps the notes of the slide on screen: make PPTist's notes panel show them;
// undo/redo of a restore (or of the batch) puts images back or takes them away: the float follows
function trackerOptions(deck: DeckHost, store: NanoBananaStore): DeckChangeOptions {
  return {
    notesRestored: slideId => {
      void deck.refreshNotes(slideId)
    },
    historyMoved: () => {
      store.syncRestored(slideId => {
        const slide = deck.findSlide(slideId)
        return slide ? !!slide.nanoBananaSource : null
      })
    },
  }
}

function safeHost(getHost: () => DeckHost): DeckHost | null {
  try {
    return getHost()
  }
  catch {
    return null
  }
}

export function createControllerFromConfig(config: NanoBananaConfig, store: NanoBananaStore, api?: ProxyApi): BatchController {
  const t: Translate = (key, params) => translate(config.locale, key, params)
  return createBatchController({
    api: api ?? createProxyApi(config.apiBase, config.token),
    serverUrl: config.serverUrl,
    apiBase: config.apiBase,
    token: config.token,
    store,
    t,
    host: () => createDeckHost(resolveHostStores(config.pinia, config.stores)),
    embed: url => embedAsJpeg(url),
    loadPixels: src => loadImagePixels(src),
    preloadImage: src => loadWithRetry(preloadImage, src),
    preloadPreview: src => preloadImage(src, { priority: 'high', skipDecode: true }),
  })
}

/** Holder provided by the plugin so every component shares the same running batch. */
export interface ControllerHolder {
  current: BatchController | null
}

export const CONTROLLER_KEY: InjectionKey<ControllerHolder> = Symbol('nano-banana-controller')

export function useBatchGeneration(): { controller: BatchController; store: NanoBananaStore } {
  const config = useNanoBananaConfig()
  const store = useNanoBananaStore(config.pinia)
  const holder = inject(CONTROLLER_KEY, null) ?? { current: null }
  // A detached scope: the controller (and its polling timer) outlives whichever component asked first.
  const api = inject(API_KEY, undefined)
  if (!holder.current) holder.current = effectScope(true).run(() => createControllerFromConfig(config, store, api)) ?? null
  if (!holder.current) throw new Error('Nano Banana: could not create the batch controller')
  return { controller: holder.current, store }
}
