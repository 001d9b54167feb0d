// Admission (server/admission.ts) answers what is true and counts only what it accepts (tester B11,
// m2, m3, m4): a budget smaller than one image is a 422 that says so (not a Retry-After that never
// comes true); a bad request is a 400 even while the budget is used up, and uses up no limit; a
// refused retry (page busy) does not use the page's retry allowance; a per-minute limit below a
// batch's size says the batch can never fit.
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_CLIENT_LIMITS } from '../../server/clients.js'
import { checkBudgetFloor } from '../../server/budgetFloor.js'
import { ConfigError, loadConfig } from '../../server/config.js'
import { getJson, okImage, pages, postJson, scriptedProvider, startTestServer, tempDir, waitUntil } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

const BATCHES = '/api/v1/slide-generations/batches'
const body = (n: number, extra: Record<string, unknown> = {}) => ({ template_id: 'nano_banana_1', deck_title: 'Deck', pages: pages(n), options: { style_chain: false, ...extra } })
const as = (token: string) => ({ Authorization: `Bearer ${token}` })

async function server(opts: Omit<Parameters<typeof startTestServer>[0], 'dataDir'>) {
  const t = await tempDir()
  cleanups.push(t.cleanup)
  const s = await startTestServer({ ...opts, dataDir: t.dir })
  cleanups.push(() => s.stop())
  return s
}

