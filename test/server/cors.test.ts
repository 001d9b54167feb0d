// A web page on another site must not start paid work on a proxy it can reach (the user's own machine,
// an intranet): browsers send "simple" cross-origin POSTs (text/plain, forms, multipart) without a
// CORS preflight, and a page that re-points its own name at 127.0.0.1 (DNS rebinding) is same-origin.
// Requests are made with node:http so the Host and Origin headers are exactly what a browser would send.
import http from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../server/config.js'
import { isLoopbackHost } from '../../server/cors.js'
import { fakePublicDir, okImage, pages, scriptedProvider, startTestServer, tempDir } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: { batch_id?: string; error?: { code: string; message: string } } | null }

/** One request as a browser would send it: any Host, Origin and Content-Type. */
function send(url: string, method: string, headers: Record<string, string>, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = http.request(url, { method, headers: { ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}), ...headers } }, res => {
      const chunks: Buffer[] = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => {
        let parsed: Answer['body'] = null
        try { parsed = JSON.parse(Buffer.concat(chunks).toString()) } catch { /* not JSON */ }
        resolve({ status: res.statusCode!, headers: res.headers, body: parsed })
      })
    })
    r.on('error', reject)
    if (body !== undefined) r.write(body)
    r.end()
  })
}

const batch = (tag: string) => JSON.stringify({ template_id: 'nano_banana_1', deck_title: tag, pages: pages(1, tag), options: { style_chain: false } })

/** A proxy as a paid provider without a token starts by default: loopback only, loopback origins. */
async function defaultPaidProxy(env: Record<string, string> = {}) {
  const config = loadConfig({ GEMINI_API_KEY: 'AIza-test-key', ...env })
  const t = await tempDir('nb-cors-')
  cleanups.push(t.cleanup)
  const provider = scriptedProvider(() => okImage())
  const server = await startTestServer({
    provider, dataDir: t.dir, publicDir: await fakePublicDir(t.dir), host: config.host,
    config: { corsOrigins: config.corsOrigins, ...(config.tokens.length ? { tokens: config.tokens } : {}) },
  })
  cleanups.push(() => server.stop())
  const port = new URL(server.url).port
  return { server, provider, port, batches: `${server.url}/api/v1/slide-generations/batches` }
}

