// /livez, /readyz and the JSON 404 for unknown /api/ paths, through HTTP against the real app.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runChecks } from '../../server/probes.js'
import { ProviderError } from '../../server/providers/types.js'
import { dropRedisPrefix, redisSetup, TEST_REDIS_URL } from './setups.js'
import { fakePublicDir, getJson, okImage, pages, postJson, scriptedProvider, startTestServer, tempDir, waitUntil, type TestServer } from './helpers.js'

const BATCHES = '/api/v1/slide-generations/batches'

describe('probes', () => {
  let srv: TestServer
  let root: string
  let dataDir: string
  let cleanup: () => Promise<void>
  let badKey = false
  let hang = false

  beforeAll(async () => {
    const t = await tempDir()
    cleanup = t.cleanup
    root = t.dir
    dataDir = path.join(t.dir, 'data')
    const demoDir = path.join(t.dir, 'demo')
    await mkdir(demoDir)
    await writeFile(path.join(demoDir, 'index.html'), '<!doctype html><title>demo</title>')
    srv = await startTestServer({
      provider: scriptedProvider(() => (badKey ? new ProviderError('fatal', 'invalid_api_key', 'API key not valid') : okImage())),
      dataDir, publicDir: await fakePublicDir(t.dir), demoDir,
      readinessChecks: [{ name: 'redis', check: () => (hang ? new Promise<void>(() => {}) : Promise.resolve()) }],
      readinessTimeoutMs: 300,
    })
  })
  afterAll(async () => {
    await srv.stop()
    await cleanup()
  })

  it('/livez answers while the process serves HTTP', async () => {
    const r = await getJson(`${srv.url}/livez`)
    expect(r.status).toBe(200)
    expect(r.body.ok).toBe(true)
    expect(typeof r.body.uptime_s).toBe('number')
  })

  it('/readyz is 200 with every check, and 503 naming storage while DATA_DIR is not writable', async () => {
    const ok = await getJson(`${srv.url}/readyz`)
    expect(ok.status).toBe(200)
    expect(ok.body.ok).toBe(true)
    expect(Object.keys(ok.body.checks).sort()).toEqual(['provider', 'redis', 'storage'])

    // the directory disappears and a file takes its place: every write fails (works as root too,
    // where a chmod would not stop writes)
    const moved = path.join(root, 'data.moved')
    await rename(dataDir, moved)
    await writeFile(dataDir, 'not a directory')
    try {
      const bad = await getJson(`${srv.url}/readyz`)
      expect(bad.status).toBe(503)
      expect(bad.body.ok).toBe(false)
      expect(bad.body.reason).toMatch(/^storage: .*data.* is not writable \(ENOTDIR\)$/)
      expect(bad.body.checks.storage.ok).toBe(false)
      expect(bad.body.checks.provider.ok).toBe(true)
    } finally {
      await rm(dataDir)
      await rename(moved, dataDir)
    }
    expect((await getJson(`${srv.url}/readyz`)).status).toBe(200)
  })

  it('/readyz is 503 while the upstream rejects the configured key, ready again after a good answer', async () => {
    badKey = true
    try {
      const created = await postJson(`${srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'k', pages: pages(1), options: { style_chain: false } })
      expect(created.status).toBe(202)
      await waitUntil(async () => (await getJson(`${srv.url}${BATCHES}/${created.body.batch_id}/progress`)).body.status === 'failed')
      const r = await getJson(`${srv.url}/readyz`)
      expect(r.status).toBe(503)
      expect(r.body.reason).toMatch(/^provider: the upstream answered invalid_api_key/)
    } finally {
      badKey = false
    }
    const again = await postJson(`${srv.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'k2', pages: pages(1), options: { style_chain: false } })
    await waitUntil(async () => (await getJson(`${srv.url}${BATCHES}/${again.body.batch_id}/progress`)).body.status === 'completed')
    expect((await getJson(`${srv.url}/readyz`)).status).toBe(200)
  })

  it('a check that does not answer fails the probe after its timeout instead of hanging it', async () => {
    hang = true
    try {
      const r = await getJson(`${srv.url}/readyz`)
      expect(r.status).toBe(503)
      expect(r.body.reason).toBe('redis: no answer within 300 ms')
    } finally {
      hang = false
    }
  })

  it('unknown paths under /api/ are the api.md JSON 404, never the demo page', async () => {
    for (const [method, p] of [['GET', '/api'], ['GET', '/api/'], ['GET', '/api/v2/health'], ['GET', '/api/health'], ['POST', '/api/v1/nope'], ['DELETE', '/api/v1/health'], ['GET', '/api/v1/images/x/y']] as const) {
      const res = await fetch(`${srv.url}${p}`, { method })
      const text = await res.text()
      expect(res.status, `${method} ${p}`).toBe(404)
      expect(res.headers.get('content-type'), `${method} ${p}`).toMatch(/^application\/json/)
      expect(JSON.parse(text).error.code, `${method} ${p}`).toBe('not_found')
    }
    // the demo still has its SPA fallback elsewhere
    const deep = await fetch(`${srv.url}/editor/x`)
    expect(await deep.text()).toContain('<title>demo</title>')
  })
})

describe('runChecks', () => {
  it('reports every check and names the first failing one', async () => {
    const r = await runChecks([
      { name: 'a', check: async () => {} },
      { name: 'b', check: async () => { throw new Error('down') } },
      { name: 'c', check: () => { throw new Error('sync throw') } },
    ], 100)
    expect(r.ok).toBe(false)
    expect(r.reason).toBe('b: down')
    expect(r.checks.a.ok).toBe(true)
    expect(r.checks.c).toMatchObject({ ok: false, reason: 'sync throw' })
  })
})

describe('readiness during shutdown', () => {
  it('/readyz answers 503 "shutting down" once the proxy starts closing', async () => {
    const t = await tempDir()
    const srv = await startTestServer({ provider: scriptedProvider(() => okImage()), dataDir: path.join(t.dir, 'data'), publicDir: await fakePublicDir(t.dir) })
    try {
      expect((await getJson(`${srv.url}/readyz`)).status).toBe(200)
      await srv.close()
      const r = await getJson(`${srv.url}/readyz`)
      expect(r.status).toBe(503)
      expect(r.body.reason).toBe('shutting down')
    } finally {
      await srv.stop()
      await t.cleanup()
    }
  })
})

describe('readiness with Redis (REDIS_URL)', () => {
  it('/readyz checks Redis, is 503 naming it while the connection is down, and ready again when it is back', { timeout: 60_000 }, async () => {
    // a TCP forwarder in front of the test Redis, so the test can cut the connection
    const target = new URL(TEST_REDIS_URL)
    const sockets = new Set<Socket>()
    const forwarder = createNetServer(client => {
      const upstream = connect(Number(target.port || 6379), target.hostname)
      for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => s.destroy()) }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>(resolve => forwarder.listen(0, '127.0.0.1', resolve))
    const port = (forwarder.address() as AddressInfo).port
    const t = await tempDir()
    const setup = redisSetup()
    const srv = await startTestServer({
      provider: scriptedProvider(() => okImage()), dataDir: path.join(t.dir, 'data'), publicDir: await fakePublicDir(t.dir),
      config: { redis: { url: `redis://127.0.0.1:${port}`, prefix: setup.prefix } }, readinessTimeoutMs: 1000,
    })
    try {
      const ok = await getJson(`${srv.url}/readyz`)
      expect(ok.status, ok.text).toBe(200)
      expect(ok.body.checks.redis.ok).toBe(true)
      // Redis goes away: new connections are refused, the open ones are cut
      forwarder.close()
      for (const s of sockets) s.destroy()
      await waitUntil(async () => (await getJson(`${srv.url}/readyz`)).status === 503, 5000, 50)
      const down = await getJson(`${srv.url}/readyz`)
      expect(down.body.reason).toMatch(/^redis: (a connection is (reconnecting|connecting|close|end)|no answer within 1000 ms)$/)
      expect(down.body.checks.storage.ok).toBe(true)
      // Redis is back on the same address: ready again once ioredis has reconnected
      await new Promise<void>(resolve => forwarder.listen(port, '127.0.0.1', resolve))
      await waitUntil(async () => (await getJson(`${srv.url}/readyz`)).status === 200, 15_000, 100)
    } finally {
      if (!forwarder.listening) await new Promise<void>(resolve => forwarder.listen(port, '127.0.0.1', resolve))
      await srv.stop()
      forwarder.close()
      for (const s of sockets) s.destroy()
      await t.cleanup()
      await dropRedisPrefix(setup.prefix)
    }
  })
})
