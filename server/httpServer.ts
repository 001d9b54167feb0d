// The HTTP server around the Express app, bounded against slow and greedy clients: the whole request
// (headers and body) must arrive within requestTimeoutMs, headers within headersTimeoutMs, an idle
// keep-alive connection closes after keepAliveTimeoutMs. Node enforces these itself (http.Server
// options; checked every connectionsCheckingIntervalMs) — a response or an SSE stream, once its
// request has arrived, is not limited by them, so progress streams may last as long as the batch.
import http, { type RequestListener, type Server } from 'node:http'
import type { HttpLimits } from './config.js'

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 1000,
}

/**
 * Creates and listens. Rejects with the listen error (port in use, bad address).
 * `checkIntervalMs` (default: a quarter of the request timeout, 1–30 s) bounds how late a timeout is noticed.
 */
export function listenBounded(handler: RequestListener, opts: { port: number; host: string; limits?: Partial<HttpLimits>; checkIntervalMs?: number }): Promise<Server> {
  const limits = { ...DEFAULT_HTTP_LIMITS, ...opts.limits }
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs)
  const server = http.createServer({
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: opts.checkIntervalMs ?? Math.max(1000, Math.min(30_000, Math.floor(limits.requestTimeoutMs / 4))),
  }, handler)
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}