describe('a web page on another site (paid provider, no token: the default)', () => {
  it('cannot start a batch with a simple POST (text/plain, Origin null) that needs no preflight; the user\'s own editor on localhost can', async () => {
    const { provider, batches, port } = await defaultPaidProxy()
    const host = `127.0.0.1:${port}`
    for (const origin of ['https://evil.example', 'null', 'http://localhost.evil.example:5173']) {
      const r = await send(batches, 'POST', { Host: host, Origin: origin, 'Content-Type': 'text/plain;charset=UTF-8' }, batch('E'))
      expect(r.status, origin).toBe(403)
      expect(r.body?.error?.code).toBe('origin_not_allowed')
      expect(r.headers['access-control-allow-origin']).toBeUndefined()
    }
    // a form post and a JSON POST (after a preflight the browser would refuse anyway)
    expect((await send(batches, 'POST', { Host: host, Origin: 'https://evil.example', 'Content-Type': 'application/x-www-form-urlencoded' }, 'a=1')).status).toBe(403)
    expect((await send(batches, 'POST', { Host: host, Origin: 'https://evil.example', 'Content-Type': 'application/json' }, batch('E2'))).status).toBe(403)
    expect(provider.calls).toHaveLength(0)

    const mine = await send(batches, 'POST', { Host: `localhost:${port}`, Origin: 'http://localhost:5173', 'Content-Type': 'application/json' }, batch('Mine'))
    expect(mine.status).toBe(202)
    expect(mine.headers['access-control-allow-origin']).toBe('http://localhost:5173')
    // another site cannot cancel it either; reading is harmless (the browser hides the answer) and allowed
    const cancel = await send(`${batches}/${mine.body!.batch_id}/cancel`, 'POST', { Host: host, Origin: 'https://evil.example', 'Content-Type': 'text/plain' }, '{}')
    expect(cancel.body?.error?.code).toBe('origin_not_allowed')
    const read = await send(`${batches}/${mine.body!.batch_id}/progress`, 'GET', { Host: host, Origin: 'https://evil.example' })
    expect(read.status).toBe(200)
    expect(read.headers['access-control-allow-origin']).toBeUndefined()
    // API clients without an Origin (curl, scripts) are not browsers: allowed
    expect((await send(batches, 'POST', { Host: host, 'Content-Type': 'application/json' }, batch('Curl'))).status).toBe(202)
  })

  it('cannot upload a deck with a multipart form post', async () => {
    const { provider, port, server } = await defaultPaidProxy()
    const form = new FormData()
    form.append('template_id', 'nano_banana_1')
    form.append('file', new Blob([new Uint8Array([0x50, 0x4b, 3, 4])]), 'deck.pptx')
    const req = new Request(`${server.url}/api/v1/decks`, { method: 'POST', body: form })
    const body = Buffer.from(await req.arrayBuffer())
    const r = await send(`${server.url}/api/v1/decks`, 'POST', { Host: `127.0.0.1:${port}`, Origin: 'https://evil.example', 'Content-Type': req.headers.get('content-type')! }, body)
    expect(r.status).toBe(403)
    expect(r.body?.error?.code).toBe('origin_not_allowed')
    expect(provider.calls).toHaveLength(0)
  })

  it('DNS rebinding: a request naming another host is refused, even for reads', async () => {
    const { provider, batches, port, server } = await defaultPaidProxy()
    const evil = `rebind.evil.example:${port}`
    const post = await send(batches, 'POST', { Host: evil, Origin: `http://${evil}`, 'Content-Type': 'text/plain' }, batch('R'))
    expect(post.status).toBe(403)
    expect(post.body?.error?.code).toBe('host_not_allowed')
    const health = await send(`${server.url}/api/v1/health`, 'GET', { Host: evil })
    expect(health.status).toBe(403)
    expect(health.body?.error).toMatchObject({ code: 'host_not_allowed', message: expect.stringContaining('PROXY_TOKEN') })
    expect(provider.calls).toHaveLength(0)
    // loopback names in every form still work
    for (const h of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) {
      expect((await send(`${server.url}/api/v1/health`, 'GET', { Host: h })).status, h).toBe(200)
    }
  })

  it('an origin the administrator listed is allowed, its host too', async () => {
    const { batches, port } = await defaultPaidProxy({ CORS_ORIGINS: 'https://ppt.example.com' })
    const r = await send(batches, 'POST', { Host: 'ppt.example.com', Origin: 'https://ppt.example.com', 'Content-Type': 'application/json' }, batch('Listed'))
    expect(r.status).toBe(202)
    expect(r.headers['access-control-allow-origin']).toBe('https://ppt.example.com')
    // the loopback origins are no longer the default then
    expect((await send(batches, 'POST', { Host: `127.0.0.1:${port}`, Origin: 'http://localhost:5173', 'Content-Type': 'application/json' }, batch('L'))).body?.error?.code).toBe('origin_not_allowed')
  })
})

describe('with tokens', () => {
  it('CORS * (the default with a token): any origin and host may call, the token is what keeps others out', async () => {
    const { batches, port } = await defaultPaidProxy({ PROXY_TOKEN: 'tok-12345678' })
    const anon = await send(batches, 'POST', { Host: 'proxy.example.com', Origin: 'https://evil.example', 'Content-Type': 'text/plain' }, batch('T'))
    expect(anon.status).toBe(401)
    const ok = await send(batches, 'POST', { Host: `proxy.example.com:${port}`, Origin: 'https://ppt.example.com', 'Content-Type': 'application/json', Authorization: 'Bearer tok-12345678' }, batch('T2'))
    expect(ok.status).toBe(202)
  })
})

describe('isLoopbackHost', () => {
  it('knows loopback names and addresses, nothing else', () => {
    for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]', 'app.localhost']) expect(isLoopbackHost(h), h).toBe(true)
    for (const h of ['0.0.0.0', '10.0.0.1', 'localhost.evil.example', '127.0.0.1.nip.io', 'example.com']) expect(isLoopbackHost(h), h).toBe(false)
  })
})
