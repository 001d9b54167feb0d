// BullScheduler alone on the test Redis (own prefix): UPSTREAM_RPM across replicas is BullMQ's global
// rate limit, a fixed window from its first start (the window is shortened here from 60 s).
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { BullScheduler } from '../../server/engine/bullScheduler.js'
import { createMemoryLogger, type AppLogger } from '../../server/logger.js'
import { waitUntil } from './helpers.js'
import { dropRedisPrefix, redisSetup } from './setups.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined)
})

function scheduler(prefix: string, url: string, opts: { rpm?: number; rateIntervalMs?: number; concurrency: number; lockDurationMs?: number; stalledIntervalMs?: number; logger?: AppLogger }): BullScheduler {
  const conns: Redis[] = []
  const connection = () => {
    const c = new Redis(url, { maxRetriesPerRequest: null })
    conns.push(c)
    return c
  }
  const s = new BullScheduler({ redis: connection(), connection, prefix, logger: createMemoryLogger(), ...opts })
  cleanups.push(async () => {
    await s.close()
    for (const c of conns) c.disconnect()
  })
  return s
}

describe('BullScheduler', () => {
  it('a replica started with another MAX_CONCURRENT_GENERATIONS warns, naming the value in force, and its stats (/health) show that value', async () => {
    const redis = redisSetup()
    cleanups.push(() => dropRedisPrefix(redis.prefix))
    const a = scheduler(redis.prefix, redis.url, { concurrency: 3 })
    await a.whenReady()
    let ran = 0
    a.start(async (_job, feedback) => {
      ran++
      feedback?.answered()
    })
    await a.enqueue({ batchId: 'b_concurrency', pageNumber: 1 })
    await waitUntil(() => ran === 1)
    const logger = createMemoryLogger()
    const b = scheduler(redis.prefix, redis.url, { concurrency: 8, logger })
    await b.whenReady()
    expect((await b.stats()).concurrency).toBe(3)
    expect(logger.lines.join('\n')).toMatch(/MAX_CONCURRENT_GENERATIONS=8 on this replica, but 3 upstream calls at once are in force/)
    const quiet = createMemoryLogger()
    const c = scheduler(redis.prefix, redis.url, { concurrency: 3, logger: quiet })
    await c.whenReady()
    expect(quiet.lines.join('\n')).not.toMatch(/MAX_CONCURRENT_GENERATIONS/)
  })

  it('UPSTREAM_RPM holds across two replicas: at most rpm starts per window, the next ones in the following windows', async () => {
    const redis = redisSetup()
    cleanups.push(() => dropRedisPrefix(redis.prefix))
    const opts = { rpm: 3, rateIntervalMs: 800, concurrency: 5 }
    const [a, b] = [scheduler(redis.prefix, redis.url, opts), scheduler(redis.prefix, redis.url, opts)]
    await Promise.all([a.whenReady(), b.whenReady()])
    const starts: number[] = []
    const run = async () => { starts.push(Date.now()) }
    a.start(run)
    b.start(run)
    for (let n = 1; n <= 7; n++) await a.enqueue({ batchId: 'b_rpm', pageNumber: n })
    await waitUntil(() => starts.length === 7, 10_000)
    starts.sort((x, y) => x - y)
    // BullMQ's window starts when the first job is taken: the 4th waits for the 2nd window, the 7th for
    // the 3rd (less the time from taking the first job to its run() here, under load up to ~200 ms)
    expect(starts[3] - starts[0]).toBeGreaterThanOrEqual(600)
    expect(starts[6] - starts[0]).toBeGreaterThanOrEqual(1400)
  })

  it('a job detached while its answer is stored frees its slot at once, and comes back on another replica if the page is never committed', async () => {
    const redis = redisSetup()
    cleanups.push(() => dropRedisPrefix(redis.prefix))
    const opts = { concurrency: 1, lockDurationMs: 400, stalledIntervalMs: 200 }
    const a = scheduler(redis.prefix, redis.url, opts)
    await a.whenReady()
    const onA: number[] = []
    a.start(async (job, feedback) => {
      onA.push(job.pageNumber)
      // page 1's answer is "being stored" for ever (this replica stops before committing it)
      if (job.pageNumber === 1) await feedback!.detach!()
    })
    await a.enqueue({ batchId: 'b_detach', pageNumber: 1 })
    await a.enqueue({ batchId: 'b_detach', pageNumber: 2 })
    // one slot: page 2 runs while page 1 is still being stored
    await waitUntil(() => onA.length === 2, 5000)
    await a.close()
    const b = scheduler(redis.prefix, redis.url, opts)
    const onB: Array<{ page: number; redelivered?: boolean }> = []
    b.start(async job => { onB.push({ page: job.pageNumber, redelivered: job.redelivered }) })
    // due 2 × lockDuration after it was detached, pushed back only while A was there
    await waitUntil(() => onB.length === 1, 5000)
    expect(onB).toEqual([{ page: 1, redelivered: true }])
    expect(onA).toEqual([1, 2])
  })
})