describe('a budget below the price of one image (B11)', () => {
  it('start-up: below every size is a configuration error naming the variable and the price; below some sizes, or a client\'s, a warning; PRICE_PER_IMAGE_USD is the price compared', () => {
    const key = { GEMINI_API_KEY: 'AIza-x' }
    expect(() => loadConfig({ ...key, BUDGET_USD_PER_10MIN: '0.1' })).toThrow(ConfigError)
    expect(() => loadConfig({ ...key, BUDGET_USD_PER_DAY: '0.1' })).toThrow(/BUDGET_USD_PER_DAY=0\.1 is below the price of one image: gemini-3-pro-image costs \$0\.134 at 1K/)
    expect(() => loadConfig({ ...key, BUDGET_USD_PER_10MIN: '0.1', PRICE_PER_IMAGE_USD: '0.05' })).not.toThrow()
    expect(() => loadConfig({ ...key, BUDGET_USD_PER_10MIN: '0.1', NANO_BANANA_MODEL: 'gemini-3.1-flash-image' })).not.toThrow() // 1K $0.067
    // the offline preview is free: nothing to compare
    expect(() => loadConfig({ BUDGET_USD_PER_10MIN: '0' })).not.toThrow()
    const c = loadConfig({ ...key, BUDGET_USD_PER_10MIN: '0.2', PROXY_TOKENS: 'bob:bob-token-22:0.1' })
    expect(checkBudgetFloor({ model: c.provider.model, priceOverride: c.priceOverride, budget: c.budget, tokens: c.tokens }).warnings).toEqual([
      'BUDGET_USD_PER_10MIN=0.2 is below the price of one 4K image ($0.24) of gemini-3-pro-image: batches at that size are refused (422 budget_below_price)',
      'client "bob" has a daily budget of $0.1 (PROXY_TOKENS / PROXY_TOKENS_FILE), below the price of one image ($0.134 at 1K): its batches are refused (422 budget_below_price)',
    ])
  })

  it('a batch or retry whose one page costs more than a whole budget gets 422 budget_below_price, without Retry-After; a size that fits is accepted', async () => {
    const provider = scriptedProvider(() => okImage())
    const s = await server({
      provider, price: (_m, r) => (r === '4K' ? 0.24 : 0.134),
      config: { budget: { per10MinUsd: 0.2 }, tokens: [{ name: 'alice', token: 'alice-token-1' }, { name: 'bob', token: 'bob-token-22', dailyBudgetUsd: 0.1 }], clientLimits: DEFAULT_CLIENT_LIMITS },
    })
    const big = await postJson(`${s.url}${BATCHES}`, body(1, { resolution: '4K' }), as('alice-token-1'))
    expect(big.status).toBe(422)
    expect(big.headers.get('retry-after')).toBeNull()
    expect(big.body.error).toMatchObject({ code: 'budget_below_price', message: expect.stringMatching(/^One 4K image costs \$0\.24, more than the proxy's whole budget of \$0\.20 per 10 minutes \(BUDGET_USD_PER_10MIN\)/) })
    const bob = await postJson(`${s.url}${BATCHES}`, body(1, { resolution: '2K' }), as('bob-token-22'))
    expect(bob.status).toBe(422)
    expect(bob.body.error.message).toMatch(/your whole daily budget of \$0\.10/)
    expect(provider.calls).toHaveLength(0)
    const ok = await postJson(`${s.url}${BATCHES}`, body(1, { resolution: '2K' }), as('alice-token-1'))
    expect(ok.status).toBe(202)
    await waitUntil(async () => (await getJson(`${s.url}${BATCHES}/${ok.body.batch_id}/progress`, as('alice-token-1'))).body.status === 'completed')
    expect(provider.calls).toHaveLength(1)
  })
})

describe('validation before budgets and limits (m3)', () => {
  it('an unknown template is a 400 while the budget is used up, and uses none of the pages per minute', async () => {
    const provider = scriptedProvider(() => okImage())
    const s = await server({
      provider, price: () => 0.24, spendPollMs: 20,
      config: { budget: { per10MinUsd: 0.5 }, tokens: [{ name: 'alice', token: 'alice-token-1' }], clientLimits: { ...DEFAULT_CLIENT_LIMITS, pagesPerMinute: 4 } },
    })
    for (let i = 0; i < 3; i++) {
      const bad = await postJson(`${s.url}${BATCHES}`, { ...body(2), template_id: '../../etc/passwd' }, as('alice-token-1'))
      expect(bad.status).toBe(400)
      expect(bad.body.error.code).toBe('unknown_template')
    }
    // the 6 refused pages did not count: 2 + 2 of 4 per minute are accepted
    const first = await postJson(`${s.url}${BATCHES}`, body(2), as('alice-token-1'))
    expect(first.status).toBe(202)
    await waitUntil(async () => (await getJson(`${s.url}${BATCHES}/${first.body.batch_id}/progress`, as('alice-token-1'))).body.status === 'completed')
    // now the budget is used up (0.48 of 0.5): still a 400 for a bad request, a 429 for a good one
    const bad = await postJson(`${s.url}${BATCHES}`, { ...body(1), template_id: 'no_such_template' }, as('alice-token-1'))
    expect(bad.status).toBe(400)
    const good = await postJson(`${s.url}${BATCHES}`, body(2), as('alice-token-1'))
    expect(good.status).toBe(429)
    expect(good.body.error.code).toBe('budget_exhausted')
  })
})

describe('refused retries do not count (m2)', () => {
  it('retries refused with 409 (page busy) or 404 use none of the page\'s hourly retries', async () => {
    let release: () => void = () => undefined
    const gate = new Promise<void>(r => { release = r })
    const provider = scriptedProvider(async () => {
      await gate
      return okImage()
    })
    const s = await server({ provider, config: { tokens: [{ name: 'alice', token: 'alice-token-1' }], clientLimits: { ...DEFAULT_CLIENT_LIMITS, retriesPerPagePerHour: 2 } } })
    const id = (await postJson(`${s.url}${BATCHES}`, body(1), as('alice-token-1'))).body.batch_id
    await waitUntil(() => provider.calls.length === 1)
    for (let i = 0; i < 5; i++) {
      const busy = await postJson(`${s.url}${BATCHES}/${id}/pages/1/retry`, {}, as('alice-token-1'))
      expect(busy.status).toBe(409)
      expect(busy.body.error.code).toBe('page_busy')
    }
    expect((await postJson(`${s.url}${BATCHES}/${id}/pages/7/retry`, {}, as('alice-token-1'))).status).toBe(404)
    release()
    await waitUntil(async () => (await getJson(`${s.url}${BATCHES}/${id}/progress`, as('alice-token-1'))).body.status === 'completed')
    // both of the hour's retries are still there
    for (let i = 0; i < 2; i++) {
      expect((await postJson(`${s.url}${BATCHES}/${id}/pages/1/retry`, {}, as('alice-token-1'))).status).toBe(202)
      await waitUntil(async () => (await getJson(`${s.url}${BATCHES}/${id}/progress`, as('alice-token-1'))).body.status === 'completed')
    }
    const third = await postJson(`${s.url}${BATCHES}/${id}/pages/1/retry`, {}, as('alice-token-1'))
    expect(third.status).toBe(429)
    expect(third.body.error.code).toBe('rate_limited')
  })
})

describe('pages per minute below 100 (m4)', () => {
  it('PAGES_PER_MINUTE_PER_CLIENT may be small; a batch larger than a whole minute\'s allowance gets 422 saying so, without Retry-After', async () => {
    expect(loadConfig({ PAGES_PER_MINUTE_PER_CLIENT: '5' }).clientLimits.pagesPerMinute).toBe(5)
    expect(() => loadConfig({ PAGES_PER_MINUTE_PER_CLIENT: '0' })).toThrow(/PAGES_PER_MINUTE_PER_CLIENT/)
    const provider = scriptedProvider(() => okImage())
    const s = await server({ provider, config: { tokens: [{ name: 'alice', token: 'alice-token-1' }], clientLimits: { ...DEFAULT_CLIENT_LIMITS, pagesPerMinute: 5 } } })
    const big = await postJson(`${s.url}${BATCHES}`, body(6), as('alice-token-1'))
    expect(big.status).toBe(422)
    expect(big.headers.get('retry-after')).toBeNull()
    expect(big.body.error).toMatchObject({ code: 'batch_exceeds_rate_limit', message: expect.stringMatching(/more than this proxy accepts from one client per minute \(5, PAGES_PER_MINUTE_PER_CLIENT\)/) })
    expect((await postJson(`${s.url}${BATCHES}`, body(3), as('alice-token-1'))).status).toBe(202)
    const over = await postJson(`${s.url}${BATCHES}`, body(3), as('alice-token-1'))
    expect(over.status).toBe(429)
    expect(over.body.error.code).toBe('rate_limited')
  })
})
