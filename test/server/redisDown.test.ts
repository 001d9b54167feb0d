// A Redis that goes away while the proxy runs (REDIS_URL): API calls that need the shared state are
// answered at once with 503 storage_unavailable and Retry-After — before, /health waited for ever (its
// connection queues commands until Redis is back) and a new batch took 11 s to end in a 500 — while the
// model catalogue still answers and /readyz says why. When Redis is back, new batches are accepted again.
// The test runs a redis-server of its own (Debian's, as .ci/run installs) on a free port, so it can stop it.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import path from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { startServer } from '../../server/app.js'
import { loadConfig } from '../../server/config.js'
import { createMemoryLogger } from '../../server/logger.js'
import { createProvider } from '../../server/providers/index.js'
import { fakePublicDir, getJson, pages, postJson, tempDir, waitUntil } from './helpers.js'

const BATCHES = '/api/v1/slide-generations/batches'
const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined)
})

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>(resolve => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as { port: number }).port
  await new Promise(resolve => srv.close(resolve))
  return port
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' })
  await waitUntil(async () => {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => undefined)
    const pong = await probe.connect().then(() => probe.ping(), () => null)
    probe.disconnect()
    return pong === 'PONG'
  }, 10_000, 100)
  return child
}

const stopRedis = (child: ChildProcess) => new Promise<void>(resolve => {
  child.once('exit', () => resolve())
  child.kill('SIGKILL')
})

describe('Redis going away while the proxy runs', () => {
  it('answers 503 storage_unavailable at once (not a hang or a 500), keeps the catalogue, and takes batches again when Redis is back', async () => {
    const t = await tempDir('nb-redis-down-')
    cleanups.push(t.cleanup)
    const port = await freePort()
    let redis = await startRedis(port)
    cleanups.push(() => stopRedis(redis))
    const config = loadConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_PREFIX: 'down', DATA_DIR: path.join(t.dir, 'data'), IMAGE_PROVIDER: 'preview' })
    const srv = await startServer({ config, logger: createMemoryLogger(), provider: createProvider(config.provider), publicDir: await fakePublicDir(t.dir) })
    cleanups.push(() => srv.stop())
    const body = { template_id: 'nano_banana_1', pages: pages(1), options: { style_chain: false } }
    expect((await postJson(`${srv.url}${BATCHES}`, body)).status).toBe(202)

    await stopRedis(redis)
    await waitUntil(async () => (await getJson(`${srv.url}/readyz`)).status === 503, 10_000, 100)
    for (const call of [() => postJson(`${srv.url}${BATCHES}`, body), () => getJson(`${srv.url}/api/v1/health`), () => getJson(`${srv.url}${BATCHES}/b_0123456789abcdef01234567/progress`)]) {
      const started = Date.now()
      const res = await call()
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(res.status).toBe(503)
      expect(res.body.error.code).toBe('storage_unavailable')
      expect(res.body.error.message).toContain(`Redis at 127.0.0.1:${port}/0`)
      expect(res.headers.get('retry-after')).toBe('5')
    }
    expect((await getJson(`${srv.url}/api/v1/models`)).status).toBe(200)

    redis = await startRedis(port)
    await waitUntil(async () => (await postJson(`${srv.url}${BATCHES}`, body)).status === 202, 15_000, 250)
  }, 60_000)
})
