// SharedLimit (server/engine/sharedLimit.ts) on the test Redis: steps from two replicas at once are
// all applied (none lost to the WATCH race), each replica's in the order asked, and steps that wait
// together share a transaction without sharing a failure.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { SharedLimit } from '../../server/engine/sharedLimit.js'
import { TEST_REDIS_URL } from './setups.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

function replica(key: string): { limit: SharedLimit; redis: Redis } {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 })
  cleanups.push(() => redis.disconnect())
  return { limit: new SharedLimit({ redis, key, limit: { maxConcurrency: 5 } }), redis }
}

describe('SharedLimit', () => {
  it('120 starts asked at once by two replicas are all counted, each replica\'s in order; a throwing step fails alone', async () => {
    const key = `nbt-shared-${randomBytes(6).toString('hex')}`
    const [a, b] = [replica(key), replica(key)]
    cleanups.push(async () => { await a.redis.del(key) })
    const asked = (r: typeof a) => Array.from({ length: 60 }, () => r.limit.update((l, now) => {
      l.started(now)
      return l.toState().started
    }))
    // the expectation is attached at once: the step may fail before the others are awaited, and a
    // rejection nobody listened to yet is an unhandled one (it failed a fresh-clone CI run)
    const boom = expect(a.limit.update(() => { throw new Error('boom') })).rejects.toThrow('boom')
    const [fromA, fromB] = await Promise.all([Promise.all(asked(a)), Promise.all(asked(b))])
    await boom
    expect(JSON.parse((await a.redis.get(key))!).started).toBe(120)
    // the count each replica saw after its own step grows with the order it asked in
    for (const seen of [fromA, fromB]) expect(seen).toEqual([...seen].sort((x, y) => Number(x) - Number(y)))
    expect(new Set([...fromA, ...fromB]).size).toBe(120)
  })
})
