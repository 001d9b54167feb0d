// Clients and their limits. A client is a named token (PROXY_TOKEN, PROXY_TOKENS, PROXY_TOKENS_FILE)
// or, on a proxy without tokens, the caller's IP address (`ip:…`, an IPv6 caller's whole /64; behind
// nginx set TRUST_PROXY so the address is the real client's). Per client: pages accepted per minute, manual retries of one page
// per hour (rate-limiter-flexible limiters), open progress streams, and — enforced by the batch
// engine — pages queued at once. Where the counts live is the LimitStores the set-up chooses
// (server/engine/setup.ts): this process's memory, or Redis shared by every replica
// (RateLimiterRedis and server/redisStreamSlots.ts), so N replicas enforce one limit, not N.
import { readFileSync } from 'node:fs'
import { createHash, timingSafeEqual } from 'node:crypto'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import ipaddr from 'ipaddr.js'
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import { ApiError } from './errors.js'

export interface ClientToken {
  /** shown in logs and /health totals; never the token */
  name: string
  token: string
  /** this client's own budget per UTC day (USD) */
  dailyBudgetUsd?: number
}

export interface ClientLimitsConfig {
  /** pages (new batches' pages + retries) accepted per client per minute */
  pagesPerMinute: number
  /** pending + generating pages of one client at once */
  maxQueuedPagesPerClient: number
  /** manual retries of one page per hour */
  retriesPerPagePerHour: number
  /** open progress streams (SSE) per client */
  maxStreamsPerClient: number
}

export const DEFAULT_CLIENT_LIMITS: ClientLimitsConfig = {
  pagesPerMinute: 120,
  maxQueuedPagesPerClient: 200,
  retriesPerPagePerHour: 10,
  maxStreamsPerClient: 20,
}

/**
 * Tokens from PROXY_TOKENS (`name:token[:daily_usd],…`) and PROXY_TOKENS_FILE (one client per line:
 * `name token [daily_usd]`, `#` comments). PROXY_TOKEN, when set, is the client `default`.
 * Throws an Error naming the variable for a malformed entry, a short token or a duplicate.
 */
