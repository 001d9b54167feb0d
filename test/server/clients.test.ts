// Clients in public: who a caller is (a token from PROXY_TOKENS_FILE, or the IP — X-Forwarded-For only
// with TRUST_PROXY), the same guards on deck batches as on /batches, and create-then-cancel churn
// counted at the fake Gemini.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NANO_BANANA_TEMPLATES } from '../../plugin/configs/nanoBananaTemplates.js'
import { startServer } from '../../server/app.js'
import { DEFAULT_CLIENT_LIMITS, parseTokens, WRONG_TOKENS } from '../../server/clients.js'
import { ConfigError, loadConfig } from '../../server/config.js'
import { createMemoryLogger } from '../../server/logger.js'
import { createProvider } from '../../server/providers/index.js'
import { startFakeGemini } from '../fakes/geminiServer.js'
import { fakePublicDir, getJson, okImage, pages, postJson, scriptedProvider, startTestServer, tempDir, waitUntil } from './helpers.js'
import { fixture } from './pptx/helpers.js'

const BATCHES = '/api/v1/slide-generations/batches'
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})
const body = (n: number) => ({ template_id: 'nano_banana_1', deck_title: 'Deck', pages: pages(n), options: { style_chain: false } })

describe('PROXY_TOKENS_FILE', () => {
  it('reads name, token and an optional daily budget per line; a bad file is a clear start-up error', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const file = path.join(t.dir, 'tokens')
    await writeFile(file, '# clients of this proxy\nalice  alice-token-1\n\nbob\tbob-token-22 2.5   # the class laptop\n')
    expect(parseTokens({ tokensFile: file })).toEqual([
      { name: 'alice', token: 'alice-token-1' },
      { name: 'bob', token: 'bob-token-22', dailyBudgetUsd: 2.5 },
    ])
    const config = loadConfig({ GEMINI_API_KEY: 'AIza-x', PROXY_TOKENS_FILE: file })
    expect(config.tokens.map(c => c.name)).toEqual(['alice', 'bob'])
    // tokens given: the proxy may listen on the network
    expect(config.exposure.tokenRequired).toBe(true)
    expect(config.host).toBe('0.0.0.0')

    const bad = async (text: string | null, message: RegExp) => {
      const f = path.join(t.dir, `bad-${Math.random()}`)
      if (text !== null) await writeFile(f, text)
      let err: unknown
      try { loadConfig({ GEMINI_API_KEY: 'AIza-x', PROXY_TOKENS_FILE: f }) } catch (e) { err = e }
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as Error).message).toMatch(message)
    }
    await bad(null, /^PROXY_TOKENS_FILE cannot be read \(ENOENT: /)
    await bad('carol short\n', /PROXY_TOKENS_FILE: the token of "carol" must be at least 8 characters/)
    await bad('dave dave-token-1 lots\n', /PROXY_TOKENS_FILE: the daily budget of "dave" must be a number of US dollars \(got "lots"\)/)
    await bad('erin erin-token-1 5 extra\n', /PROXY_TOKENS_FILE lines must look like "alice token1 \[daily budget in USD\]"/)
    await bad('frank frank-token-1\nfrank frank-token-2\n', /listed twice/)
  })
})

