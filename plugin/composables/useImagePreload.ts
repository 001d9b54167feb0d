// A slide's elements are removed only once its image has loaded in the browser: never a blank slide.
// The image is fetched by a plain <img> (the browser then has it in its cache for the slide), and
// while it cannot be had (proxy restarting, network gone) it is tried again with growing pauses.

const LOAD_TIMEOUT_MS = 30_000

/** Resolves when the browser has loaded (and decoded) `src`; rejects on error or after 30 s. */
export function preloadImage(src: string, timeoutMs = LOAD_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const img = new Image()
    const timer = setTimeout(() => {
      img.src = ''
      reject(new Error(`image did not load within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    img.onload = () => {
      clearTimeout(timer)
      // decode() puts it in the decoded-image cache; a decode failure is still a loaded image
      const decoded = typeof img.decode === 'function' ? img.decode().catch(() => undefined) : Promise.resolve()
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
