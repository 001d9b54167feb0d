// Webhooks end to end: a receiver on 127.0.0.1 gets one signed delivery per finished batch; a failing
// receiver is retried with backoff, then given up on; destinations are checked when the batch is
// created (WEBHOOK_SECRET, WEBHOOK_ALLOWED_HOSTS, scheme) and internal addresses are refused after DNS.
import { createHmac } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startServer, type RunningServer } from '../../server/app.js'
import { loadConfig } from '../../server/config.js'
import { createMemoryLogger } from '../../server/logger.js'
import { ProviderError } from '../../server/providers/types.js'
import type { WebhookSettings } from '../../server/webhooks.js'
import { fakePublicDir, okImage, pages, postJson, scriptedProvider, tempDir, testConfig, testPrompt, waitUntil } from './helpers.js'
import { sample } from './promText.js'

const BATCHES = '/api/v1/slide-generations/batches'
const SECRET = 'webhook-secret-0123456789'

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

interface Delivery { headers: Record<string, string | string[] | undefined>; body: string; at: number }

/** A receiver that records every request and answers with `status(n)` for the n-th one (1-based). */
async function receiver(status: (n: number) => number): Promise<{ url: string; got: Delivery[] }> {
  const got: Delivery[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() })
      res.statusCode = status(got.length)
      res.end('ok')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/nano-banana`, got }
}

async function proxy(webhooks: WebhookSettings): Promise<RunningServer & { logLines: string[] }> {
  const t = await tempDir('nb-webhooks-')
  cleanups.push(t.cleanup)
  const logger = createMemoryLogger([SECRET])
  const srv = await startServer({
    config: { ...testConfig(path.join(t.dir, 'data')), webhooks },
    logger,
    provider: scriptedProvider(page => (page === 2 ? new ProviderError('refused', 'safety_refused', 'refused') : okImage())),
    publicDir: await fakePublicDir(t.dir),
    buildPrompt: testPrompt,
  })
  cleanups.push(() => srv.stop())
  return Object.assign(srv, { logLines: logger.lines })
}

const LOCAL_OK: WebhookSettings = {
  secret: SECRET, allowedHosts: ['127.0.0.1'], policy: { allowPrivate: false, allowList: ['127.0.0.1'] }, maxAttempts: 3, baseDelayMs: 50,
}

async function batch(srv: RunningServer, callback: string | undefined, n = 3) {
  return postJson(`${srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'hooked', pages: pages(n), options: { style_chain: false }, ...(callback ? { callback_url: callback } : {}) })
}

const metric = async (srv: RunningServer, outcome: string) => sample(await srv.metrics.registry.metrics(), 'nano_banana_webhook_deliveries_total', { outcome }) ?? 0

