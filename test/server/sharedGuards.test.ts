// Issue #10's guards across replicas (#12): two proxy replicas on one Redis prefix — each with its own
// DATA_DIR, as with S3_BUCKET and no shared disk — enforce ONE spend budget and ONE set of per-client
// limits, not one per replica: the day and 10-minute budgets (counted at the fake Gemini), pages per
// minute, retries per page per hour, pages queued at once, open progress streams; and a replica that
// is SIGKILLed does not hold its client's stream count forever.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../../server/app.js'
import { loadConfig, type AppConfig } from '../../server/config.js'
import { createMemoryLogger } from '../../server/logger.js'
import { createProvider } from '../../server/providers/index.js'
import { startFakeGemini, type FakeGeminiOptions } from '../fakes/geminiServer.js'
import { fakePublicDir, getJson, openSse, pages, postJson, tempDir, waitUntil, type SseConnection } from './helpers.js'
import { dropRedisPrefix, redisSetup } from './setups.js'

const BATCHES = '/api/v1/slide-generations/batches'
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const KEY = 'shared-guards-key'
const TOKENS = 'alice:alice-token-1,bob:bob-token-22'
const as = (who: 'alice' | 'bob') => ({ Authorization: `Bearer ${who === 'alice' ? 'alice-token-1' : 'bob-token-22'}` })
const body = (n: number, title = 'Deck') => ({ template_id: 'nano_banana_1', deck_title: title, pages: pages(n), options: { style_chain: false } })

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined)
})

/** One fake Gemini and one Redis prefix; start() makes a replica (in this process) with a DATA_DIR of its own. */
async function cluster(fakeOpts: FakeGeminiOptions, env: Record<string, string> = {}, tweak?: (c: AppConfig) => void) {
  const t = await tempDir('nb-shared-')
  cleanups.push(t.cleanup)
  const publicDir = await fakePublicDir(t.dir)
  const fake = await startFakeGemini({ validKey: KEY, mislabelRate: 0, ...fakeOpts })
  cleanups.push(() => fake.close())
  const redis = redisSetup()
  cleanups.push(() => dropRedisPrefix(redis.prefix))
  const baseEnv: Record<string, string> = {
    GEMINI_API_KEY: KEY, GEMINI_BASE_URL: fake.url, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, PROXY_TOKENS: TOKENS,
    MAX_CONCURRENT_GENERATIONS: '2', MAX_RETRIES: '2', IMAGE_THUMBNAIL_SIZE: '64x36', DEFAULT_RESOLUTION: '1K', ...env,
  }
  let n = 0
  const start = async (): Promise<RunningServer> => {
    const config = loadConfig({ ...baseEnv, DATA_DIR: path.join(t.dir, `data-${++n}`) })
    tweak?.(config)
    const srv = await startServer({
      config, logger: createMemoryLogger(), provider: createProvider(config.provider), publicDir,
      price: () => 0.25, spendPollMs: 50, backoff: { baseMs: 10, maxMs: 50 }, pingIntervalMs: 200,
      redisTiming: { lockDurationMs: 2000, stalledIntervalMs: 500 },
    })
    cleanups.push(() => srv.stop())
    return srv
  }
  return { start, fake, redis, env: { ...baseEnv, DATA_DIR: path.join(t.dir, 'data-child') } }
}

const progressOf = async (srv: RunningServer, id: string, who: 'alice' | 'bob') => (await getJson(`${srv.url}${BATCHES}/${id}/progress`, as(who))).body

