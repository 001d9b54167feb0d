// One upstream call's signal: follows the caller's signal (cancel) and, optionally, our own deadline.
// Listeners on the caller's signal are removed when the call ends — a batch may share one long-lived
// signal across many calls, and leaving a listener per call behind leaks and triggers Node warnings.

export interface CallSignal {
  signal: AbortSignal
  /** true once our deadline (not the caller) aborted the call */
  timedOut(): boolean
  /** stops the timer and detaches from the caller's signal */
  dispose(): void
}

export function callSignal(parent: AbortSignal, timeoutMs?: number): CallSignal {
  const controller = new AbortController()
  let timedOut = false
  const onAbort = () => controller.abort(parent.reason)
  if (parent.aborted) controller.abort(parent.reason)
  else parent.addEventListener('abort', onAbort, { once: true })
  const timer = timeoutMs !== undefined && timeoutMs > 0
    ? setTimeout(() => {
      timedOut = true
      controller.abort(new DOMException(`The upstream call timed out after ${timeoutMs} ms`, 'TimeoutError'))
    }, timeoutMs)
    : undefined
  timer?.unref?.()
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose: () => {
      if (timer) clearTimeout(timer)
      parent.removeEventListener('abort', onAbort)
    },
  }
}
