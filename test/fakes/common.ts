// Plumbing shared by the fake upstream servers: seeded PRNG, latency, in-flight counting, body reading.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { rng } from '../../server/render/svg.js'

export type Latency = number | [number, number]

export interface FakeStats {
  /** every request received (including file downloads on the OpenAI fake) */
  requests: number
  inFlight: number
  maxInFlight: number
  /** how many requests got each fault ('ok' for plain successes) */
  byFault: Record<string, number>
  /** in-flight requests per API key (x-goog-api-key, or the Authorization header): which caller holds calls */
  inFlightByKey: Record<string, number>
  /** the fake Gemini's last 'oversized' answer: bytes it got to write before the client went away */
  oversizedSent?: number
}

export interface RecordedRequest {
  method: string
  path: string
  headers: Record<string, string | string[] | undefined>
  /** parsed JSON body, or { fields, files } for multipart, or null */
  body: unknown
}

export interface FakeServer {
  /** base URL, e.g. http://127.0.0.1:53211 */
  url: string
  close(): Promise<void>
  stats: FakeStats
  /** the most recent requests, oldest first (at most 50) */
  lastRequests: RecordedRequest[]
}

/** mulberry32 (shared with the cover renderer): the same seed gives the same fault sequence. */
export const seededRandom = rng

export function pickLatency(latency: Latency | undefined, random: () => number): number {
  if (latency === undefined) return 0
  if (typeof latency === 'number') return latency
  return latency[0] + (latency[1] - latency[0]) * random()
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** Resolves after ms, or early (false) when the client goes away. */
export function waitOrGone(ms: number, res: ServerResponse): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!res.destroyed)
  return new Promise(resolve => {
    const timer = setTimeout(() => { res.off('close', onClose); resolve(true) }, ms)
    const onClose = () => { clearTimeout(timer); resolve(false) }
    res.once('close', onClose)
  })
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

/** A 200 JSON answer cut in the middle (chunked, so the client sees a complete but invalid body). */
export function sendTruncated(res: ServerResponse, body: unknown): void {
  if (res.destroyed) return
  const text = JSON.stringify(body)
  res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' })
  res.end(text.slice(0, Math.max(1, Math.floor(text.length / 2))))
}

/** Headers and half the body, then silence: the client's timeout must cover reading the body too. */
export function sendStalled(res: ServerResponse, body: unknown): void {
  if (res.destroyed) return
  const text = JSON.stringify(body)
  res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) })
  res.write(text.slice(0, Math.floor(text.length / 2)))
}

/** Headers with the full Content-Length, half the body, then the connection closes (undici: "terminated"). */
export function sendCut(res: ServerResponse, body: unknown): void {
  if (res.destroyed) return
  const text = JSON.stringify(body)
  res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) })
  res.write(text.slice(0, Math.floor(text.length / 2)), () => setTimeout(() => res.destroy(), 20))
}

export function sendGarbage(res: ServerResponse): void {
  if (res.destroyed) return
  res.writeHead(200, { 'content-type': 'text/html' })
  res.end('<html><body><h1>502 Bad Gateway</h1>upstream connect error or disconnect/reset before headers</body></html>')
}

/**
 * Starts a node:http server on 127.0.0.1 (ephemeral port) that counts in-flight requests
 * and records the last ones; `handle` answers each request.
 */
export async function startFakeHttp(
  handle: (req: IncomingMessage, res: ServerResponse, raw: Buffer, record: RecordedRequest) => Promise<void>,
): Promise<FakeServer & { server: Server }> {
  const stats: FakeStats = { requests: 0, inFlight: 0, maxInFlight: 0, byFault: {}, inFlightByKey: {} }
  const lastRequests: RecordedRequest[] = []
  const server = createServer((req, res) => {
    stats.requests++
    stats.inFlight++
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
    const caller = String(req.headers['x-goog-api-key'] ?? req.headers.authorization ?? '')
    stats.inFlightByKey[caller] = (stats.inFlightByKey[caller] ?? 0) + 1
    let done = false
    const finish = () => {
      if (done) return
      done = true
      stats.inFlight--
      stats.inFlightByKey[caller]--
    }
    res.once('finish', finish)
    res.once('close', finish)
    void (async () => {
      const raw = await readBody(req)
      const record: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: null }
      lastRequests.push(record)
      if (lastRequests.length > 50) lastRequests.shift()
      await handle(req, res, raw, record)
    })().catch(err => {
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: { code: 500, message: `fake server bug: ${String(err)}`, status: 'INTERNAL' } })
      else res.destroy()
    })
  })
  // keep-alive stays at Node's default (5 s): like the real API's front ends, idle connections are reused
  // (a 1 s timeout is below undici's 2 s margin and forced a new TCP connection per request)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    stats,
    lastRequests,
    close: () => new Promise<void>(resolve => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

export function countFault(stats: FakeStats, fault: string): void {
  stats.byFault[fault] = (stats.byFault[fault] ?? 0) + 1
}

/**
 * The fault for request number `index`: the script decides first, then the seeded dice.
 * With `maxRandomFaults`, a request whose prompt already drew that many random faults succeeds
 * (so "every page completes within MAX_RETRIES" can be tested without luck).
 */
export class FaultPicker<F extends string> {
  private readonly random: () => number
  private readonly faultsByPrompt = new Map<string, number>()

  constructor(private readonly opts: {
    seed: number
    faultRate: number
    faults: readonly F[]
    script?: (reqIndex: number, body: unknown) => F | null | undefined
    maxRandomFaults?: number
  }) {
    this.random = seededRandom(opts.seed)
  }

  /** the same PRNG drives latency and mislabelling, so one seed reproduces a whole run */
  next(): number {
    return this.random()
  }

  pick(index: number, body: unknown, promptKey: string): F | 'ok' {
    const scripted = this.opts.script?.(index, body)
    if (scripted) return scripted
    // always draw twice so the sequence for a seed does not depend on faultRate
    const roll = this.random()
    const which = this.random()
    if (this.opts.faults.length === 0 || roll >= this.opts.faultRate) return 'ok'
    const drawn = this.faultsByPrompt.get(promptKey) ?? 0
    if (this.opts.maxRandomFaults !== undefined && drawn >= this.opts.maxRandomFaults) return 'ok'
    this.faultsByPrompt.set(promptKey, drawn + 1)
    return this.opts.faults[Math.floor(which * this.opts.faults.length)]
  }
}

/** All text found in a request body (its prompt), used to recognise retries of the same page. */
export function promptKeyOf(body: unknown): string {
  const texts: string[] = []
  const walk = (value: unknown, depth: number) => {
    if (depth > 8 || value === null || value === undefined) return
    if (Array.isArray(value)) value.forEach(v => walk(v, depth + 1))
    else if (typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if ((key === 'text' || key === 'prompt') && typeof v === 'string') texts.push(v)
        else walk(v, depth + 1)
      }
    }
  }
  walk(body, 0)
  return texts.join('\n')
}
