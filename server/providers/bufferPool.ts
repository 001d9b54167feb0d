// Reusable buffers for the images decoded out of upstream answers (answerReader.ts).
//
// Why: a 2K answer's image is ~7.4 MB, a 4K one ~30 MB. A fresh buffer of that size is fresh memory
// the kernel has to provide page by page on first write (measured on this VM, 30 MB: ~10 ms of system
// time on a quiet machine, hundreds of ms under load), and each dead one waits for V8's next full
// collection before it is given back — so a burst of answers holds a dozen dead buffers at its peak.
// Buffers handed back once an image is stored are reused by the next answers instead.
//
// Ownership is explicit: acquire() gives a Lease; its owner calls release() once nothing reads the
// buffer (or any view of it) any more. A lease never released is simply collected by V8 (the pool
// only loses the reuse), so a caller that cannot be sure its readers are done does not release.
// Bounded: at most `maxFreeBytes` are kept free, and after `idleMs` without an acquire or a release
// all free buffers are dropped (memory comes back after a batch: onTrim lets server/memory.ts collect them).

const MiB = 1024 * 1024

/** A pooled buffer on loan. `buffer` may be longer than asked for. */
export interface Lease {
  readonly buffer: Buffer
  /** Hands the buffer back; no view of it may be read afterwards. Calling it again does nothing. */
  release(): void
}

export interface BufferPoolOptions {
  /** most bytes kept free for reuse (default 160 MB: five 4K images) */
  maxFreeBytes?: number
  /** free buffers are dropped after this long without an acquire or release, ms (default 5000) */
  idleMs?: number
  /** told the bytes the idle timer dropped (they are garbage now: server/memory.ts collects them) */
  onTrim?: (bytes: number) => void
  /** tests: every released buffer is filled with this byte, so a reader that kept a view reads garbage */
  poison?: number
}

export interface BufferPoolStats {
  /** acquires answered with a free buffer */
  reused: number
  /** acquires that allocated a new buffer */
  allocated: number
  /** bytes in free buffers now */
  freeBytes: number
  /** leases not yet released */
  leased: number
}

export class BufferPool {
  private free: Buffer[] = []
  private freeBytes = 0
  private leased = 0
  private reused = 0
  private allocated = 0
  private timer: NodeJS.Timeout | null = null
  private readonly maxFreeBytes: number
  private readonly idleMs: number

  constructor(private readonly opts: BufferPoolOptions = {}) {
    this.maxFreeBytes = opts.maxFreeBytes ?? 160 * MiB
    this.idleMs = opts.idleMs ?? 5000
  }

  /**
   * A buffer of at least `size` bytes (uninitialised): the smallest free one that fits, else a new one
   * of `size` plus 1/8 rounded up to a MiB (answers of one resolution differ by a few percent, so the
   * next one usually fits).
   */
  acquire(size: number): Lease {
    this.armTrim()
    let best = -1
    for (let i = 0; i < this.free.length; i++) {
      if (this.free[i].length >= size && (best < 0 || this.free[i].length < this.free[best].length)) best = i
    }
    let buffer: Buffer
    if (best >= 0) {
      buffer = this.free[best]
      this.free.splice(best, 1)
      this.freeBytes -= buffer.length
      this.reused++
    }
    else {
      buffer = Buffer.allocUnsafeSlow(Math.ceil((size + size / 8) / MiB) * MiB)
      this.allocated++
    }
    this.leased++
    let released = false
    return {
      buffer,
      release: () => {
        if (released) return
        released = true
        this.leased--
        this.giveBack(buffer)
      },
    }
  }

  stats(): BufferPoolStats {
    return { reused: this.reused, allocated: this.allocated, freeBytes: this.freeBytes, leased: this.leased }
  }

  /** Drops every free buffer now (the idle timer does the same, then tells onTrim); returns the bytes dropped. */
  trim(): number {
    const bytes = this.freeBytes
    this.free = []
    this.freeBytes = 0
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    return bytes
  }

  private giveBack(buffer: Buffer): void {
    if (this.opts.poison !== undefined) buffer.fill(this.opts.poison)
    // keep the larger buffers when over the bound: they are the costly ones to make again
    this.free.push(buffer)
    this.freeBytes += buffer.length
    this.free.sort((a, b) => b.length - a.length)
    while (this.freeBytes > this.maxFreeBytes) {
      const dropped = this.free.pop()!
      this.freeBytes -= dropped.length
    }
    this.armTrim()
  }

  private armTrim(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      const bytes = this.trim()
      if (bytes > 0) this.opts.onTrim?.(bytes)
    }, this.idleMs)
    this.timer.unref()
  }
}