describe('webhooks', () => {
  it('one signed delivery per finished batch: the done event plus the results', async () => {
    const hook = await receiver(() => 204)
    const srv = await proxy(LOCAL_OK)
    const a = await batch(srv, hook.url, 3)
    const b = await batch(srv, hook.url, 1)
    const none = await batch(srv, undefined, 1)
    expect([a.status, b.status, none.status], JSON.stringify(a.body)).toEqual([202, 202, 202])
    await waitUntil(() => hook.got.length >= 2)
    await srv.webhooks.flush()
    await new Promise(r => setTimeout(r, 200)) // nothing else arrives
    expect(hook.got).toHaveLength(2)

    const byBatch = new Map(hook.got.map(d => [JSON.parse(d.body).batch_id as string, d]))
    const d = byBatch.get(a.body.batch_id)!
    // the signature is HMAC-SHA256 of the raw body under WEBHOOK_SECRET
    expect(d.headers['x-nano-banana-signature']).toBe('sha256=' + createHmac('sha256', SECRET).update(d.body).digest('hex'))
    expect(d.headers['x-nano-banana-event']).toBe('batch.done')
    expect(d.headers['x-nano-banana-delivery']).toMatch(/^[0-9a-f-]{36}$/)
    expect(d.headers['content-type']).toBe('application/json')
    const body = JSON.parse(d.body)
    expect(body).toMatchObject({
      event: 'batch.done', batch_id: a.body.batch_id, deck_title: 'hooked', template_id: 'nano_banana_1',
      done: { status: 'partial', completed_pages: 2, failed_pages: 1 },
      progress: { total_pages: 3, completed_pages: 2, failed_pages: 1, percentage: 100 },
    })
    expect(Date.parse(body.sent_at)).toBeGreaterThan(Date.now() - 60_000)
    expect(body.results.map((r: { status: string }) => r.status)).toEqual(['completed', 'failed', 'completed'])
    expect(body.results[0].image_url).toMatch(/^\/api\/v1\/images\/[0-9a-f]{32}\.png$/)
    expect(body.results[1]).toMatchObject({ error_code: 'safety_refused', image_url: null })
    // the secret is in no log line; the delivery is
    expect(srv.logLines.join('\n')).not.toContain(SECRET)
    expect(srv.logLines.filter(l => JSON.parse(l).msg === 'webhook delivered')).toHaveLength(2)
    expect(await metric(srv, 'delivered')).toBe(2)
    expect(JSON.parse(byBatch.get(b.body.batch_id)!.body).done.status).toBe('completed')
  })

  it('a failing receiver is retried with backoff (same delivery id), then given up on', async () => {
    const hook = await receiver(() => 503)
    const srv = await proxy(LOCAL_OK)
    await batch(srv, hook.url, 1)
    await waitUntil(() => hook.got.length >= 1)
    await srv.webhooks.flush()
    expect(hook.got).toHaveLength(3)
    expect(new Set(hook.got.map(d => d.headers['x-nano-banana-delivery'])).size).toBe(1)
    // backoff: 50 ms, then 100 ms
    expect(hook.got[1].at - hook.got[0].at).toBeGreaterThanOrEqual(45)
    expect(hook.got[2].at - hook.got[1].at).toBeGreaterThanOrEqual(95)
    const lines = srv.logLines.map(l => JSON.parse(l))
    expect(lines.filter(l => l.msg === 'webhook attempt failed, retrying')).toHaveLength(2)
    expect(lines.find(l => l.msg === 'webhook given up')).toMatchObject({ attempt: 3, reason: 'HTTP 503', host: hook.url.split('/')[2] })
    expect([await metric(srv, 'retried'), await metric(srv, 'given_up'), await metric(srv, 'delivered')]).toEqual([2, 1, 0])
  })

  it('a transient failure is delivered on a later attempt; a 4xx answer is not retried', async () => {
    const flaky = await receiver(n => (n === 1 ? 500 : 200))
    const rejecting = await receiver(() => 400)
    const srv = await proxy(LOCAL_OK)
    await batch(srv, flaky.url, 1)
    await batch(srv, rejecting.url, 1)
    await waitUntil(() => flaky.got.length >= 2 && rejecting.got.length >= 1)
    await srv.webhooks.flush()
    expect(flaky.got).toHaveLength(2)
    expect(rejecting.got).toHaveLength(1)
    expect([await metric(srv, 'delivered'), await metric(srv, 'given_up')]).toEqual([1, 1])
  })

  it('refuses a callback_url the proxy would not deliver to, when the batch is created', async () => {
    const noSecret = await proxy({ allowedHosts: null, policy: { allowPrivate: false, allowList: [] }, maxAttempts: 3 })
    const r1 = await batch(noSecret, 'https://hooks.example.com/x')
    expect(r1.status).toBe(400)
    expect(r1.body.error.details).toEqual([{ path: 'callback_url', message: 'This proxy sends no webhooks: WEBHOOK_SECRET is not set' }])

    const srv = await proxy({ ...LOCAL_OK, allowedHosts: ['hooks.example.com', '*.corp.example'] })
    for (const [url, message] of [
      ['https://evil.example/x', 'The host evil.example is not in WEBHOOK_ALLOWED_HOSTS'],
      ['https://corp.example/x', 'The host corp.example is not in WEBHOOK_ALLOWED_HOSTS'],
      ['ftp://hooks.example.com/x', 'Only http and https callback URLs are allowed'],
      ['https://user:pw@hooks.example.com/x', 'Callback URLs with credentials are not allowed'],
      ['not a url', 'Not a valid URL'],
    ]) {
      const r = await batch(srv, url)
      expect(r.status, url).toBe(400)
      expect(r.body.error).toMatchObject({ code: 'invalid_request', details: [{ path: 'callback_url', message }] })
    }
    expect((await batch(srv, 'https://a.corp.example/hook')).status).toBe(202)
    expect((await batch(srv, 'https://hooks.example.com/hook')).status).toBe(202)
  })

  it('never delivers to an internal address (checked after DNS), unless WEBHOOK_ALLOW_PRIVATE_HOSTS lists it', async () => {
    const hook = await receiver(() => 200)
    const srv = await proxy({ ...LOCAL_OK, allowedHosts: null, policy: { allowPrivate: false, allowList: [] } })
    // `localhost` resolves to 127.0.0.1: refused by address, not by name
    const created = await batch(srv, hook.url.replace('127.0.0.1', 'localhost'), 1)
    expect(created.status).toBe(202)
    await waitUntil(async () => (await metric(srv, 'refused')) === 1)
    await srv.webhooks.flush()
    expect(hook.got).toHaveLength(0)
    expect(srv.logLines.map(l => JSON.parse(l)).find(l => l.msg === 'webhook refused')?.reason).toMatch(/internal address/)
  })
})

describe('webhook settings', () => {
  it('reads and checks WEBHOOK_* variables', () => {
    const c = loadConfig({ WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOWED_HOSTS: 'Hooks.Example.com, *.corp.example, 10.0.0.0/8', WEBHOOK_ALLOW_PRIVATE_HOSTS: '10.0.0.0/8', WEBHOOK_MAX_ATTEMPTS: '5' })
    expect(c.webhooks).toEqual({ secret: SECRET, allowedHosts: ['hooks.example.com', '*.corp.example', '10.0.0.0/8'], policy: { allowPrivate: false, allowList: ['10.0.0.0/8'] }, maxAttempts: 5 })
    expect(loadConfig({}).webhooks).toEqual({ allowedHosts: null, policy: { allowPrivate: false, allowList: [] }, maxAttempts: 8 })
    expect(() => loadConfig({ WEBHOOK_SECRET: 'short' })).toThrow(/^WEBHOOK_SECRET must be at least 16 characters long$/)
    expect(() => loadConfig({ WEBHOOK_ALLOWED_HOSTS: 'a b' })).toThrow(/^WEBHOOK_ALLOWED_HOSTS must be/)
    expect(() => loadConfig({ WEBHOOK_MAX_ATTEMPTS: '0' })).toThrow(/^WEBHOOK_MAX_ATTEMPTS must be/)
    expect(() => loadConfig({ WEBHOOK_ALLOW_PRIVATE_HOSTS: 'intranet' })).toThrow(/^WEBHOOK_ALLOW_PRIVATE_HOSTS must be/)
  })
})
