// SSRF: an image link in a relay's answer must never reach an internal address — in any notation,
// after DNS, or through a redirect. Every target is on this machine (127.0.0.0/8): an "internal
// service" on 127.0.0.1 counts the requests it gets, and must get none.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig, ConfigError } from '../../server/config.js'
import { parseHostPolicy, safeRequest, BlockedDestinationError, PUBLIC_ONLY } from '../../server/net/safeHttp.js'
import { downloadImage } from '../../server/providers/download.js'
import { createOpenAIChatProvider } from '../../server/providers/openaiChat.js'
import { startFakeOpenAI, type FakeServer } from '../fakes/openaiServer.js'
import { fakeImage } from '../fakes/images.js'
import { makeRequest, providerError } from './providers.helpers.js'

let internal: http.Server
let internalPort = 0
let internalHits = 0
let outside: http.Server
let outsidePort = 0
let png: Buffer

function listen(server: http.Server, host: string): Promise<number> {
  return new Promise(resolve => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)))
}

beforeAll(async () => {
  png = await fakeImage(64, 36, 'png')
  internal = http.createServer((_req, res) => {
    internalHits++
    res.setHeader('content-type', 'image/png')
    res.end(png)
  })
  internalPort = await listen(internal, '127.0.0.1')
  // stands in for a public host: 127.0.0.2 is explicitly allowed in the tests' policy, 127.0.0.1 is not
  outside = http.createServer((req, res) => {
    const m = /^\/redirect\?to=(.+)$/.exec(req.url ?? '')
    if (m) {
      res.statusCode = 302
      res.setHeader('location', decodeURIComponent(m[1]))
      res.end()
      return
    }
    res.setHeader('content-type', 'image/png')
    res.end(png)
  })
  outsidePort = await listen(outside, '127.0.0.2')
})

afterAll(async () => {
  await new Promise(r => internal.close(r))
  await new Promise(r => outside.close(r))
})

const onlyOutside = { allowPrivate: false, allowList: ['127.0.0.2'] }

describe('SSRF filtering of image downloads', () => {
  const notations = () => [
    `http://127.0.0.1:${internalPort}/x.png`,
    `http://localhost:${internalPort}/x.png`,
    `http://[::1]:${internalPort}/x.png`,
    `http://[::ffff:127.0.0.1]:${internalPort}/x.png`,
    `http://[::ffff:7f00:1]:${internalPort}/x.png`,
    `http://2130706433:${internalPort}/x.png`, // decimal
    `http://0x7f000001:${internalPort}/x.png`, // hex
    `http://0177.0.0.1:${internalPort}/x.png`, // octal
    `http://127.1:${internalPort}/x.png`, // short form
    `http://0.0.0.0:${internalPort}/x.png`,
    `http://169.254.169.254/latest/meta-data/`, // cloud metadata
    'http://10.0.0.1/x.png',
    'http://172.16.0.1/x.png',
    'http://192.168.1.1/x.png',
    'http://100.64.0.1/x.png', // CGNAT
    'http://224.0.0.1/x.png', // multicast
    'http://[fd00::1]/x.png', // unique local
    'http://[fe80::1]/x.png', // link-local
  ]

  it('refuses every internal notation before connecting (the internal service sees nothing)', async () => {
    for (const url of notations()) {
      const err = await downloadImage(url, { signal: AbortSignal.timeout(5000), maxBytes: 1 << 20, source: 'The relay' }).then(() => null, e => e as Error)
      expect(err, url).toMatchObject({ kind: 'fatal', code: 'image_url_blocked' })
    }
    expect(internalHits).toBe(0)
  })

  it('refuses other schemes and credentials in the URL', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://127.0.0.2/x.png', `http://user:pw@127.0.0.2:${outsidePort}/x.png`]) {
      await expect(safeRequest(url, { signal: AbortSignal.timeout(5000), maxBytes: 1024, policy: onlyOutside }), url).rejects.toBeInstanceOf(BlockedDestinationError)
    }
  })

  it('follows a redirect to an allowed host but refuses one to an internal address', async () => {
    const ok = await downloadImage(`http://127.0.0.2:${outsidePort}/redirect?to=${encodeURIComponent(`http://127.0.0.2:${outsidePort}/img.png`)}`, {
      signal: AbortSignal.timeout(5000), maxBytes: 1 << 20, source: 'The relay', hosts: onlyOutside,
    })
    expect(ok.equals(png)).toBe(true)
    for (const target of [`http://127.0.0.1:${internalPort}/x.png`, `http://localhost:${internalPort}/x.png`, 'file:///etc/passwd']) {
      const err = await downloadImage(`http://127.0.0.2:${outsidePort}/redirect?to=${encodeURIComponent(target)}`, {
        signal: AbortSignal.timeout(5000), maxBytes: 1 << 20, source: 'The relay', hosts: onlyOutside,
      }).then(() => null, e => e as Error)
      expect(err, target).toMatchObject({ code: 'image_url_blocked' })
    }
    expect(internalHits).toBe(0)
  })

  it('ALLOW_PRIVATE_IMAGE_HOSTS=true lets an intranet relay link its images', async () => {
    const before = internalHits
    const bytes = await downloadImage(`http://localhost:${internalPort}/x.png`, {
      signal: AbortSignal.timeout(5000), maxBytes: 1 << 20, source: 'The relay', hosts: parseHostPolicy('true') as typeof PUBLIC_ONLY,
    })
    expect(bytes.equals(png)).toBe(true)
    expect(internalHits).toBe(before + 1)
    internalHits = before
  })

  it('a relay answer linking an internal address (e.g. echoed from slide text) fails the page and never reaches it', async () => {
    const servers: FakeServer[] = []
    try {
      for (const base of [`http://127.0.0.1:${internalPort}`, `http://[::1]:${internalPort}`, `http://2130706433:${internalPort}`]) {
        const relay = await startFakeOpenAI({ shape: 'markdown_url', fileBaseUrl: base, filePath: '/files/1376x768.png' })
        servers.push(relay)
        const provider = createOpenAIChatProvider({ apiKey: 'sk-test-ssrf', baseUrl: `${relay.url}/v1`, model: 'm', timeoutMs: 5000 })
        const err = await providerError(provider.generate(await makeRequest()))
        expect(err, base).toMatchObject({ kind: 'fatal', code: 'image_url_blocked' })
        expect(err.message).toContain('ALLOW_PRIVATE_IMAGE_HOSTS')
      }
      expect(internalHits).toBe(0)
    } finally {
      await Promise.all(servers.map(s => s.close()))
    }
  })

  it('ALLOW_PRIVATE_IMAGE_HOSTS is validated and reaches the provider settings', () => {
    expect(loadConfig({}).provider.imageHosts).toEqual(PUBLIC_ONLY)
    expect(loadConfig({ ALLOW_PRIVATE_IMAGE_HOSTS: 'true' }).provider.imageHosts).toEqual({ allowPrivate: true, allowList: [] })
    expect(loadConfig({ ALLOW_PRIVATE_IMAGE_HOSTS: '10.0.0.0/8, 192.168.1.20' }).provider.imageHosts).toEqual({ allowPrivate: false, allowList: ['10.0.0.0/8', '192.168.1.20'] })
    expect(() => loadConfig({ ALLOW_PRIVATE_IMAGE_HOSTS: 'intranet.local' })).toThrow(ConfigError)
    expect(() => loadConfig({ ALLOW_PRIVATE_IMAGE_HOSTS: '10.0.0.0/99' })).toThrow(/ALLOW_PRIVATE_IMAGE_HOSTS/)
  })
})
