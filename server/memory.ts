// Giving large image buffers back once the proxy is idle.
//
// A 2K/4K answer's image (7–30 MB) lives outside V8's heap; its memory is returned only when V8
// collects the small Buffer object holding it. Those objects usually live long enough (network,
// disk writes) to reach the old generation, which V8 collects rarely while the heap itself is small:
// measured with the realistic benchmark, RSS stayed at its batch peak (e.g. 292 → 476 MB for five 4K
// pages) long after the batch, and went back to 297 MB with one full collection. So once images have
// been stored (their buffers are garbage) and for IDLE_MS no other was and no answer is being read,
// one full collection runs (~10–30 ms on a quiet machine; upstream calls may still be waiting, which
// it does not delay). Node has no API for this; `--expose-gc` set at run time
// with a fresh context's `gc` is the documented V8 flag route (node:v8 setFlagsFromString). Where it
// is not available nothing happens (V8 collects on its own schedule, as before).
import v8 from 'node:v8'
import vm from 'node:vm'

/** quiet time after the last image was stored before collecting, ms */
export const IDLE_MS = 2000
/** images below this total since the last collection are left to V8 */
export const MIN_BYTES = 48 * 1024 * 1024

/** run at an idle collection before it: each drops what it keeps for reuse and returns the bytes dropped */
const idleHooks = new Set<() => number>()

let collect: (() => void) | null | undefined
let pendingBytes = 0
let timer: NodeJS.Timeout | null = null
/** answers being read now: a collection waits until none is (it would delay their chunks) */
let reading = 0

function fullGc(): (() => void) | null {
  if (collect === undefined) {
    try {
      const exposed = (globalThis as { gc?: () => void }).gc
      if (exposed) collect = exposed
      else {
        v8.setFlagsFromString('--expose-gc')
        collect = vm.runInNewContext('gc') as () => void
      }
    }
    catch {
      collect = null
    }
  }
  return collect
}

/**
 * Notes that an image of `bytes` was stored and its buffer dropped; IDLE_MS after the last such note,
 * if at least MIN_BYTES were noted, one full collection runs. The timer never keeps the process alive.
 */
export function noteImageDropped(bytes: number): void {
  pendingBytes += bytes
  arm()
}

/** An answer body starts (+1) or stops (-1) being read; collections wait for none to be read. */
export function noteReading(delta: 1 | -1): void {
  reading += delta
  if (delta === 1 && timer) {
    clearTimeout(timer)
    timer = null
  }
  if (reading === 0 && pendingBytes >= MIN_BYTES) arm()
}

/**
 * Registers `hook` to run when the proxy goes idle, just before the collection (e.g. a buffer pool
 * dropping its free buffers, so they are given back with the rest): it returns the bytes it dropped,
 * which count towards MIN_BYTES. Returns a function that unregisters it.
 */
export function onIdle(hook: () => number): () => void {
  idleHooks.add(hook)
  return () => idleHooks.delete(hook)
}

function arm(): void {
  if (timer) clearTimeout(timer)
  timer = setTimeout(() => {
    timer = null
    if (reading > 0) return
    for (const hook of idleHooks) pendingBytes += hook()
    if (pendingBytes < MIN_BYTES) return
    pendingBytes = 0
    fullGc()?.()
  }, IDLE_MS)
  timer.unref()
}
