// Prometheus metrics with prom-client, served at GET /metrics (text exposition format 0.0.4),
// optionally behind METRICS_TOKEN (`Authorization: Bearer <token>`). One registry per app, so
// several apps in one process (tests) do not mix their numbers. Series (all `nano_banana_` but the
// default process metrics):
//
//   pages_total{outcome,error_code}                  counter   pages settled: completed | failed | cancelled
//   page_retries_total{error_code}                   counter   automatic retries scheduled after a transient failure
//   upstream_request_duration_seconds{model,resolution,outcome}  histogram  one provider call (outcome ok | error)
//   upstream_requests_total{model,resolution,outcome}            counter    outcome = ok or the error code
//   upstream_rate_limited_total{model}               counter   429 answers (rate_limited)
//   queue_depth                                      gauge     pages accepted and waiting (queue, backoff, style chain)
//   upstream_in_flight                               gauge     upstream calls running
//   sse_clients                                      gauge     open progress streams
//   thumbnails_total{outcome}                        counter   made | failed
//   spend_usd_total{model,resolution}                counter   list price of every upstream call that returned an image
//   batch_duration_seconds{status}                   histogram created → finished (completed | partial | failed | cancelled)
//   webhook_deliveries_total{outcome}                counter   delivered | retried | given_up | refused
import { createHash, timingSafeEqual } from 'node:crypto'
import express, { type Router } from 'express'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Resolution } from '../plugin/types/api.js'
import { ApiError } from './errors.js'
import type { BatchLifecycle } from './engine/lifecycle.js'
import type { UpstreamCall, UpstreamListener } from './providers/observed.js'

/** USD list price of one image of `model` at `resolution`, or null/undefined when unknown (not counted). */
export type PriceFn = (model: string, resolution: Resolution) => number | null | undefined

export interface MetricsSources {
  /** current queue figures (read at scrape time) */
  queue: () => Promise<{ running: number; queued: number }>
}

export class ProxyMetrics {
  readonly registry = new Registry()
  private readonly pages: Counter<'outcome' | 'error_code'>
  private readonly retries: Counter<'error_code'>
  private readonly upstreamDuration: Histogram<'model' | 'resolution' | 'outcome'>
  private readonly upstreamRequests: Counter<'model' | 'resolution' | 'outcome'>
  private readonly rateLimited: Counter<'model'>
  private readonly sse: Gauge
  private readonly thumbnails: Counter<'outcome'>
  private readonly spend: Counter<'model' | 'resolution'>
  private readonly batchDuration: Histogram<'status'>
  private readonly webhooks: Counter<'outcome'>
  private readonly takenOver: Counter
  private sources: MetricsSources | undefined

