// Spend guard and per-client limits: budgets per day and per rolling 10 minutes (429 budget_exhausted
// with Retry-After for new batches and retries; queued pages wait), totals persisted across restarts;
// two clients sharing the queue; batch ownership; limits on retries and streams.
import { afterEach, describe, expect, it } from 'vitest'
import { BUDGET_WAIT, meteredProvider, SpendGuard } from '../../server/spend.js'
import { FileSpendLedger, type SpendLedger } from '../../server/spendLedger.js'
import { RedisSpendLedger } from '../../server/redisSpendLedger.js'
import { Redis } from 'ioredis'
import { dropRedisPrefix, redisSetup, SETUPS, TEST_REDIS_URL, type SetupName } from './setups.js'
import { PageRunner } from '../../server/engine/pageRunner.js'
import { createMemoryLogger } from '../../server/logger.js'
import type { GenerateRequest } from '../../server/providers/types.js'
import { DEFAULT_CLIENT_LIMITS, parseTokens } from '../../server/clients.js'
import { getJson, okImage, openSse, pages, postJson, scriptedProvider, startTestServer, tempDir, waitUntil, type TestServer } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

const body = (n: number, title = 'Deck') => ({ template_id: 'nano_banana_1', deck_title: title, pages: pages(n), options: { style_chain: false } })

/** A ledger of the set-up: this process's memory, or Redis under a prefix of its own (`prefix` shares one). */
function ledgerFor(setup: SetupName, prefix?: string): SpendLedger {
  if (setup === 'memory') return new FileSpendLedger()
  const p = prefix ?? redisSetup().prefix
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 })
  cleanups.push(async () => { redis.disconnect() }, () => dropRedisPrefix(p))
  return new RedisSpendLedger({ redis, prefix: p })
}

