// One log line per HTTP request with pino-http: `{"msg":"request","req_id","method","path","status",
// "duration_ms"}`. Paths only — never the query string (it may carry ?token=) and never headers
// (Authorization). Probe and scrape requests are not logged (a balancer asks every few seconds).
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RequestHandler } from 'express'
import { pinoHttp } from 'pino-http'
import type { AppLogger } from './logger.js'

const QUIET = new Set(['/livez', '/readyz', '/metrics'])

/** The request path without its query string. */
export function pathOf(url: string | undefined): string {
  const u = url ?? '/'
  const q = u.indexOf('?')
  return q === -1 ? u : u.slice(0, q)
}

/** A well-formed incoming `X-Request-Id` is kept (so a front proxy's id links its log to ours), else a new one. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id']
  const id = typeof given === 'string' && /^[A-Za-z0-9._-]{8,64}$/.test(given) ? given : randomUUID()
  res.setHeader('X-Request-Id', id)
  return id
}

export function requestLogger(logger: AppLogger): RequestHandler {
  const fields = (req: IncomingMessage, res: ServerResponse, responseTime: unknown) => ({
    method: req.method,
    // express rewrites req.url inside mounted routers; originalUrl is what the client asked for
    path: pathOf((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url),
    status: res.statusCode,
    duration_ms: typeof responseTime === 'number' ? Math.round(responseTime) : undefined,
  })
  const http = pinoHttp({
    logger: logger.pino,
    genReqId: requestId,
    customAttributeKeys: { reqId: 'req_id' },
    quietReqLogger: true,
    quietResLogger: true,
    autoLogging: { ignore: req => QUIET.has(pathOf(req.url)) },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request failed',
    customSuccessObject: (req, res, val: { responseTime?: number }) => fields(req, res, val.responseTime),
    customErrorObject: (req, res, err, val: { responseTime?: number }) => ({ ...fields(req, res, val.responseTime), error: err.message }),
  })
  return (req, res, next) => http(req, res, next)
}