describe('TRUST_PROXY: clients by IP address', () => {
  async function ipServer(trustProxy: boolean | number) {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const server = await startTestServer({
      provider: scriptedProvider(() => 'hang'), dataDir: t.dir,
      config: { maxConcurrentGenerations: 1, trustProxy, clientLimits: { ...DEFAULT_CLIENT_LIMITS, maxQueuedPagesPerClient: 2 } },
    })
    cleanups.push(() => server.stop())
    return `${server.url}${BATCHES}`
  }
  const from = (xff: string) => ({ 'X-Forwarded-For': xff })

  it('off (the default): X-Forwarded-For is ignored, so a client cannot pose as others to escape its share or see their batches', async () => {
    const base = await ipServer(false)
    const first = await postJson(base, body(2), from('203.0.113.1'))
    expect(first.status).toBe(202)
    // another forged address is still the same client (127.0.0.1): its queue share is used up
    const forged = await postJson(base, body(1), from('203.0.113.2'))
    expect(forged.status).toBe(429)
    expect(forged.body.error.code).toBe('client_queue_full')
    expect((await getJson(`${base}/${first.body.batch_id}/progress`, from('198.51.100.9'))).status).toBe(200)
  })

  it('on (behind nginx): the address nginx appended is the client; an address the caller prepended is not', async () => {
    const base = await ipServer(1)
    const first = await postJson(base, body(2), from('203.0.113.1'))
    expect(first.status).toBe(202)
    // another client has its own share and cannot see the first one's batch
    expect((await postJson(base, body(2), from('203.0.113.2'))).status).toBe(202)
    expect((await getJson(`${base}/${first.body.batch_id}/progress`, from('203.0.113.2'))).status).toBe(404)
    // a forged first entry: nginx's $proxy_add_x_forwarded_for appends the real address last
    expect((await getJson(`${base}/${first.body.batch_id}/progress`, from('203.0.113.2, 203.0.113.1'))).status).toBe(200)
    const again = await postJson(base, body(1), from('203.0.113.2, 203.0.113.1'))
    expect(again.body.error.code).toBe('client_queue_full')
  })

  it('IPv6: one /64 is one client (its holder has all 2^64 addresses); another /64 and an IPv4-mapped address are their own', async () => {
    const base = await ipServer(1)
    expect((await postJson(base, body(2), from('2001:db8:1:2::1'))).status).toBe(202)
    // the same /64, other low 64 bits and another spelling: its queue share is used up
    for (const same of ['2001:db8:1:2::2', '2001:db8:1:2:ffff:ffff:ffff:9', '2001:0DB8:0001:0002:0000:0000:0000:0003']) {
      const res = await postJson(base, body(1), from(same))
      expect(res.status, same).toBe(429)
      expect(res.body.error.code, same).toBe('client_queue_full')
    }
    // the next /64 is another line, another client
    const other = await postJson(base, body(2), from('2001:db8:1:3::1'))
    expect(other.status).toBe(202)
    expect((await getJson(`${base}/${other.body.batch_id}/progress`, from('2001:db8:1:2::1'))).status).toBe(404)
    expect((await getJson(`${base}/${other.body.batch_id}/progress`, from('2001:db8:1:3::abcd'))).status).toBe(200)
    // an IPv4-mapped IPv6 address is that IPv4 client
    expect((await postJson(base, body(2), from('::ffff:203.0.113.7'))).status).toBe(202)
    expect((await postJson(base, body(1), from('203.0.113.7'))).body.error.code).toBe('client_queue_full')
  })
})

describe('guessing tokens', () => {
  it('an address that sent WRONG_TOKENS.points wrong tokens waits (429 with Retry-After), even with the right one; others are not held up', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const server = await startTestServer({
      provider: scriptedProvider(() => okImage()), dataDir: t.dir,
      config: { trustProxy: 1, tokens: [{ name: 'alice', token: 'alice-token-1' }] },
    })
    cleanups.push(() => server.stop())
    const progress = `${server.url}${BATCHES}/b_0123456789abcdef01234567/progress`
    const as = (token: string, ip: string) => ({ Authorization: `Bearer ${token}`, 'X-Forwarded-For': ip })
    for (let i = 0; i < WRONG_TOKENS.points; i++) expect((await getJson(progress, as(`guess-${i}-xxxx`, '203.0.113.5'))).status).toBe(401)
    const held = await getJson(progress, as('guess-last-xxxx', '203.0.113.5'))
    expect(held.status).toBe(429)
    expect(held.body.error.code).toBe('rate_limited')
    expect(Number(held.headers.get('retry-after'))).toBeGreaterThan(500)
    // the right token from that address waits too: guessing cannot go on until it hits
    expect((await getJson(progress, as('alice-token-1', '203.0.113.5'))).status).toBe(429)
    // another address with the right token is served (404: no such batch, but past the token check)
    expect((await getJson(progress, as('alice-token-1', '203.0.113.6'))).status).toBe(404)
  })
})

