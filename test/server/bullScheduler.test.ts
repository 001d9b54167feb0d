// BullScheduler alone on the test Redis (own prefix): UPSTREAM_RPM across replicas is BullMQ's global
// rate limit, a fixed window from its first start (the window is shortened here from 60 s).
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { BullScheduler } from '../../server/engine/bullScheduler.js'
import { createMemoryLogger } from '../../server/logger.js'
import { waitUntil } from './helpers.js'
import { dropRedisPrefix, redisSetup } from './setups.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined)
})

function scheduler(prefix: string, url: string, opts: { rpm: number; rateIntervalMs: number; concurrency: number }): BullScheduler {
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
    // BullMQ's window starts with the first start: the 4th waits for the 2nd window, the 7th for the 3rd
    expect(starts[3] - starts[0]).toBeGreaterThanOrEqual(750)
    expect(starts[6] - starts[0]).toBeGreaterThanOrEqual(1550)
    // within a window, the three go together (the limit, not a spacing, holds them)
    expect(starts[2] - starts[0]).toBeLessThan(600)
  })
})
