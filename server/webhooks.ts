// Webhooks (the original design's callback interface): a batch created with `callback_url` gets one
// POST when it finishes — the `done` event plus every page's result — signed with HMAC-SHA256 of the
// raw body under WEBHOOK_SECRET:
//
//   X-Nano-Banana-Signature: sha256=<hex HMAC-SHA256(WEBHOOK_SECRET, body)>
//   X-Nano-Banana-Event: batch.done
//   X-Nano-Banana-Delivery: <uuid, the same for every retry of one delivery>
//
// A 2xx answer is success. Network errors, timeouts, 408, 429 and 5xx are retried with exponential
// backoff (2 s, 4 s, 8 s … capped at 5 min) up to WEBHOOK_MAX_ATTEMPTS attempts, then given up; any
// other answer (a 4xx: the receiver rejects it) is given up at once. Destinations: http(s) only, the
// host in WEBHOOK_ALLOWED_HOSTS when that is set, never an internal address (checked after DNS by
// server/net/safeHttp.ts, the same filtering as image downloads; WEBHOOK_ALLOW_PRIVATE_HOSTS opts in),
// and no redirects (a redirect could turn the POST into a request somewhere else).
// Deliveries waiting for a retry live in memory: a restart drops them.
import { createHmac, randomUUID } from 'node:crypto'
import ipaddr from 'ipaddr.js'
import { defaultSleep } from './engine/scheduler.js'
import type { BatchLifecycle } from './engine/lifecycle.js'
import { countsOf, doneEvent, resultOf, type BatchRecord } from './engine/records.js'
import type { Logger } from './logger.js'
import { ConfigError } from './config.js'
import { parseHostPolicy, safeRequest, type HostPolicy, type SafeRequestOptions, type SafeResponse } from './net/safeHttp.js'

export interface WebhookSettings {
  /** WEBHOOK_SECRET; without it callback_url is refused (every delivery is signed) */
  secret?: string
  /** WEBHOOK_ALLOWED_HOSTS: host names (`hooks.example.com`, `*.example.com`) or IPs; null = any host */
  allowedHosts: string[] | null
  /** WEBHOOK_ALLOW_PRIVATE_HOSTS: internal addresses allowed as destinations (default none) */
  policy: HostPolicy
  /** WEBHOOK_MAX_ATTEMPTS (default 8) */
  maxAttempts: number
  /** first retry delay, doubling (default 2000 ms), capped at maxDelayMs (default 300000 ms) */
  baseDelayMs?: number
  maxDelayMs?: number
  /** per attempt (default 10000 ms) */
  timeoutMs?: number
}

/** What the receiver gets (JSON body). */
export interface WebhookPayload {
  event: 'batch.done'
  batch_id: string
  /** the batch's `done` event: { status, completed_pages, failed_pages } */
  done: ReturnType<typeof doneEvent>
  progress: ReturnType<typeof countsOf>
  /** every page's result as in the progress JSON (image URLs are relative to the proxy) */
  results: ReturnType<typeof resultOf>[]
  deck_title: string
  template_id: string
  /** ISO time of this attempt */
  sent_at: string
}

export type WebhookOutcome = 'delivered' | 'retried' | 'given_up' | 'refused'

export interface WebhookDeps {
  settings: WebhookSettings
  logger: Logger
  /** told about every attempt's outcome (metrics) */
  onOutcome?: (o: WebhookOutcome) => void
  imageUrl?: (key: string) => string
  /** test seams */
  request?: (url: string, opts: SafeRequestOptions) => Promise<SafeResponse>
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  now?: () => Date
}

/** `sha256=<hex>` of the body under the secret (what X-Nano-Banana-Signature carries). */
export function signature(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex')
}