export function parseTokens(opts: { proxyToken?: string; tokens?: string; tokensFile?: string }): ClientToken[] {
  const out: ClientToken[] = []
  if (opts.proxyToken) out.push({ name: 'default', token: opts.proxyToken })
  const add = (name: string, token: string, budget: string | undefined, where: string) => {
    if (!/^[\w.-]{1,40}$/.test(name)) throw new Error(`${where}: client name "${name}" must be 1–40 letters, digits, . _ -`)
    if (token.length < 8) throw new Error(`${where}: the token of "${name}" must be at least 8 characters long`)
    if (budget !== undefined && !/^\d+(\.\d+)?$/.test(budget)) throw new Error(`${where}: the daily budget of "${name}" must be a number of US dollars (got "${budget}")`)
    if (out.some(t => t.name === name || t.token === token)) throw new Error(`${where}: client "${name}" or its token is listed twice`)
    out.push({ name, token, ...(budget !== undefined ? { dailyBudgetUsd: Number(budget) } : {}) })
  }
  for (const entry of (opts.tokens ?? '').split(',').map(s => s.trim()).filter(Boolean)) {
    const [name, token, budget, extra] = entry.split(':')
    if (!name || !token || extra !== undefined) throw new Error('PROXY_TOKENS must look like alice:token1,bob:token2:5 (name:token[:daily budget in USD])')
    add(name, token, budget, 'PROXY_TOKENS')
  }
  if (opts.tokensFile) {
    let text: string
    try {
      text = readFileSync(opts.tokensFile, 'utf8')
    } catch (err) {
      throw new Error(`PROXY_TOKENS_FILE cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}: ${opts.tokensFile})`)
    }
    for (const line of text.split('\n').map(l => l.replace(/#.*/, '').trim()).filter(Boolean)) {
      const [name, token, budget, extra] = line.split(/\s+/)
      if (!name || !token || extra !== undefined) throw new Error('PROXY_TOKENS_FILE lines must look like "alice token1 [daily budget in USD]"')
      add(name, token, budget, 'PROXY_TOKENS_FILE')
    }
  }
  return out
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest()
}

/** The client of a request, set by identify(). */
export function clientOf(res: { locals: Record<string, unknown> }): string | undefined {
  const c = res.locals.client
  return typeof c === 'string' ? c : undefined
}

/**
 * Who is calling. With tokens: `Authorization: Bearer <token>` (and `?token=` where allowQuery, for
 * a plain EventSource) must match one → the client is its name, else 401. Without tokens: the client
 * is ipClientKey(req.ip) (req.ip honours Express's `trust proxy`, i.e. TRUST_PROXY). Wrong tokens are
 * counted per address in `wrong` (wrongTokenLimiter; one of its own when not given): past WRONG_TOKENS
 * every request of that address is 429 rate_limited until the window has passed.
 */
export function identify(tokens: readonly ClientToken[], allowQuery: boolean, wrong: RateLimiterAbstract = wrongTokenLimiter(memoryLimitStores())): RequestHandler {
  const digests = tokens.map(t => ({ name: t.name, d: digest(t.token) }))
  return (req, res, next) => {
    if (digests.length === 0) {
      res.locals.client = ipClientKey(req.ip ?? req.socket.remoteAddress)
      return next()
    }
    const caller = ipClientKey(req.ip ?? req.socket.remoteAddress)
    void wrong.get(caller).then(seen => {
      // an address that guessed wrong too often waits, whatever it sends now (a right guess too)
      if (seen && seen.consumedPoints > WRONG_TOKENS.points) return next(wrongTokensError(seen))
      check(req, res, next, caller)
    }, () => check(req, res, next, caller))
  }

  function check(req: Request, res: Response, next: NextFunction, caller: string): void {
    const header = req.get('Authorization')
    const m = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null
    let given = m?.[1]
    if (!given && allowQuery && typeof req.query.token === 'string') given = req.query.token
    if (given) {
      const g = digest(given)
      // compare digests so neither the length nor the content leaks through timing; check every one
      let found: string | undefined
      for (const t of digests) if (timingSafeEqual(g, t.d)) found = t.name
      if (found) {
        res.locals.client = found
        return next()
      }
    }
    if (!given) return next(new ApiError(401, 'unauthorized', 'This proxy needs a token: send Authorization: Bearer <PROXY_TOKEN>'))
    void wrong.consume(caller).then(
      () => next(new ApiError(401, 'unauthorized', 'The proxy token is wrong')),
      (r: unknown) => next(r instanceof RateLimiterRes ? wrongTokensError(r) : new ApiError(401, 'unauthorized', 'The proxy token is wrong')),
    )
  }
}

/** Wrong tokens one address (an IPv6 /64) may send per 10 minutes before it waits (OWASP: throttle guessing). */
export const WRONG_TOKENS = { points: 20, duration: 600 }

/**
 * The wrong-token counts, in the set-up's limit stores (memory, or Redis shared by every replica). One per
 * proxy, handed to each identify() of it (routes, streams, decks), so they count together.
 */
export function wrongTokenLimiter(stores: LimitStores): RateLimiterAbstract {
  return stores.rateLimiter({ keyPrefix: 'wrong-token', ...WRONG_TOKENS })
}

function wrongTokensError(r: RateLimiterRes): ApiError {
  const seconds = Math.max(1, Math.ceil(r.msBeforeNext / 1000))
  return new ApiError(429, 'rate_limited', `Too many wrong tokens from this address; try again in ${seconds} s`, { headers: { 'Retry-After': String(seconds) } })
}

/** How many leading bits of an IPv6 address are one client: a home or mobile line is given at least a /64. */
export const IPV6_CLIENT_PREFIX = 64

/**
 * The client key of a tokenless caller: `ip:<IPv4>` (an IPv4-mapped IPv6 address counts as its IPv4
 * one), `ip:<network>/64` for IPv6 — whoever holds one address holds its whole /64, so keying by the
 * address would give them 2^64 clients, each with its own limits — or `ip:unknown`. Parsing is
 * ipaddr.js's (already the SSRF guard's; Express's proxy-addr uses it too): every IPv6 spelling of one
 * /64 gives one key.
 */
export function ipClientKey(address: string | undefined): string {
  if (!address) return 'ip:unknown'
  // a zone (fe80::1%eth0) names the local interface, not another network
  const bare = address.replace(/%.*$/, '')
  if (!ipaddr.isValid(bare)) return `ip:${address}`
  let addr = ipaddr.parse(bare)
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address()
  if (addr.kind() === 'ipv4') return `ip:${addr.toString()}`
  const network = ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/${IPV6_CLIENT_PREFIX}`)
  return `ip:${network.toString()}/${IPV6_CLIENT_PREFIX}`
}

/** Gives back what a limiter took; calling it twice is harmless, and a failure (Redis down) loses only the give-back. */
export type Undo = () => Promise<void>

function once(give: () => Promise<unknown>): Undo {
  let done = false
  return async () => {
    if (done) return
    done = true
    await give().then(() => undefined, () => undefined)
  }
}

function limited(code: string, message: string, res: unknown): ApiError {
  const ms = res instanceof RateLimiterRes ? res.msBeforeNext : 60_000
  const seconds = Math.max(1, Math.ceil(ms / 1000))
  return new ApiError(429, code, `${message}; try again in about ${seconds} s`, { headers: { 'Retry-After': String(seconds) } })
}

/**
 * Open progress streams per client. open() takes a slot when fewer than `max` are open and returns
 * its release (calling it twice is harmless), or null when the client is at `max`.
 */
export interface StreamSlots {
  open(client: string, max: number): Promise<(() => void) | null>
  /** releases this process's slots and stops any timers */
  close(): Promise<void>
}

/** One process's stream counts. */
export class MemoryStreamSlots implements StreamSlots {
  private readonly streams = new Map<string, number>()

  async open(client: string, max: number): Promise<(() => void) | null> {
    const n = this.streams.get(client) ?? 0
    if (n >= max) return null
    this.streams.set(client, n + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const left = (this.streams.get(client) ?? 1) - 1
      if (left <= 0) this.streams.delete(client)
      else this.streams.set(client, left)
    }
  }

  async close(): Promise<void> {}
}

/** Where a ClientLimiter keeps its counts (server/engine/setup.ts chooses memory or Redis). */
export interface LimitStores {
  /** a rate-limiter-flexible limiter: `points` per `duration` seconds, keys under `keyPrefix` */
  rateLimiter(opts: { keyPrefix: string; points: number; duration: number }): RateLimiterAbstract
  streams: StreamSlots
}

/** This process's memory (one replica). */
export function memoryLimitStores(): LimitStores {
  return { rateLimiter: opts => new RateLimiterMemory(opts), streams: new MemoryStreamSlots() }
}

/** Per-client limits other than the queue share (that one is the batch engine's). */
export class ClientLimiter {
  private readonly pagesLimiter: RateLimiterAbstract
  private readonly retryLimiter: RateLimiterAbstract
  private readonly streams: StreamSlots

  constructor(readonly limits: ClientLimitsConfig, stores: LimitStores = memoryLimitStores()) {
    this.pagesLimiter = stores.rateLimiter({ keyPrefix: 'pages', points: limits.pagesPerMinute, duration: 60 })
    this.retryLimiter = stores.rateLimiter({ keyPrefix: 'retry', points: limits.retriesPerPagePerHour, duration: 3600 })
    this.streams = stores.streams
  }

  /**
   * Takes `pages` from the client's per-minute allowance, or 429 rate_limited with Retry-After; 422
   * batch_exceeds_rate_limit when `pages` is more than a whole minute's allowance.
   * Resolves to its undo (gives them back; for work refused after all, e.g. a full queue).
   */
  async takePages(client: string, pages: number): Promise<Undo> {
    const max = this.limits.pagesPerMinute
    if (pages > max) {
      // more pages than a whole minute's allowance: waiting never helps, so no Retry-After
      throw new ApiError(422, 'batch_exceeds_rate_limit', `This batch has ${pages} pages, more than this proxy accepts from one client per minute (${max}, PAGES_PER_MINUTE_PER_CLIENT): split it into batches of at most ${max} pages`, {
        details: [{ path: 'pages', message: `at most ${max} pages per batch on this proxy` }],
      })
    }
    try {
      await this.pagesLimiter.consume(client, pages)
      return once(() => this.pagesLimiter.reward(client, pages))
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res
      throw limited('rate_limited', `Too many pages from this client (limit ${this.limits.pagesPerMinute} per minute)`, res)
    }
  }

  /** One manual retry of a page, or 429 rate_limited with Retry-After; resolves to its undo (a retry refused after all does not count). */
  async takeRetry(batchId: string, page: number): Promise<Undo> {
    try {
      await this.retryLimiter.consume(`${batchId}:${page}`, 1)
      return once(() => this.retryLimiter.reward(`${batchId}:${page}`, 1))
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res
      throw limited('rate_limited', `Page ${page} was retried too often (limit ${this.limits.retriesPerPagePerHour} per hour)`, res)
    }
  }

  /** Opens a stream for the client (resolves to its release), or rejects with 429 too_many_streams. */
  async openStream(client: string): Promise<() => void> {
    const release = await this.streams.open(client, this.limits.maxStreamsPerClient)
    if (!release) {
      const max = this.limits.maxStreamsPerClient
      throw new ApiError(429, 'too_many_streams', `This client already has ${max} progress streams open (limit ${max}); close some`, { headers: { 'Retry-After': '5' } })
    }
    return release
  }
}