describe.each(SETUPS)('SpendGuard windows (%s ledger)', setup => {
  it('meters at list price, refuses beyond the 10-minute budget until old charges leave the window, and beyond the day budget until UTC midnight', async () => {
    let now = Date.UTC(2026, 11, 1, 10, 0, 0)
    const g = new SpendGuard({ price: () => 0.24, budgetUsdPer10Min: 1, budgetUsdPerDay: 2, now: () => now, ledger: ledgerFor(setup) })
    for (let i = 0; i < 4; i++) { await g.charge('a', 0.24); now += 1000 }
    expect(await g.snapshot()).toMatchObject({ today_usd: 0.96, last_10min_usd: 0.96 })
    await g.admit('a') // 0.96 < 1: still below
    await g.charge('a', 0.24)
    let err: unknown
    try { await g.admit('b') } catch (e) { err = e }
    expect(err).toMatchObject({ status: 429, code: 'budget_exhausted' })
    // the first charge leaves the window 10 min after it was made
    const retryAfter = Number((err as { headers: Record<string, string> }).headers['Retry-After'])
    expect(retryAfter).toBeGreaterThan(590)
    expect(retryAfter).toBeLessThanOrEqual(600)
    now += 10 * 60_000
    await g.admit('b')
    expect((await g.snapshot()).today_usd).toBe(1.2)
    // the day budget: 2 USD
    for (let i = 0; i < 4; i++) await g.charge('a', 0.24)
    now += 11 * 60_000 // window empty again, the day is not
    err = undefined
    try { await g.admit('b') } catch (e) { err = e }
    expect(err).toMatchObject({ code: 'budget_exhausted' })
    expect((err as Error).message).toMatch(/daily budget of \$2\.00/)
    now = Date.UTC(2026, 11, 2, 0, 0, 1)
    await g.admit('b')
    expect((await g.snapshot()).today_usd).toBe(0)
  })

  it('says when a waiting call resumes: the 10-minute window\'s oldest charges leaving it, the next UTC midnight for a daily budget (client\'s own too); a short poll meanwhile', async () => {
    let now = Date.UTC(2026, 11, 1, 22, 0, 0)
    const g = new SpendGuard({ price: () => 0.24, budgetUsdPer10Min: 0.5, budgetUsdPerDay: 1, clientBudgets: new Map([['carol', 0.3]]), pollMs: 5000, now: () => now, ledger: ledgerFor(setup) })
    expect(await g.wait('a', 0.24)).toEqual({ recheckMs: 0, resumesInMs: 0 })
    await g.charge('a', 0.24)
    now += 60_000
    await g.charge('a', 0.24)
    now += 60_000
    // 0.48 in the window: a third call fits once the first charge (2 min ago) leaves, 8 min from now
    const w = await g.wait('a', 0.24)
    expect(w.recheckMs).toBe(5000)
    expect(w.resumesInMs).toBeGreaterThan(8 * 60_000 - 1000)
    expect(w.resumesInMs).toBeLessThanOrEqual(8 * 60_000 + 1)
    // the day: 0.96 spent in all; the window free again, the day budget ($1) holds until midnight (1 h 49 min)
    now += 11 * 60_000
    await g.charge('a', 0.24)
    now += 11 * 60_000
    await g.charge('a', 0.24)
    now += 11 * 60_000
    const day = await g.wait('b', 0.24)
    expect(day.resumesInMs).toBe(Date.UTC(2026, 11, 2) - now)
    // a client's own budget below its next call: the next UTC day
    now = Date.UTC(2026, 11, 2, 6, 0, 0)
    await g.charge('carol', 0.24)
    now += 11 * 60_000
    expect((await g.wait('carol', 0.24)).resumesInMs).toBe(Date.UTC(2026, 11, 3) - now)
    expect(await g.wait('dave', 0.24)).toEqual({ recheckMs: 0, resumesInMs: 0 })
  })

  it('a client with its own daily budget is refused while others go on; a refund takes a charge back', async () => {
    const g = new SpendGuard({ price: () => 0.134, clientBudgets: new Map([['alice', 0.2]]), ledger: ledgerFor(setup) })
    const refund = await g.charge('alice', 0.134)
    await g.admit('alice')
    await g.charge('alice', 0.134)
    await expect(g.admit('alice')).rejects.toThrow(/your daily budget of \$0\.20/)
    await g.admit('bob')
    await refund()
    expect(await g.clientToday('alice')).toBe(0.134)
  })

  it('charges that race (two guards on one ledger, as two replicas on one Redis) never pass the budget together; a refund frees room for one more', async () => {
    const prefix = redisSetup().prefix
    const [l1, l2] = [ledgerFor(setup, prefix), setup === 'memory' ? undefined : ledgerFor(setup, prefix)]
    const guards = [new SpendGuard({ price: () => 0.25, budgetUsdPer10Min: 1, ledger: l1 }), new SpendGuard({ price: () => 0.25, budgetUsdPer10Min: 1, ledger: l2 ?? l1 })]
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => guards[i % 2].tryCharge(`c${i % 3}`, 0.25)))
    const charged = results.filter(r => 'refund' in r)
    expect(charged).toHaveLength(4)
    expect(results.filter(r => 'waitMs' in r).every(r => 'waitMs' in r && r.waitMs > 0)).toBe(true)
    expect(await guards[1].snapshot()).toMatchObject({ last_10min_usd: 1, today_usd: 1 })
    const refund = (charged[0] as { refund: () => Promise<void> }).refund
    await refund()
    await refund() // twice is harmless
    expect((await guards[0].snapshot()).last_10min_usd).toBe(0.75)
    expect('refund' in (await guards[1].tryCharge('c9', 0.25))).toBe(true)
    expect('waitMs' in (await guards[0].tryCharge('c9', 0.25))).toBe(true)
  })
})

