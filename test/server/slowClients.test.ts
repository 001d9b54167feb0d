// Slow and greedy clients: connections that send their body (or headers) slowly are closed once the
// request timeout passes, while a progress stream — whose request arrived at once — lives as long as
// its batch. Limits are small here (1.5 s) so the test is quick; production defaults are in config.ts.
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { getJson, okImage, openSse, pages, postJson, scriptedProvider, startTestServer, tempDir, type TestServer } from './helpers.js'

let server: TestServer | undefined
let cleanup: (() => Promise<void>) | undefined
afterEach(async () => {
  await server?.stop()
  await cleanup?.()
  server = undefined
})

/** A socket that sends the request line + headers, then one byte of body every `everyMs`. */
function slowBody(port: number, everyMs: number): { closed: Promise<number>; socket: net.Socket } {
  const socket = net.connect(port, '127.0.0.1')
  const opened = Date.now()
  let timer: NodeJS.Timeout | undefined
  socket.on('connect', () => {
    socket.write('POST /api/v1/slide-generations/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{')
    timer = setInterval(() => { if (!socket.destroyed) socket.write(' ') }, everyMs)
  })
  socket.on('error', () => undefined)
  socket.resume()
  const closed = new Promise<number>(resolve => socket.on('close', () => {
    clearInterval(timer)
    resolve(Date.now() - opened)
  }))
  return { closed, socket }
}

/** A socket that trickles its headers one byte at a time. */
function slowHeaders(port: number, everyMs: number): Promise<number> {
  const socket = net.connect(port, '127.0.0.1')
  const opened = Date.now()
  const text = 'GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(10_000)
  let i = 0
  const timer = setInterval(() => { if (!socket.destroyed) socket.write(text[i++ % text.length]) }, everyMs)
  socket.on('error', () => undefined)
  socket.resume()
  return new Promise<number>(resolve => socket.on('close', () => { clearInterval(timer); resolve(Date.now() - opened) }))
}

describe('slow clients', () => {
  it('closes 300 slow-body connections after the request timeout and keeps serving', async () => {
    const t = await tempDir()
    cleanup = t.cleanup
    server = await startTestServer({
      provider: scriptedProvider(() => okImage()), dataDir: t.dir,
      http: { requestTimeoutMs: 1500, headersTimeoutMs: 1000 }, httpCheckIntervalMs: 250,
    })
    const port = Number(new URL(server.url).port)
    const conns = Array.from({ length: 300 }, () => slowBody(port, 200))
    const headerConns = Array.from({ length: 20 }, () => slowHeaders(port, 100))
    // the server keeps answering while they are open
    expect((await getJson(`${server.url}/api/v1/health`)).status).toBe(200)
    const lifetimes = await Promise.all([...conns.map(c => c.closed), ...headerConns])
    // every one was closed by the server (without the timeouts they would stay open for as long as they trickle)
    expect(Math.max(...lifetimes)).toBeLessThan(15_000)
    expect(Math.min(...lifetimes)).toBeGreaterThanOrEqual(900)
    const open = await new Promise<number>((resolve, reject) => server!.server.getConnections((err, n) => (err ? reject(err) : resolve(n))))
    expect(open).toBeLessThanOrEqual(2) // the health checks' keep-alive connections at most
    expect((await getJson(`${server.url}/api/v1/health`)).status).toBe(200)
  }, 30_000)

  it('closes connections that send nothing, and keep-alive connections left idle after a request', async () => {
    const t = await tempDir()
    cleanup = t.cleanup
    server = await startTestServer({
      provider: scriptedProvider(() => okImage()), dataDir: t.dir,
      http: { requestTimeoutMs: 1500, headersTimeoutMs: 1000, keepAliveTimeoutMs: 500 }, httpCheckIntervalMs: 250,
    })
    const port = Number(new URL(server.url).port)
    const open = (send?: string) => new Promise<number>(resolve => {
      const socket = net.connect(port, '127.0.0.1')
      const opened = Date.now()
      socket.on('connect', () => { if (send) socket.write(send) })
      socket.on('error', () => undefined)
      socket.resume()
      socket.on('close', () => resolve(Date.now() - opened))
    })
    const silent = Array.from({ length: 50 }, () => open())
    const idle = Array.from({ length: 20 }, () => open('GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'))
    const silentLives = await Promise.all(silent)
    const idleLives = await Promise.all(idle)
    // without the limits both stay open until the client leaves
    expect(Math.max(...silentLives)).toBeLessThan(10_000)
    expect(Math.min(...silentLives)).toBeGreaterThanOrEqual(900)
    expect(Math.max(...idleLives)).toBeLessThan(5_000)
    expect(Math.min(...idleLives)).toBeGreaterThanOrEqual(400)
  }, 30_000)

  it('does not cut a progress stream that lasts longer than the request timeout', async () => {
    const t = await tempDir()
    cleanup = t.cleanup
    server = await startTestServer({
      provider: scriptedProvider(() => okImage(), { delayMs: 2500 }), dataDir: t.dir,
      http: { requestTimeoutMs: 1000, headersTimeoutMs: 1000 }, httpCheckIntervalMs: 200,
    })
    const created = await postJson(`${server.url}/api/v1/slide-generations/batches`, { template_id: 'nano_banana_1', deck_title: 'Slow', pages: pages(1) })
    expect(created.status).toBe(202)
    const sse = await openSse(`${server.url}/api/v1/slide-generations/batches/${created.body.batch_id}/events`)
    const done = await sse.waitFor(e => e.event === 'done', 15_000)
    expect(done.data).toMatchObject({ status: 'completed', completed_pages: 1 })
  }, 30_000)
})