  constructor(private readonly price: PriceFn, opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry]
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry })
    this.pages = new Counter({ name: 'nano_banana_pages_total', help: 'Pages settled, by outcome (completed, failed, cancelled) and error code', labelNames: ['outcome', 'error_code'], registers })
    this.retries = new Counter({ name: 'nano_banana_page_retries_total', help: 'Automatic page retries scheduled after a transient failure, by error code', labelNames: ['error_code'], registers })
    this.upstreamDuration = new Histogram({
      name: 'nano_banana_upstream_request_duration_seconds',
      help: 'Duration of one upstream image generation call, by model, resolution and outcome (ok, error)',
      labelNames: ['model', 'resolution', 'outcome'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300],
      registers,
    })
    this.upstreamRequests = new Counter({ name: 'nano_banana_upstream_requests_total', help: 'Upstream image generation calls, by model, resolution and outcome (ok or the error code)', labelNames: ['model', 'resolution', 'outcome'], registers })
    this.rateLimited = new Counter({ name: 'nano_banana_upstream_rate_limited_total', help: 'Upstream 429 answers (rate_limited), by model', labelNames: ['model'], registers })
    const self = this
    new Gauge({
      name: 'nano_banana_queue_depth', help: 'Pages accepted and waiting for an upstream slot (incl. backoff and style-chain waits)', registers,
      async collect() { this.set((await self.sources?.queue())?.queued ?? 0) },
    })
    new Gauge({
      name: 'nano_banana_upstream_in_flight', help: 'Upstream calls running now', registers,
      async collect() { this.set((await self.sources?.queue())?.running ?? 0) },
    })
    this.sse = new Gauge({ name: 'nano_banana_sse_clients', help: 'Open progress streams (Server-Sent Events)', registers })
    this.thumbnails = new Counter({ name: 'nano_banana_thumbnails_total', help: 'Thumbnails made or failed', labelNames: ['outcome'], registers })
    this.spend = new Counter({ name: 'nano_banana_spend_usd_total', help: 'Estimated spend in USD: list price of each upstream call that returned an image', labelNames: ['model', 'resolution'], registers })
    this.batchDuration = new Histogram({
      name: 'nano_banana_batch_duration_seconds', help: 'Batch created → finished, by final status', labelNames: ['status'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600], registers,
    })
    this.takenOver = new Counter({ name: 'nano_banana_pages_taken_over_total', help: 'Page attempts taken over from a replica that died mid-call (Redis set-up): each may have been paid twice', registers })
    this.webhooks = new Counter({ name: 'nano_banana_webhook_deliveries_total', help: 'Webhook delivery attempts, by outcome (delivered, retried, given_up, refused)', labelNames: ['outcome'], registers })
  }

  /** Where the gauges read from at scrape time. */
  attach(sources: MetricsSources): void {
    this.sources = sources
  }

  /** For observeProvider(): latency, outcome, 429s and spend of each upstream call. */
  readonly upstreamListener: UpstreamListener = (call: UpstreamCall) => {
    if (call.outcome === 'aborted') return
    const labels = { model: call.model, resolution: call.resolution }
    this.upstreamDuration.observe({ ...labels, outcome: call.kind === 'ok' ? 'ok' : 'error' }, call.durationMs / 1000)
    this.upstreamRequests.inc({ ...labels, outcome: call.outcome })
    if (call.outcome === 'rate_limited') this.rateLimited.inc({ model: call.model })
    if (call.kind === 'ok') {
      const usd = this.price(call.model, call.resolution)
      if (typeof usd === 'number' && usd > 0) this.spend.inc(labels, usd)
    }
  }

  /** For the batch engine: pages by outcome, retries, batch durations. */
  readonly lifecycle: BatchLifecycle = {
    pageCompleted: () => this.pageSettled('completed'),
    pageFailed: f => this.pageSettled('failed', f.error_code),
    pageRetrying: f => this.pageRetried(f.error_code),
    pageTakenOver: () => this.takenOver.inc(),
    pagesCancelled: (_batch, count) => { if (count > 0) this.pages.inc({ outcome: 'cancelled', error_code: '' }, count) },
    batchFinished: (batch, durationMs) => this.batchFinished(batch.status, durationMs / 1000),
  }

  pageSettled(outcome: 'completed' | 'failed' | 'cancelled', errorCode?: string | null): void {
    this.pages.inc({ outcome, error_code: outcome === 'failed' ? (errorCode ?? 'unknown') : '' })
  }

  pageRetried(errorCode: string): void {
    this.retries.inc({ error_code: errorCode })
  }

  thumbnail(ok: boolean): void {
    this.thumbnails.inc({ outcome: ok ? 'made' : 'failed' })
  }

  batchFinished(status: string, seconds: number): void {
    this.batchDuration.observe({ status }, Math.max(0, seconds))
  }

  webhook(outcome: 'delivered' | 'retried' | 'given_up' | 'refused'): void {
    this.webhooks.inc({ outcome })
  }

  sseOpened(): void {
    this.sse.inc()
  }

  sseClosed(): void {
    this.sse.dec()
  }
}

function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/** GET /metrics; with a token, only `Authorization: Bearer <token>` may read it (401 otherwise). */
export function createMetricsRouter(metrics: ProxyMetrics, token?: string): Router {
  const r = express.Router()
  r.get('/metrics', async (req, res) => {
    if (token) {
      const m = /^Bearer\s+(.+)$/i.exec(req.get('Authorization')?.trim() ?? '')
      if (!m || !sameToken(m[1], token)) throw new ApiError(401, 'unauthorized', 'The metrics need a token: send Authorization: Bearer <METRICS_TOKEN>')
    }
    const body = await metrics.registry.metrics()
    res.setHeader('Content-Type', metrics.registry.contentType)
    res.setHeader('Cache-Control', 'no-store')
    res.send(body)
  })
  return r
}