describe('SpendGuard persistence', () => {
  it('totals survive a restart (DATA_DIR/spend.json)', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const file = `${t.dir}/spend.json`
    const a = new SpendGuard({ price: () => 0.24, budgetUsdPer10Min: 0.5, ledger: new FileSpendLedger({ file }) })
    await a.charge('x', 0.24)
    await a.charge('x', 0.24)
    await a.charge('x', 0.24)
    await a.flush()
    const b = new SpendGuard({ price: () => 0.24, budgetUsdPer10Min: 0.5, ledger: new FileSpendLedger({ file }) })
    await b.load()
    expect(await b.snapshot()).toMatchObject({ today_usd: 0.72, last_10min_usd: 0.72 })
    await expect(b.admit('y')).rejects.toThrow(/per 10 minutes/)
  })
})

describe('metered calls that race past the budget check', () => {
  it('two calls at once with room for one: one is charged and made, the other is not made and comes back as a wait (no retry used)', async () => {
    const g = new SpendGuard({ price: () => 0.24, budgetUsdPer10Min: 0.3, pollMs: 50 })
    const inner = scriptedProvider(() => okImage())
    const metered = meteredProvider(inner, g)
    const req = (n: number) => ({ prompt: 'p', references: [], aspectRatio: '16:9', resolution: '2K', signal: new AbortController().signal, client: 'a', page: { pageNumber: n, deckTitle: 'D' } }) as unknown as GenerateRequest
    const [a, b] = await Promise.allSettled([metered.generate(req(1)), metered.generate(req(2))])
    expect(a.status).toBe('fulfilled')
    expect(b).toMatchObject({ status: 'rejected', reason: { code: BUDGET_WAIT, kind: 'retryable', retryAfterMs: 50 } })
    expect(inner.calls).toHaveLength(1)
    expect((await g.snapshot()).last_10min_usd).toBe(0.24)
    const runner = new PageRunner({ provider: metered, logger: createMemoryLogger(), maxRetries: 3 } as unknown as ConstructorParameters<typeof PageRunner>[0])
    expect(runner.decide((b as PromiseRejectedResult).reason, 3, false)).toEqual({ action: 'wait_budget', waitMs: 50 })
  })
})

describe('budgets on the server', () => {
  it('new batches get 429 budget_exhausted with Retry-After; queued pages wait instead of failing; /health shows spend', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const provider = scriptedProvider(() => okImage())
    // 0.24 per image, 0.5 per 10 min: two images fit, the third waits
    const server: TestServer = await startTestServer({ provider, dataDir: t.dir, price: () => 0.24, spendPollMs: 20, config: { budget: { per10MinUsd: 0.5 } } })
    cleanups.push(() => server.stop())
    const created = await postJson(`${server.url}/api/v1/slide-generations/batches`, body(3))
    expect(created.status).toBe(202)
    await waitUntil(async () => (await getJson(`${server.url}/api/v1/slide-generations/batches/${created.body.batch_id}/progress`)).body.progress.completed_pages === 2)
    await new Promise(r => setTimeout(r, 200))
    const progress = await getJson(`${server.url}/api/v1/slide-generations/batches/${created.body.batch_id}/progress`)
    expect(progress.body.progress).toMatchObject({ completed_pages: 2, failed_pages: 0 })
    expect(progress.body.results[2].status).toMatch(/pending|generating/)
    expect(provider.calls).toHaveLength(2)
    const refused = await postJson(`${server.url}/api/v1/slide-generations/batches`, body(1))
    expect(refused.status).toBe(429)
    expect(refused.body.error.code).toBe('budget_exhausted')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(500)
    const health = await getJson(`${server.url}/api/v1/health`)
    expect(health.body.spend).toMatchObject({ today_usd: 0.48, last_10min_usd: 0.48, budget_usd_per_10min: 0.5, budget_usd_per_day: null })
    expect(health.body.spend.exhausted_for_seconds).toBeGreaterThan(0)
    // the waiting page holds no upstream slot (checking its budget again takes one for a moment)
    await waitUntil(async () => (await getJson(`${server.url}/api/v1/health`)).body.queue.running === 0)
    // cancel: the waiting page never starts
    await postJson(`${server.url}/api/v1/slide-generations/batches/${created.body.batch_id}/cancel`, {})
    await new Promise(r => setTimeout(r, 100))
    expect(provider.calls).toHaveLength(2)
  })
})

