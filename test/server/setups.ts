// The two set-ups the batch engine runs on, for tests that run the same batch logic against both:
// 'memory' (one process: memory + DATA_DIR) and 'redis' (state, events and BullMQ queue in the Redis
// at TEST_REDIS_URL, default 127.0.0.1:6379, under a key prefix of its own per test).
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import type { RedisSetup } from '../../server/engine/setup.js'

export const SETUPS = ['memory', 'redis'] as const
export type SetupName = typeof SETUPS[number]

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A fresh key prefix on the test Redis (short queue locks: a stopped engine's jobs are taken over fast). */
export function redisSetup(prefix = `nbt-${randomBytes(6).toString('hex')}`): RedisSetup {
  return { url: TEST_REDIS_URL, prefix, lockDurationMs: 2000, stalledIntervalMs: 500 }
}

/** Deletes every key under `prefix:` in the Redis at url (a test's or a bench run's own keys). */
export async function dropRedisPrefix(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    let cursor = '0'
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
      cursor = next
      if (keys.length) await r.del(...keys)
    } while (cursor !== '0')
  } finally {
    r.disconnect()
  }
}