function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '')
  return allowed.some(entry => {
    const e = entry.toLowerCase()
    if (e.startsWith('*.')) return h.endsWith(e.slice(1)) && h.length > e.length - 1
    if (e.includes('/') && ipaddr.isValid(h)) {
      try {
        const addr = ipaddr.parse(h)
        const [range, bits] = ipaddr.parseCIDR(e)
        return addr.kind() === range.kind() && addr.match(range, bits)
      } catch {
        return false
      }
    }
    return h === e
  })
}

export class WebhookSender {
  private readonly pending = new Set<Promise<void>>()
  private readonly stop = new AbortController()
  private readonly request: (url: string, opts: SafeRequestOptions) => Promise<SafeResponse>
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>
  private readonly imageUrl: (key: string) => string
  private readonly now: () => Date

  constructor(private readonly deps: WebhookDeps) {
    this.request = deps.request ?? safeRequest
    this.sleep = deps.sleep ?? defaultSleep
    this.imageUrl = deps.imageUrl ?? (key => `/api/v1/images/${key}`)
    this.now = deps.now ?? (() => new Date())
  }

  /** Why `url` cannot be a callback_url here, or null when it can (checked when the batch is created). */
  refusal(url: string): string | null {
    if (!this.deps.settings.secret) return 'This proxy sends no webhooks: WEBHOOK_SECRET is not set'
    let u: URL
    try {
      u = new URL(url)
    } catch {
      return 'Not a valid URL'
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'Only http and https callback URLs are allowed'
    if (u.username || u.password) return 'Callback URLs with credentials are not allowed'
    const allowed = this.deps.settings.allowedHosts
    if (allowed && !hostAllowed(u.hostname, allowed)) return `The host ${u.hostname} is not in WEBHOOK_ALLOWED_HOSTS`
    return null
  }

  /** For the batch engine: a finished batch with a callback_url gets its delivery. */
  readonly lifecycle: BatchLifecycle = {
    batchFinished: batch => this.send(batch),
  }

  /** Starts the delivery of a finished batch in the background (no-op without callback_url). */
  send(batch: BatchRecord): void {
    const url = batch.callback_url
    if (!url) return
    const base = {
      event: 'batch.done' as const,
      batch_id: batch.batch_id,
      done: doneEvent(batch),
      progress: countsOf(batch),
      results: batch.pages.map(p => resultOf(p, this.imageUrl)),
      deck_title: batch.deck_title,
      template_id: batch.template_id,
    }
    const p = this.deliver(url, base).catch(err => {
      this.deps.logger.error('webhook delivery broke', { batch_id: batch.batch_id, error: err instanceof Error ? err.message : String(err) })
    })
    this.pending.add(p)
    void p.finally(() => this.pending.delete(p))
  }

  private async deliver(url: string, base: Omit<WebhookPayload, 'sent_at'>): Promise<void> {
    const s = this.deps.settings
    const delivery = randomUUID()
    const host = new URL(url).host
    const log = { batch_id: base.batch_id, delivery, host, status: base.done.status }
    const refused = this.refusal(url)
    if (refused) {
      this.deps.onOutcome?.('refused')
      this.deps.logger.warn('webhook refused', { ...log, reason: refused })
      return
    }
    for (let attempt = 1; ; attempt++) {
      if (this.stop.signal.aborted) return
      const body = JSON.stringify({ ...base, sent_at: this.now().toISOString() } satisfies WebhookPayload)
      const started = performance.now()
      let retryable: boolean
      let reason: string
      try {
        const res = await this.request(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'nano-banana-pptist-webhook',
            'x-nano-banana-event': 'batch.done',
            'x-nano-banana-delivery': delivery,
            'x-nano-banana-signature': signature(s.secret!, body),
          },
          body,
          signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(s.timeoutMs ?? 10_000)]),
          maxBytes: 64 * 1024,
          policy: s.policy,
          maxRedirects: 0,
        })
        if (res.status >= 200 && res.status < 300) {
          this.deps.onOutcome?.('delivered')
          this.deps.logger.info('webhook delivered', { ...log, attempt, http_status: res.status, duration_ms: Math.round(performance.now() - started) })
          return
        }
        retryable = res.status === 408 || res.status === 429 || res.status >= 500
        reason = `HTTP ${res.status}`
      } catch (err) {
        if (this.stop.signal.aborted) return
        const name = err instanceof Error ? err.name : ''
        // an internal address or a redirect will not change by waiting
        retryable = name !== 'BlockedDestinationError'
        reason = err instanceof Error ? err.message : String(err)
        if (name === 'BlockedDestinationError') {
          this.deps.onOutcome?.('refused')
          this.deps.logger.warn('webhook refused', { ...log, attempt, reason })
          return
        }
      }
      if (!retryable || attempt >= s.maxAttempts) {
        this.deps.onOutcome?.('given_up')
        this.deps.logger.warn('webhook given up', { ...log, attempt, reason })
        return
      }
      const delay = Math.min(s.maxDelayMs ?? 300_000, (s.baseDelayMs ?? 2000) * 2 ** (attempt - 1))
      this.deps.onOutcome?.('retried')
      this.deps.logger.warn('webhook attempt failed, retrying', { ...log, attempt, reason, delay_ms: delay })
      try {
        await this.sleep(delay, this.stop.signal)
      } catch {
        return // shutting down
      }
    }
  }

  /** Resolves when every delivery started so far has ended (delivered or given up). */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending])
  }

  /** Stops retrying (shutdown): deliveries still waiting are dropped. */
  async close(): Promise<void> {
    this.stop.abort()
    await this.flush()
  }
}

