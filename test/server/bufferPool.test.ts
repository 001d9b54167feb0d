import { afterEach, describe, expect, it, vi } from 'vitest'
import { BufferPool } from '../../server/providers/bufferPool.js'

const MiB = 1024 * 1024

afterEach(() => {
  vi.useRealTimers()
})

describe('buffer pool', () => {
  it('hands a released buffer to the next acquire that fits, the smallest that fits first', () => {
    const pool = new BufferPool()
    const small = pool.acquire(3 * MiB)
    const big = pool.acquire(30 * MiB)
    expect(small.buffer.length).toBeGreaterThanOrEqual(3 * MiB)
    expect(big.buffer.length).toBeGreaterThanOrEqual(30 * MiB)
    small.release()
    big.release()
    // (identity compared as booleans: vitest would format megabytes of buffer for a message)
    expect(pool.acquire(2 * MiB).buffer === small.buffer).toBe(true)
    expect(pool.acquire(2 * MiB).buffer === big.buffer).toBe(true)
    // nothing free fits: a new one
    const fresh = pool.acquire(40 * MiB)
    expect(fresh.buffer === big.buffer).toBe(false)
    expect(pool.stats()).toEqual({ reused: 2, allocated: 3, freeBytes: 0, leased: 3 })
  })

  it('a lease released twice is pooled once (two later leases never share a buffer)', () => {
    const pool = new BufferPool()
    const lease = pool.acquire(MiB)
    lease.release()
    lease.release()
    const a = pool.acquire(MiB)
    const b = pool.acquire(MiB)
    expect(a.buffer === b.buffer).toBe(false)
    expect(pool.stats().leased).toBe(2)
  })

  it('keeps at most maxFreeBytes free, the largest buffers first', () => {
    const pool = new BufferPool({ maxFreeBytes: 20 * MiB })
    const leases = [pool.acquire(8 * MiB), pool.acquire(2 * MiB), pool.acquire(8 * MiB)]
    for (const lease of leases) lease.release()
    const { freeBytes } = pool.stats()
    expect(freeBytes).toBeLessThanOrEqual(20 * MiB)
    // the two 8 MB buffers (10 MB with headroom) were kept, the 2 MB one dropped
    expect(freeBytes).toBe(leases[0].buffer.length + leases[2].buffer.length)
  })

  it('poisons a released buffer, so a view kept by its former owner reads garbage', () => {
    const pool = new BufferPool({ poison: 0xee })
    const lease = pool.acquire(1000)
    const view = lease.buffer.subarray(0, 4)
    view.write('PNG!', 'latin1')
    lease.release()
    expect([...view]).toEqual([0xee, 0xee, 0xee, 0xee])
  })

  it('drops its free buffers after idleMs without use and says how many bytes went; trim() does it at once', () => {
    vi.useFakeTimers()
    const onTrim = vi.fn()
    const pool = new BufferPool({ idleMs: 1000, onTrim })
    const a = pool.acquire(MiB)
    a.release()
    vi.advanceTimersByTime(900)
    pool.acquire(MiB).release() // use restarts the clock
    vi.advanceTimersByTime(900)
    expect(onTrim).not.toHaveBeenCalled()
    expect(pool.stats().freeBytes).toBe(a.buffer.length)
    vi.advanceTimersByTime(200)
    expect(onTrim).toHaveBeenCalledWith(a.buffer.length)
    expect(pool.stats().freeBytes).toBe(0)
    pool.acquire(MiB).release()
    expect(pool.trim()).toBeGreaterThanOrEqual(MiB)
    expect(pool.stats().freeBytes).toBe(0)
  })
})