describe('deck batches have the same guards as /batches', () => {
  it('budget, pages per minute and ownership apply to POST /decks and the .pptx download', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const server = await startTestServer({
      provider: scriptedProvider(() => okImage()), dataDir: t.dir, publicDir: await fakePublicDir(t.dir), price: () => 0.24,
      config: {
        tokens: [{ name: 'alice', token: 'alice-token-1', dailyBudgetUsd: 0 }, { name: 'bob', token: 'bob-token-22' }],
        clientLimits: { ...DEFAULT_CLIENT_LIMITS, pagesPerMinute: 4 },
      },
    })
    cleanups.push(() => server.stop())
    const upload = async (token: string) => {
      const f = new FormData()
      f.append('template_id', NANO_BANANA_TEMPLATES[0].id)
      f.append('file', new Blob([new Uint8Array(fixture('lo-mixed-16x9.pptx'))]), 'deck.pptx') // 3 slides
      const res = await fetch(`${server.url}/api/v1/decks`, { method: 'POST', body: f, headers: { Authorization: `Bearer ${token}` } })
      return { status: res.status, body: await res.json() as { batch_id: string; error: { code: string } } }
    }
    const alice = { Authorization: 'Bearer alice-token-1' }
    // alice's own budget ($0) can never allow a call: refused as such (422, not a 429 that never ends)
    const refused = await upload('alice-token-1')
    expect(refused.status).toBe(422)
    expect(refused.body.error.code).toBe('budget_below_price')
    const bobs = await upload('bob-token-22')
    expect(bobs.status).toBe(202)
    // the deck batch is bob's: alice sees neither its progress nor its deck
    expect((await getJson(`${server.url}${BATCHES}/${bobs.body.batch_id}/progress`, alice)).status).toBe(404)
    expect((await getJson(`${server.url}${BATCHES}/${bobs.body.batch_id}/pptx`, alice)).status).toBe(404)
    expect((await getJson(`${server.url}${BATCHES}/${bobs.body.batch_id}/progress`, { Authorization: 'Bearer bob-token-22' })).status).toBe(200)
    // 3 + 3 pages > 4 per minute
    const again = await upload('bob-token-22')
    expect(again.status).toBe(429)
    expect(again.body.error.code).toBe('rate_limited')
  })
})

describe('create-then-cancel churn', () => {
  it('pages cancelled before they started never start, and churn starts no more upstream calls than the limits allow', async () => {
    const t = await tempDir('nb-churn-')
    cleanups.push(t.cleanup)
    // every call hangs until the proxy aborts it (a cancel)
    const fake = await startFakeGemini({ mislabelRate: 0, validKey: 'churn-key', script: () => 'hang' })
    cleanups.push(() => fake.close())
    const config = loadConfig({
      GEMINI_API_KEY: 'churn-key', GEMINI_BASE_URL: fake.url, MAX_CONCURRENT_GENERATIONS: '2', PROXY_TOKEN: 'churn-token-1',
      DATA_DIR: path.join(t.dir, 'data'), IMAGE_THUMBNAIL_SIZE: '64x36', DEFAULT_RESOLUTION: '1K',
    })
    // 12 pages per minute for this test (the variable's floor is 100)
    config.clientLimits = { ...config.clientLimits, pagesPerMinute: 12 }
    const srv = await startServer({ config, logger: createMemoryLogger(), provider: createProvider(config.provider), publicDir: await fakePublicDir(t.dir) })
    cleanups.push(() => srv.stop())
    const auth = { Authorization: 'Bearer churn-token-1' }
    const codes: number[] = []
    for (let i = 0; i < 10; i++) {
      const created = await postJson(`${srv.url}${BATCHES}`, body(3), auth)
      codes.push(created.status)
      if (created.status !== 202) {
        expect(created.body.error.code).toBe('rate_limited')
        continue
      }
      // let this batch's first two pages reach the upstream (the slots the last cancel freed), then cancel
      const accepted = codes.filter(c => c === 202).length
      await waitUntil(() => fake.stats.requests === 2 * accepted)
      expect((await postJson(`${srv.url}${BATCHES}/${created.body.batch_id}/cancel`, {}, auth)).body.status).toBe('cancelled')
    }
    await waitUntil(() => fake.stats.inFlight === 0)
    // a quiet moment: nothing cancelled may start afterwards
    await new Promise(r => setTimeout(r, 300))
    const accepted = codes.filter(c => c === 202).length
    expect(accepted).toBe(4) // 4 × 3 pages = the 12 per minute
    // pages 1 and 2 of each accepted batch reached the upstream (2 slots); page 3 of none did
    expect(fake.stats.requests).toBe(2 * accepted)
    expect(fake.stats.maxInFlight).toBe(2)
    const bodies = fake.lastRequests.map(r => JSON.stringify(r.body))
    expect(bodies.filter(b => b.includes('Point B 3'))).toHaveLength(0)
    expect(bodies.filter(b => b.includes('Point B 1'))).toHaveLength(accepted)
  })
})