/**
 * Webhook settings from the environment: WEBHOOK_SECRET (≥ 16 characters), WEBHOOK_ALLOWED_HOSTS
 * (comma-separated host names, `*.domain` wildcards or IP/CIDRs), WEBHOOK_ALLOW_PRIVATE_HOSTS (as
 * ALLOW_PRIVATE_IMAGE_HOSTS: true, or IPs/CIDRs), WEBHOOK_MAX_ATTEMPTS (1–20, default 8).
 * Throws ConfigError naming the variable.
 */
export function readWebhookSettings(env: Record<string, string | undefined>): WebhookSettings {
  const get = (name: string) => {
    const v = env[name]?.trim()
    return v ? v : undefined
  }
  const secret = get('WEBHOOK_SECRET')
  if (secret !== undefined && secret.length < 16) throw new ConfigError('WEBHOOK_SECRET must be at least 16 characters long')
  const hostsRaw = get('WEBHOOK_ALLOWED_HOSTS')
  const allowedHosts = hostsRaw === undefined ? null : hostsRaw.split(',').map(h => h.trim().toLowerCase()).filter(Boolean)
  for (const h of allowedHosts ?? []) {
    if (!/^(\*\.)?[a-z0-9.-]+$/.test(h) && !ipaddr.isValid(h) && !ipaddr.isValidCIDR(h)) {
      throw new ConfigError(`WEBHOOK_ALLOWED_HOSTS must be a comma-separated list of host names (hooks.example.com, *.example.com) or IPs (bad entry "${h}")`)
    }
  }
  const policy = parseHostPolicy(get('WEBHOOK_ALLOW_PRIVATE_HOSTS'))
  if ('error' in policy) throw new ConfigError(`WEBHOOK_ALLOW_PRIVATE_HOSTS must be true, false or a comma-separated list of IPs/CIDRs (bad entry "${policy.error}")`)
  const attemptsRaw = get('WEBHOOK_MAX_ATTEMPTS') ?? '8'
  const maxAttempts = Number(attemptsRaw)
  if (!/^\d+$/.test(attemptsRaw) || maxAttempts < 1 || maxAttempts > 20) throw new ConfigError(`WEBHOOK_MAX_ATTEMPTS must be a whole number between 1 and 20 (got "${attemptsRaw}")`)
  return { ...(secret ? { secret } : {}), allowedHosts: allowedHosts?.length ? allowedHosts : null, policy, maxAttempts }
}
