// Outbound HTTP to addresses someone else chose (an image link in a relay's answer, a webhook URL):
// SSRF-filtered and bounded. Reusable by any module that must not be tricked into calling internal
// services.
//
// The filtering is request-filtering-agent's (an http.Agent that checks the address actually
// connected, after DNS — so `localhost`, `127.0.0.1.nip.io`, decimal/hex/octal IPv4 (normalised by
// the WHATWG URL parser before the agent sees it), `[::1]`, `[::ffff:127.0.0.1]`, 169.254.169.254
// and DNS rebinding are all refused: every address whose ipaddr.js range is not `unicast`, which
// covers loopback, private (RFC 1918), link-local, CGNAT (100.64/10), multicast, unique-local,
// reserved, unspecified and IPv4-mapped forms). Node's built-in fetch cannot take an http.Agent, so
// this uses node:http(s) and follows redirects itself, re-checking the scheme on every hop (each hop
// connects through the filtering agent again).
import http from 'node:http'
import https from 'node:https'
import ipaddr from 'ipaddr.js'
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent'

/** Which destinations are allowed besides public unicast addresses. */
export interface HostPolicy {
  /** ALLOW_PRIVATE_IMAGE_HOSTS=true: any address (intranet relays) */
  allowPrivate: boolean
  /** IPs or CIDRs allowed even though private (ALLOW_PRIVATE_IMAGE_HOSTS=10.0.0.0/8,…) */
  allowList: string[]
}

export const PUBLIC_ONLY: HostPolicy = { allowPrivate: false, allowList: [] }

export class BlockedDestinationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BlockedDestinationError'
  }
}

export class ResponseTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`The response is larger than ${maxBytes} bytes`)
    this.name = 'ResponseTooLargeError'
  }
}

export interface SafeRequestOptions {
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string | Buffer
  signal: AbortSignal
  /** the body is read up to this many bytes; more → ResponseTooLargeError without reading the rest */
  maxBytes: number
  policy: HostPolicy
  /** default 5; a redirected POST becomes a GET without body (303, and 301/302 as browsers do) */
  maxRedirects?: number
}

export interface SafeResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  /** the URL that answered (after redirects) */
  url: string
}

const agents = new Map<string, { http: http.Agent; https: https.Agent }>()

/** One pair of filtering agents per policy (keep-alive pools are shared between calls). */
export function filteringAgents(policy: HostPolicy): { http: http.Agent; https: https.Agent } {
  const key = JSON.stringify(policy)
  let pair = agents.get(key)
  if (!pair) {
    const opts = { allowPrivateIPAddress: policy.allowPrivate, allowMetaIPAddress: false, allowIPAddressList: policy.allowList, keepAlive: true, maxSockets: 16 }
    pair = { http: new RequestFilteringHttpAgent(opts), https: new RequestFilteringHttpsAgent(opts) }
    agents.set(key, pair)
  }
  return pair
}

function isBlockError(err: unknown): boolean {
  return err instanceof Error && /is not allowed\. Because/.test(err.message)
}

function once(url: URL, opts: SafeRequestOptions, method: string, body: string | Buffer | undefined): Promise<SafeResponse | { redirect: string; status: number }> {
  const pair = filteringAgents(opts.policy)
  const mod = url.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const req = mod.request(url, {
      method,
      agent: url.protocol === 'https:' ? pair.https : pair.http,
      headers: { ...opts.headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
      signal: opts.signal,
    }, res => {
      const status = res.statusCode ?? 0
      const location = res.headers.location
      if (status >= 300 && status < 400 && location) {
        res.resume()
        resolve({ redirect: location, status })
        return
      }
      const declared = Number(res.headers['content-length'])
      if (Number.isFinite(declared) && declared > opts.maxBytes) {
        reject(new ResponseTooLargeError(opts.maxBytes))
        res.destroy()
        return
      }
      const chunks: Buffer[] = []
      let total = 0
      res.on('data', (chunk: Buffer) => {
        total += chunk.length
        if (total > opts.maxBytes) {
          // reject first: destroying emits 'aborted' synchronously
          reject(new ResponseTooLargeError(opts.maxBytes))
          chunks.length = 0
          res.destroy()
          req.destroy()
          return
        }
        chunks.push(chunk)
      })
      res.on('end', () => resolve({ status, headers: res.headers, body: Buffer.concat(chunks), url: url.href }))
      res.on('error', reject)
      res.on('aborted', () => reject(new Error('The response was cut off')))
    })
    req.on('error', err => reject(isBlockError(err) ? new BlockedDestinationError(`${url.host} is an internal address (${err.message.replace(/^DNS lookup /, '').replace(/\(family.*$/, '').trim()}); refused`) : err))
    if (body !== undefined) req.write(body)
    req.end()
  })
}

/**
 * One HTTP(S) request to an untrusted URL: only http/https, every connection (the first and each
 * redirect hop) checked by the filtering agent after DNS, the body capped at `maxBytes`.
 * Resolves with any status (the caller decides what a 404 means). Rejects with
 * BlockedDestinationError (internal address, bad scheme, too many redirects),
 * ResponseTooLargeError, the signal's reason (abort/timeout) or a network error.
 */
export async function safeRequest(target: string, opts: SafeRequestOptions): Promise<SafeResponse> {
  let url: URL
  try {
    url = new URL(target)
  } catch {
    throw new BlockedDestinationError('not a valid URL')
  }
  let method: string = opts.method ?? 'GET'
  let body = opts.body
  const maxRedirects = opts.maxRedirects ?? 5
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BlockedDestinationError(`the ${url.protocol} scheme is not allowed (only http and https)`)
    if (url.username || url.password) throw new BlockedDestinationError('URLs with credentials are not allowed')
    const answer = await once(url, opts, method, body)
    if (!('redirect' in answer)) return answer
    if (hop >= maxRedirects) throw new BlockedDestinationError(`more than ${maxRedirects} redirects`)
    url = new URL(answer.redirect, url)
    if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
      method = 'GET'
      body = undefined
    }
  }
}

/**
 * ALLOW_PRIVATE_IMAGE_HOSTS: unset/false → public addresses only; `true` → anything; otherwise a
 * comma-separated list of IPs/CIDRs allowed in addition. Returns `{ error: entry }` for an invalid entry.
 */
export function parseHostPolicy(raw: string | undefined): HostPolicy | { error: string } {
  if (raw === undefined || /^(false|0|no)$/i.test(raw)) return PUBLIC_ONLY
  if (/^(true|1|yes)$/i.test(raw)) return { allowPrivate: true, allowList: [] }
  const list = raw.split(',').map(s => s.trim()).filter(Boolean)
  for (const entry of list) {
    const valid = entry.includes('/') ? ipaddr.isValidCIDR(entry) : ipaddr.IPv4.isValidFourPartDecimal(entry) || ipaddr.IPv6.isValid(entry)
    if (!valid) return { error: entry }
  }
  return { allowPrivate: false, allowList: list }
}