describe('one spend budget for every replica', () => {
  for (const which of ['10min', 'day'] as const) {
    it(`the ${which === 'day' ? 'day' : '10-minute'} budget is shared: at most the budget is called across both replicas, pages beyond it wait (not fail), new batches get 429 budget_exhausted on either`, async () => {
      // $0.25 an image, $1 budget: four calls in all, whichever replica makes them
      const c = await cluster({ latencyMs: 20 }, which === 'day' ? { BUDGET_USD_PER_DAY: '1' } : { BUDGET_USD_PER_10MIN: '1' })
      const [a, b] = [await c.start(), await c.start()]
      const one = await postJson(`${a.url}${BATCHES}`, body(3, 'Alice'), as('alice'))
      const two = await postJson(`${b.url}${BATCHES}`, body(3, 'Bob'), as('bob'))
      expect([one.status, two.status]).toEqual([202, 202])
      const completed = async () => (await progressOf(a, one.body.batch_id, 'alice')).progress.completed_pages + (await progressOf(b, two.body.batch_id, 'bob')).progress.completed_pages
      await waitUntil(async () => (await completed()) === 4)
      // a quiet moment in which the waiting pages look at the budget again (every 50 ms) on both replicas
      await new Promise(r => setTimeout(r, 600))
      expect(c.fake.stats.requests).toBe(4)
      expect(await completed()).toBe(4)
      // the two pages beyond the budget wait: neither failed nor called
      const left = [await progressOf(a, one.body.batch_id, 'alice'), await progressOf(b, two.body.batch_id, 'bob')]
      expect(left.map(p => p.progress.failed_pages)).toEqual([0, 0])
      expect(left.flatMap(p => p.results.map((r: { status: string }) => r.status)).filter(st => st === 'pending' || st === 'generating')).toHaveLength(2)
      // a third party's new batch is refused on either replica
      for (const srv of [a, b]) {
        const refused = await postJson(`${srv.url}${BATCHES}`, body(1, 'Carol'), as('bob'))
        expect(refused.status).toBe(429)
        expect(refused.body.error.code).toBe('budget_exhausted')
        expect(refused.body.error.message).toMatch(which === 'day' ? /daily budget of \$1\.00/ : /\$1\.00 per 10 minutes/)
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
        const health = (await getJson(`${srv.url}/api/v1/health`)).body
        expect(health.spend).toMatchObject({ today_usd: 1, last_10min_usd: 1 })
      }
      for (const [srv, id, who] of [[a, one.body.batch_id, 'alice'], [b, two.body.batch_id, 'bob']] as const) await postJson(`${srv.url}${BATCHES}/${id}/cancel`, {}, as(who))
    })
  }

  it('a client\'s own daily budget is one budget across replicas', async () => {
    const c = await cluster({ latencyMs: 20 }, { PROXY_TOKENS: 'alice:alice-token-1:0.5,bob:bob-token-22' })
    const [a, b] = [await c.start(), await c.start()]
    const one = await postJson(`${a.url}${BATCHES}`, body(2, 'A1'), as('alice'))
    expect(one.status).toBe(202)
    await waitUntil(async () => (await progressOf(a, one.body.batch_id, 'alice')).status === 'completed')
    // her $0.50 is spent (on A): B refuses her too, and bob goes on
    const again = await postJson(`${b.url}${BATCHES}`, body(1, 'A2'), as('alice'))
    expect(again.status).toBe(429)
    expect(again.body.error.message).toMatch(/your daily budget of \$0\.50/)
    expect((await postJson(`${b.url}${BATCHES}`, body(1, 'B1'), as('bob'))).status).toBe(202)
  })
})

