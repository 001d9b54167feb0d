// A slide's elements are removed only once its image has loaded in the browser: never a blank slide.
// The image is fetched by a plain <img> (the browser then has it in its cache for the slide), and
// while it cannot be had (proxy restarting, network gone) it is tried again with growing pauses.

const LOAD_TIMEOUT_MS = 30_000

export interface PreloadOptions {
  /** ms before giving up (default 30 s) */
  timeoutMs?: number
  /** the browser's fetch priority for it (default: the browser's own, low for an image not in the DOM) */
  priority?: 'high' | 'low' | 'auto'
  /** resolve once loaded, without waiting for the decode (default: after decode()) */
  skipDecode?: boolean
}

/** Resolves when the browser has loaded (and decoded) `src`; rejects on error or after the timeout (30 s). */
export function preloadImage(src: string, options: PreloadOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? LOAD_TIMEOUT_MS
  return new Promise((resolve, reject) => {
    const img = new Image()
    // the attribute, not img.fetchPriority: PPTist's TypeScript 5.3 DOM types predate the property
    if (options.priority) img.setAttribute('fetchpriority', options.priority)
    const timer = setTimeout(() => {
      img.src = ''
      reject(new Error(`image did not load within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    img.onload = () => {
      clearTimeout(timer)
      // decode() puts it in the decoded-image cache; a decode failure is still a loaded image
      const decoded = typeof img.decode === 'function' && !options.skipDecode ? img.decode().catch(() => undefined) : Promise.resolve()
      void decoded.then(() => resolve())
    }
    img.onerror = () => {
      clearTimeout(timer)
      reject(new Error('image failed to load'))
    }
    img.src = src
  })
}

export interface RetryOptions {
  /** attempts in all (default 12: about 2 minutes of pauses) */
  attempts?: number
  /** first pause in ms, doubled each time up to `maxDelayMs` (defaults 1 s and 15 s) */
  delayMs?: number
  maxDelayMs?: number
  /** stop trying (batch replaced, controller disposed) */
  signal?: AbortSignal
}

/** `load(src)` until it works; rejects with the last error once `attempts` are used up or on abort. */
export async function loadWithRetry(load: (src: string) => Promise<void>, src: string, options: RetryOptions = {}): Promise<void> {
  const attempts = options.attempts ?? 12
  let delay = options.delayMs ?? 1000
  const maxDelay = options.maxDelayMs ?? 15_000
  let lastError: unknown
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (options.signal?.aborted) break
    try {
      await load(src)
      return
    }
    catch (error) {
      lastError = error
    }
    if (attempt < attempts) {
      await new Promise(resolve => setTimeout(resolve, delay))
      delay = Math.min(maxDelay, delay * 2)
    }
  }
  throw lastError ?? new Error('aborted')
}

export interface ProgressiveLoad {
  /** the first of `preview` and `full` the browser has; rejects (with the full image's error) when neither loads */
  first: Promise<string>
  /** `full` once loaded; rejects when it never loads */
  full: Promise<string>
}

export interface ProgressiveLoaderOptions {
  /** the longest a full image waits for previews still loading (ms; a preview may hang on a busy proxy) */
  headStartMs?: number
  /** the longest one full image holds the lane (ms): a slow or retrying one does not stop the others */
  maxHoldMs?: number
}

export type ProgressiveLoader = (full: string, preview: string) => ProgressiveLoad

/**
 * Loads compact previews of images (the proxy's embed JPEG: tens of KB against 7–30 MB of PNG,
 * decoded in a few ms) at once, and the images themselves one at a time, each once its own preview
 * has settled and while no other preview is loading (or after `headStartMs`): the browser takes in an
 * image's body and decodes it on the main thread, and five 7 MB PNGs arriving together would delay
 * the previews behind them by a few hundred ms. `loadPreview` gets one try (an older proxy has no
 * preview); `loadFull` is expected to retry on its own.
 */
export function createProgressiveLoader(loadFull: (src: string) => Promise<void>, loadPreview: (src: string) => Promise<void>, options: ProgressiveLoaderOptions = {}): ProgressiveLoader {
  const headStartMs = options.headStartMs ?? 1000
  const maxHoldMs = options.maxHoldMs ?? 5000
  /** previews loading and still within their head start */
  let previewsLoading = 0
  let laneBusy = false
  const waiting: Array<() => void> = []
  const pump = () => {
    if (laneBusy || previewsLoading > 0) return
    const next = waiting.shift()
    if (!next) return
    laneBusy = true
    next()
  }
  /** runs `load` when the lane is free; the lane is freed when it settles or after maxHoldMs */
  const inLane = (load: () => Promise<void>) => new Promise<void>((resolve, reject) => {
    waiting.push(() => {
      let released = false
      const release = () => {
        if (released) return
        released = true
        laneBusy = false
        pump()
      }
      const timer = setTimeout(release, maxHoldMs)
      load().then(resolve, reject).finally(() => {
        clearTimeout(timer)
        release()
      })
    })
    pump()
  })
  return (full, preview) => {
    previewsLoading++
    const previewLoaded = loadPreview(preview).then(() => preview)
    const headStart = new Promise<void>(resolve => {
      let done = false
      const end = () => {
        if (done) return
        done = true
        clearTimeout(timer)
        previewsLoading--
        resolve()
        pump()
      }
      const timer = setTimeout(end, headStartMs)
      void previewLoaded.then(end, end)
    })
    const fullLoaded = headStart.then(() => inLane(() => loadFull(full))).then(() => full)
    const first = new Promise<string>((resolve, reject) => {
      fullLoaded.then(resolve, error => previewLoaded.then(resolve, () => reject(error)))
      previewLoaded.then(resolve, () => undefined)
    })
    fullLoaded.catch(() => undefined)
    first.catch(() => undefined)
    return { first, full: fullLoaded }
  }
}
