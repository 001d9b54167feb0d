// The progress window's page thumbnails. The proxy answers a thumbnail still being made at once with
// 404 `not_ready` (docs/api.md) instead of holding the request open on its image worker — browsers
// allow six connections per host, shared with the event stream and the images the editor loads. So
// a thumbnail that fails to load is hidden (no broken-image icon), asked for again a little later
// under a new URL (`?try=n`: the browser must not reuse the failed answer), a few times, then left out.
import { reactive } from 'vue'

/** pauses before each new try, ms: about half a minute in all */
export const THUMBNAIL_RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15_000]

export interface ThumbnailRetry {
  /** the URL to show for `url` now (with `?try=n` after a failed try), or null while waiting to try again or once given up */
  src(url: string): string | null
  /** the <img> for `url` failed to load: ask again after the next pause */
  failed(url: string): void
  /** cancel the pending tries (the component goes away) */
  stop(): void
}

export function createThumbnailRetry(delaysMs: number[] = THUMBNAIL_RETRY_DELAYS_MS, schedule: (run: () => void, ms: number) => unknown = setTimeout, cancel: (timer: unknown) => void = t => clearTimeout(t as ReturnType<typeof setTimeout>)): ThumbnailRetry {
  /** tries made so far beyond the first, by URL; -1 once given up */
  const tries = reactive(new Map<string, number>())
  /** failed, waiting for the next try: not shown meanwhile */
  const hidden = reactive(new Set<string>())
  const waiting = new Map<string, unknown>()
  return {
    src(url) {
      const n = tries.get(url) ?? 0
      if (n < 0 || hidden.has(url)) return null
      return n === 0 ? url : `${url}${url.includes('?') ? '&' : '?'}try=${n}`
    },
    failed(url) {
      if (waiting.has(url)) return
      const n = tries.get(url) ?? 0
      if (n < 0) return
      if (n >= delaysMs.length) {
        tries.set(url, -1)
        return
      }
      hidden.add(url)
      waiting.set(url, schedule(() => {
        waiting.delete(url)
        tries.set(url, n + 1)
        hidden.delete(url)
      }, delaysMs[n]))
    },
    stop() {
      for (const timer of waiting.values()) cancel(timer)
      waiting.clear()
    },
  }
}