describe('one set of per-client limits for every replica', () => {
  it('pages per minute and retries of a page per hour are counted across replicas', async () => {
    const c = await cluster({ latencyMs: 10 }, {}, config => {
      config.clientLimits = { ...config.clientLimits, pagesPerMinute: 6, retriesPerPagePerHour: 2 }
    })
    const [a, b] = [await c.start(), await c.start()]
    const first = await postJson(`${a.url}${BATCHES}`, body(4), as('alice'))
    expect(first.status).toBe(202)
    // 4 + 3 > 6 per minute, though B has seen none of her pages
    const second = await postJson(`${b.url}${BATCHES}`, body(3), as('alice'))
    expect(second.status).toBe(429)
    expect(second.body.error).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/limit 6 per minute/) })

    // retries of one page: 2 per hour, one on each replica, the third refused on either
    const made = await postJson(`${b.url}${BATCHES}`, body(1), as('bob'))
    expect(made.status).toBe(202)
    const id = made.body.batch_id as string
    await waitUntil(async () => (await progressOf(b, id, 'bob')).status === 'completed')
    // (alice does not own it: her 404 takes nothing from the page's allowance)
    expect((await postJson(`${a.url}${BATCHES}/${id}/pages/1/retry`, {}, as('alice'))).status).toBe(404)
    const retry = (srv: RunningServer) => postJson(`${srv.url}${BATCHES}/${id}/pages/1/retry`, {}, as('bob'))
    for (const srv of [a, b]) {
      expect((await retry(srv)).status).toBe(202)
      await waitUntil(async () => (await progressOf(srv, id, 'bob')).status === 'completed')
    }
    for (const srv of [a, b]) {
      const refused = await retry(srv)
      expect(refused.status).toBe(429)
      expect(refused.body.error).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/retried too often \(limit 2 per hour\)/) })
    }
  })

  it('pages queued at once are counted per client across replicas: one client cannot fill the queue through two replicas, another client still gets in', async () => {
    // every call hangs until cancelled: pages stay queued
    const c = await cluster({ script: () => 'hang' }, { MAX_QUEUED_PAGES_PER_CLIENT: '5', MAX_CONCURRENT_GENERATIONS: '1' })
    const [a, b] = [await c.start(), await c.start()]
    const mine = await postJson(`${a.url}${BATCHES}`, body(4), as('alice'))
    expect(mine.status).toBe(202)
    const more = await postJson(`${b.url}${BATCHES}`, body(2), as('alice'))
    expect(more.status).toBe(429)
    expect(more.body.error.code).toBe('client_queue_full')
    expect(more.body.error.message).toMatch(/already has 4 pages waiting/)
    const bob = await postJson(`${b.url}${BATCHES}`, body(3), as('bob'))
    expect(bob.status).toBe(202)
    // a deployment upgraded from a version without the per-client counts: a replica starting rebuilds them from the batches
    const r = new Redis(c.redis.url, { maxRetriesPerRequest: 1 })
    await r.del(`${c.redis.prefix}:unfinished:clients`)
    r.disconnect()
    const cc = await c.start()
    const onC = await postJson(`${cc.url}${BATCHES}`, body(2), as('alice'))
    expect(onC.status).toBe(429)
    expect(onC.body.error.message).toMatch(/already has 4 pages waiting/)
    expect((await postJson(`${cc.url}${BATCHES}`, body(2), as('bob'))).status).toBe(202)
    // cancelling frees her share on every replica
    await postJson(`${b.url}${BATCHES}/${mine.body.batch_id}/cancel`, {}, as('alice'))
    const after = await postJson(`${a.url}${BATCHES}`, body(5), as('alice'))
    expect(after.status).toBe(202)
    for (const [id, who] of [[bob.body.batch_id, 'bob'], [after.body.batch_id, 'alice']] as const) await postJson(`${a.url}${BATCHES}/${id}/cancel`, {}, as(who))
  })

  it('open progress streams are counted per client across replicas, and closing one frees a slot on the other', async () => {
    const c = await cluster({ script: () => 'hang' }, { MAX_STREAMS_PER_CLIENT: '2' })
    const [a, b] = [await c.start(), await c.start()]
    const id = (await postJson(`${a.url}${BATCHES}`, body(1), as('alice'))).body.batch_id as string
    const streams: SseConnection[] = []
    cleanups.push(async () => { for (const s of streams) s.abort() })
    const open = async (srv: RunningServer) => {
      const s = await openSse(`${srv.url}${BATCHES}/${id}/events`, as('alice'))
      streams.push(s)
      return s
    }
    const onA = await open(a)
    const onB = await open(b)
    expect([onA.status, onB.status]).toEqual([200, 200])
    for (const srv of [a, b]) {
      const third = await fetch(`${srv.url}${BATCHES}/${id}/events`, { headers: as('alice') })
      expect(third.status).toBe(429)
      expect(((await third.json()) as { error: { code: string } }).error.code).toBe('too_many_streams')
    }
    onB.abort()
    await waitUntil(async () => {
      const s = await open(a)
      if (s.status === 200) return true
      s.abort()
      return false
    }, 5000, 50)
    await postJson(`${a.url}${BATCHES}/${id}/cancel`, {}, as('alice'))
  })

  it('a client that leaves while its stream\'s slot is being taken does not leave the slot taken', async () => {
    const c = await cluster({ script: () => 'hang' }, { MAX_STREAMS_PER_CLIENT: '2' })
    const a = await c.start()
    const id = (await postJson(`${a.url}${BATCHES}`, body(1), as('alice'))).body.batch_id as string
    // requests dropped a moment after they were sent: some leave while the proxy awaits Redis for the slot
    for (let i = 0; i < 30; i++) {
      const ac = new AbortController()
      const req = fetch(`${a.url}${BATCHES}/${id}/events`, { headers: as('alice'), signal: ac.signal }).catch(() => undefined)
      await new Promise(r => setTimeout(r, i % 6))
      ac.abort()
      await req
    }
    await new Promise(r => setTimeout(r, 300))
    const open = [await openSse(`${a.url}${BATCHES}/${id}/events`, as('alice')), await openSse(`${a.url}${BATCHES}/${id}/events`, as('alice'))]
    cleanups.push(async () => { for (const s of open) s.abort() })
    expect(open.map(s => s.status)).toEqual([200, 200])
    await postJson(`${a.url}${BATCHES}/${id}/cancel`, {}, as('alice'))
  })

  it('a replica that stops (SIGTERM) gives its streams\' slots back at once, not a lease later', async () => {
    const c = await cluster({ script: () => 'hang' }, { MAX_STREAMS_PER_CLIENT: '2' })
    const [a, b] = [await c.start(), await c.start()]
    const id = (await postJson(`${a.url}${BATCHES}`, body(1), as('alice'))).body.batch_id as string
    const onB = [await openSse(`${b.url}${BATCHES}/${id}/events`, as('alice')), await openSse(`${b.url}${BATCHES}/${id}/events`, as('alice'))]
    cleanups.push(async () => { for (const s of onB) s.abort() })
    expect(onB.map(s => s.status)).toEqual([200, 200])
    expect((await fetch(`${a.url}${BATCHES}/${id}/events`, { headers: as('alice') })).status).toBe(429)
    await b.stop()
    // the default lease is 30 s: only B's own release can free the slots this soon
    const onA = [await openSse(`${a.url}${BATCHES}/${id}/events`, as('alice')), await openSse(`${a.url}${BATCHES}/${id}/events`, as('alice'))]
    cleanups.push(async () => { for (const s of onA) s.abort() })
    expect(onA.map(s => s.status)).toEqual([200, 200])
    await postJson(`${a.url}${BATCHES}/${id}/cancel`, {}, as('alice'))
  })

  it('a replica that is SIGKILLed does not hold its client\'s streams forever: they stop counting one lease later', async () => {
    const LEASE_MS = 3000
    const c = await cluster({ script: () => 'hang' }, { MAX_STREAMS_PER_CLIENT: '2' })
    const a = await c.start()
    const id = (await postJson(`${a.url}${BATCHES}`, body(1), as('alice'))).body.batch_id as string
    // replica B in a process of its own (the real configuration from its environment)
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/server/replicaChild.ts'], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...c.env, NB_TEST_STREAM_LEASE_MS: String(LEASE_MS), LOG_LEVEL: 'warn' },
    })
    cleanups.push(async () => { child.kill('SIGKILL') })
    let err = ''
    child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
    const bUrl = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        const m = /listening (\S+)/.exec(out)
        if (m) resolve(m[1])
      })
      child.on('exit', code => reject(new Error(`replica B exited (${code}): ${err.slice(-2000)}`)))
    })
    const s1 = await openSse(`${bUrl}${BATCHES}/${id}/events`, as('alice'))
    const s2 = await openSse(`${bUrl}${BATCHES}/${id}/events`, as('alice'))
    cleanups.push(async () => { s1.abort(); s2.abort() })
    expect([s1.status, s2.status]).toEqual([200, 200])
    // B's two streams count on A, and keep counting while B is alive (its leases are renewed)
    await new Promise(r => setTimeout(r, LEASE_MS + 500))
    expect((await fetch(`${a.url}${BATCHES}/${id}/events`, { headers: as('alice') })).status).toBe(429)
    const killedAt = Date.now()
    child.kill('SIGKILL')
    await new Promise(r => child.once('exit', r))
    // no cleanup ran in B: the slots free themselves when the leases run out
    const streams: SseConnection[] = []
    cleanups.push(async () => { for (const s of streams) s.abort() })
    await waitUntil(async () => {
      const s = await openSse(`${a.url}${BATCHES}/${id}/events`, as('alice'))
      streams.push(s)
      return s.status === 200
    }, 10_000, 100)
    expect(Date.now() - killedAt).toBeLessThan(LEASE_MS + 3000)
    await postJson(`${a.url}${BATCHES}/${id}/cancel`, {}, as('alice'))
  })
})