describe('budgets and the upstream slots', () => {
  const as = (token: string) => ({ Authorization: `Bearer ${token}` })

  it('a client over its own daily budget: its queued pages wait (neither run nor fail) and hold no slot, so another client goes on', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const provider = scriptedProvider(() => okImage())
    // concurrency 1: if alice's waiting page held the only slot, bob's batch could never run
    const server = await startTestServer({
      provider, dataDir: t.dir, price: () => 0.24, spendPollMs: 20,
      config: { maxConcurrentGenerations: 1, tokens: [{ name: 'alice', token: 'alice-token-1', dailyBudgetUsd: 0.5 }, { name: 'bob', token: 'bob-token-22' }], clientLimits: DEFAULT_CLIENT_LIMITS },
    })
    cleanups.push(() => server.stop())
    const base = `${server.url}/api/v1/slide-generations/batches`
    const alice = await postJson(base, body(4, 'Alice'), as('alice-token-1'))
    expect(alice.status).toBe(202)
    const aliceProgress = async () => (await getJson(`${base}/${alice.body.batch_id}/progress`, as('alice-token-1'))).body
    // 2 × 0.24 fit her 0.50; a third call would not
    await waitUntil(async () => (await aliceProgress()).progress.completed_pages === 2)
    const bob = await postJson(base, body(2, 'Bob'), as('bob-token-22'))
    expect(bob.status).toBe(202)
    await waitUntil(async () => (await getJson(`${base}/${bob.body.batch_id}/progress`, as('bob-token-22'))).body.status === 'completed')
    const p = await aliceProgress()
    expect(p.progress).toMatchObject({ completed_pages: 2, failed_pages: 0 })
    expect(p.results.slice(2).map((r: { status: string }) => r.status)).toEqual(['pending', 'pending'])
    expect(provider.calls.filter(c => c.req.client === 'alice')).toHaveLength(2)
    // no slot stays taken (a page ending, or one checking its budget, holds one for a moment)
    await waitUntil(async () => (await getJson(`${server.url}/api/v1/health`)).body.queue.running === 0)
    const more = await postJson(base, body(1, 'Alice 2'), as('alice-token-1'))
    expect(more.status).toBe(429)
    expect(more.body.error).toMatchObject({ code: 'budget_exhausted', message: expect.stringMatching(/your daily budget of \$0\.50/) })
  })

  it('a manual retry is priced at the batch\'s own size (4K), not the default size', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const provider = scriptedProvider(() => okImage())
    // default size 1K at $0.05, 4K at $0.24; $0.30 per 10 min
    const server = await startTestServer({
      provider, dataDir: t.dir, price: (_m, r) => (r === '4K' ? 0.24 : 0.05),
      config: { defaultResolution: '1K', budget: { per10MinUsd: 0.3 } },
    })
    cleanups.push(() => server.stop())
    const base = `${server.url}/api/v1/slide-generations/batches`
    const big = await postJson(base, { ...body(1, 'Big'), options: { style_chain: false, resolution: '4K' } })
    expect(big.status).toBe(202)
    await waitUntil(async () => (await getJson(`${base}/${big.body.batch_id}/progress`)).body.status === 'completed')
    // 0.24 spent: another 4K call (0.48) does not fit, a 1K one (0.29) does
    const retry = await postJson(`${base}/${big.body.batch_id}/pages/1/retry`, {})
    expect(retry.status).toBe(429)
    expect(retry.body.error.code).toBe('budget_exhausted')
    expect((await postJson(base, body(1, 'Small'))).status).toBe(202)
  })
})

