import { describe, expect, it } from 'vitest'
import { GenerationQueue, type UpstreamCall } from '../../server/queue.js'

function deferred() {
  let resolve!: () => void
  const promise = new Promise<void>(r => { resolve = r })
  return { promise, resolve }
}

describe('GenerationQueue', () => {
  it('never runs more than `concurrency` tasks at once across batches', async () => {
    const q = new GenerationQueue(3)
    let running = 0
    let peak = 0
    let done = 0
    for (let b = 0; b < 4; b++) {
      for (let i = 0; i < 10; i++) {
        q.push({
          batchId: `b${b}`,
          run: async () => {
            running++
            peak = Math.max(peak, running)
            expect(q.stats().running).toBeLessThanOrEqual(3)
            await new Promise(r => setTimeout(r, 1 + ((b * 7 + i) % 3)))
            running--
            done++
          },
        })
      }
    }
    await q.onIdle()
    expect(done).toBe(40)
    expect(peak).toBe(3)
    expect(q.stats()).toEqual({ running: 0, queued: 0, concurrency: 3 })
  })

  it('serves batches round-robin: a small batch queued after a big one is not starved', async () => {
    const q = new GenerationQueue(2)
    const order: string[] = []
    const gates: Array<() => void> = []
    const task = (batchId: string, n: number) => ({
      batchId,
      run: async () => {
        order.push(`${batchId}${n}`)
        const d = deferred()
        gates.push(d.resolve)
        await d.promise
      },
    })
    for (let i = 1; i <= 60; i++) q.push(task('big', i))
    for (let i = 1; i <= 3; i++) q.push(task('small', i))
    // release tasks one at a time and watch who gets each freed slot
    while (order.length < 10) {
      await new Promise(r => setTimeout(r, 0))
      gates.shift()?.()
    }
    expect(order.slice(0, 2)).toEqual(['big1', 'big2'])
    // the 3 small pages are among the next 6 started, alternating with big ones
    const next = order.slice(2, 8)
    expect(next.filter(x => x.startsWith('small'))).toEqual(['small1', 'small2', 'small3'])
    expect(next).toEqual(['small1', 'big3', 'small2', 'big4', 'small3', 'big5'])
    q.dropBatch('big')
    while (gates.length) gates.shift()!()
    await q.onIdle()
  })

  it('puts a task pushed with front:true ahead of its own batch only', async () => {
    const q = new GenerationQueue(1)
    const order: string[] = []
    const d = deferred()
    q.push({ batchId: 'a', run: async () => { order.push('a1'); await d.promise } })
    q.push({ batchId: 'a', run: async () => { order.push('a2') } })
    q.push({ batchId: 'b', run: async () => { order.push('b1') } })
    q.push({ batchId: 'a', run: async () => { order.push('a-retry') } }, { front: true })
    d.resolve()
    await q.onIdle()
    expect(order).toEqual(['a1', 'b1', 'a-retry', 'a2'])
  })

  it('drops the queued tasks of a batch without touching the running one', async () => {
    const q = new GenerationQueue(1)
    const ran: string[] = []
    const d = deferred()
    q.push({ batchId: 'a', run: async () => { ran.push('a1'); await d.promise } })
    for (let i = 2; i <= 5; i++) q.push({ batchId: 'a', run: async () => { ran.push(`a${i}`) } })
    q.push({ batchId: 'b', run: async () => { ran.push('b1') } })
    expect(q.stats()).toMatchObject({ running: 1, queued: 5 })
    expect(q.dropBatch('a')).toBe(4)
    expect(q.queuedFor('a')).toBe(0)
    d.resolve()
    await q.onIdle()
    expect(ran).toEqual(['a1', 'b1'])
  })

  it('keeps going when a task throws', async () => {
    const q = new GenerationQueue(1)
    let ok = false
    q.push({ batchId: 'a', run: async () => { throw new Error('boom') } })
    q.push({ batchId: 'a', run: async () => { ok = true } })
    await q.onIdle()
    expect(ok).toBe(true)
  })
})

describe('GenerationQueue with UPSTREAM_RPM', () => {
  it('starts at most `rpm` tasks per interval (p-queue interval cap)', async () => {
    const q = new GenerationQueue(5, { rpm: 3, intervalMs: 300 })
    const started: number[] = []
    const t0 = Date.now()
    for (let i = 0; i < 6; i++) q.push({ batchId: 'b', run: async () => { started.push(Date.now() - t0) } })
    await q.onIdle()
    expect(started).toHaveLength(6)
    // the first three start at once; the next three wait for the next interval
    expect(Math.max(...started.slice(0, 3))).toBeLessThan(Math.min(...started.slice(3)))
    expect(Math.min(...started.slice(3))).toBeGreaterThanOrEqual(250)
  })
})

describe('GenerationQueue: quota', () => {
  it('UPSTREAM_RPM (interval cap): never more call starts than the cap in any interval', async () => {
    const q = new GenerationQueue(5, { rpm: 2, intervalMs: 200 })
    const starts: number[] = []
    for (let i = 0; i < 6; i++) q.push({ batchId: 'a', run: async () => { starts.push(performance.now()) } })
    await q.onIdle()
    expect(starts).toHaveLength(6)
    // sliding window: the (i+2)-th start is at least one interval after the i-th
    for (let i = 0; i + 2 < starts.length; i++) expect(starts[i + 2] - starts[i]).toBeGreaterThanOrEqual(195)
  })

  it('a rate limit holds back every lane until the upstream says, and tells listeners', async () => {
    const q = new GenerationQueue(3)
    const waits: boolean[] = []
    q.onHoldChange(w => waits.push(w))
    const starts: Array<[string, number]> = []
    let limitedOnce = false
    let holdUntil = 0
    const task = (batchId: string) => ({
      batchId,
      run: async (call: UpstreamCall) => {
        starts.push([batchId, Date.now()])
        await new Promise(r => setTimeout(r, 5))
        if (!limitedOnce) {
          limitedOnce = true
          holdUntil = call.rateLimited(150)
          return
        }
        call.answered()
      },
    })
    q.push(task('a'))
    await new Promise(r => setTimeout(r, 1))
    for (let i = 0; i < 3; i++) q.push(task('b'))
    await q.onIdle()
    expect(starts).toHaveLength(4)
    // the three b calls were queued while a's call ran; whichever started after the 429 waited for the hold
    const afterLimit = starts.filter(([, t]) => t > holdUntil - 150 + 1)
    for (const [, t] of afterLimit) expect(t).toBeGreaterThanOrEqual(holdUntil - 2)
    expect(waits).toEqual([true, false])
  })
})
