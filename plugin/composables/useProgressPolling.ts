// Polling fallback: GET /progress every 2 s until the handler says the batch is over.
import { useIntervalFn } from '@vueuse/core'
import type { BatchProgress } from '../types/api'

export interface ProgressPollingOptions {
  fetchProgress(): Promise<BatchProgress>
  /** return true when polling should stop (batch over) */
  onProgress(progress: BatchProgress): boolean
  /** return true when polling should stop (the error will not go away) */
  onError(error: unknown): boolean
  intervalMs?: number
}

export function useProgressPolling(options: ProgressPollingOptions) {
  let inFlight = false
  const tick = async () => {
    if (inFlight) return // a slow response must not overlap the next one
    inFlight = true
    try {
      const progress = await options.fetchProgress()
      if (options.onProgress(progress)) pause()
    }
    catch (error) {
      if (options.onError(error)) pause()
    }
    finally {
      inFlight = false
    }
  }
  const { pause, resume, isActive } = useIntervalFn(tick, options.intervalMs ?? 2000, { immediate: false, immediateCallback: true })
  return { start: resume, stop: pause, isActive }
}