describe('clients', () => {
  it('parses PROXY_TOKENS and refuses malformed or duplicate entries', () => {
    expect(parseTokens({ proxyToken: 'main-token-123', tokens: 'alice:alice-token-1, bob:bob-token-22:5' })).toEqual([
      { name: 'default', token: 'main-token-123' },
      { name: 'alice', token: 'alice-token-1' },
      { name: 'bob', token: 'bob-token-22', dailyBudgetUsd: 5 },
    ])
    expect(() => parseTokens({ tokens: 'alice:short' })).toThrow(/at least 8/)
    expect(() => parseTokens({ tokens: 'alice:alice-token-1,alice:alice-token-2' })).toThrow(/twice/)
  })

  async function twoClientServer(over: Record<string, unknown> = {}) {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const provider = scriptedProvider(() => okImage(), { delayMs: 300 })
    const server = await startTestServer({
      provider, dataDir: t.dir,
      config: {
        maxQueuedPages: 30, maxConcurrentGenerations: 1,
        tokens: [{ name: 'alice', token: 'alice-token-1' }, { name: 'bob', token: 'bob-token-22' }],
        clientLimits: { ...DEFAULT_CLIENT_LIMITS, maxQueuedPagesPerClient: 20, retriesPerPagePerHour: 2, maxStreamsPerClient: 2 },
        ...over,
      },
    })
    cleanups.push(() => server.stop())
    return { server, provider }
  }
  const as = (who: 'alice' | 'bob') => ({ Authorization: `Bearer ${who === 'alice' ? 'alice-token-1' : 'bob-token-22'}` })

  it('one client cannot take the whole queue: the second client\'s small batch is accepted', async () => {
    const { server } = await twoClientServer()
    const base = `${server.url}/api/v1/slide-generations/batches`
    expect((await postJson(base, body(10), as('alice'))).status).toBe(202)
    expect((await postJson(base, body(10), as('alice'))).status).toBe(202)
    const third = await postJson(base, body(5), as('alice'))
    expect(third.status).toBe(429)
    expect(third.body.error.code).toBe('client_queue_full')
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/)
    expect((await postJson(base, body(3), as('bob'))).status).toBe(202)
  })

  it('a batch belongs to its client: others get 404 for progress, events, cancel and retry', async () => {
    const { server } = await twoClientServer()
    const base = `${server.url}/api/v1/slide-generations/batches`
    const mine = await postJson(base, body(1), as('alice'))
    const id = mine.body.batch_id
    expect((await getJson(`${base}/${id}/progress`, as('alice'))).status).toBe(200)
    expect((await getJson(`${base}/${id}/progress`, as('bob'))).status).toBe(404)
    expect((await getJson(`${base}/${id}/events`, as('bob'))).status).toBe(404)
    expect((await postJson(`${base}/${id}/cancel`, {}, as('bob'))).status).toBe(404)
    expect((await postJson(`${base}/${id}/pages/1/retry`, {}, as('bob'))).status).toBe(404)
    expect((await getJson(`${base}/${id}/progress`, as('alice'))).body.status).not.toBe('cancelled')
  })

  it('limits manual retries of one page per hour and open streams per client', async () => {
    const { server } = await twoClientServer()
    const base = `${server.url}/api/v1/slide-generations/batches`
    const id = (await postJson(base, body(1), as('alice'))).body.batch_id
    const s1 = await openSse(`${base}/${id}/events`, as('alice'))
    const s2 = await openSse(`${base}/${id}/events`, as('alice'))
    const third = await getJson(`${base}/${id}/progress`, as('alice'))
    expect(third.status).toBe(200)
    const s3 = await fetch(`${base}/${id}/events`, { headers: as('alice') })
    expect(s3.status).toBe(429)
    expect(((await s3.json()) as { error: { code: string } }).error.code).toBe('too_many_streams')
    await s1.waitFor(e => e.event === 'done')
    await s2.closed
    await s1.closed
    const codes: number[] = []
    for (let i = 0; i < 3; i++) {
      const r = await postJson(`${base}/${id}/pages/1/retry`, {}, as('alice'))
      codes.push(r.status)
      if (r.status === 202) {
        const s = await openSse(`${base}/${id}/events`, as('alice'))
        await s.waitFor(e => e.event === 'done')
        await s.closed
      } else {
        expect(r.body.error.code).toBe('rate_limited')
      }
    }
    expect(codes).toEqual([202, 202, 429])
  })
})
