// CORS: which web origins may call the proxy, and what a page on another origin cannot do.
//
// Web pages on other sites must not start paid work. CORS alone does not stop them: a browser sends a
// "simple" cross-origin POST (Content-Type text/plain, a form post, multipart) without a preflight, and
// CORS only hides the answer from the page — the batch is created and paid all the same (the JSON
// parser reads any content type). So when CORS_ORIGINS is a list, a POST whose Origin is not on it is
// refused before any route runs. And a proxy that listens on loopback without tokens (the safe default
// for a paid provider) also checks the Host header: a page that re-points its own name at 127.0.0.1
// (DNS rebinding) is same-origin to the browser, so only the Host it sends gives it away.
// Own code rather than a library: the CORS packages (cors) never refuse, and CSRF packages want a
// token round trip the extension and API clients do not do; this is two header comparisons.
import type { RequestHandler } from 'express'
import { ApiError } from './errors.js'

/** An origin matches an entry exactly, or an entry `scheme://host:*` with any port (or none). */
export function originAllowed(origin: string, allowed: string[]): boolean {
  for (const o of allowed) {
    if (o === origin) return true
    if (o.endsWith(':*')) {
      const base = o.slice(0, -2)
      if (origin === base || (origin.startsWith(base + ':') && /^\d{1,5}$/.test(origin.slice(base.length + 1)))) return true
    }
  }
  return false
}

export function corsMiddleware(origins: '*' | string[]): RequestHandler {
  return (req, res, next) => {
    const origin = req.get('Origin')
    if (origins === '*') res.setHeader('Access-Control-Allow-Origin', '*')
    else {
      res.vary('Origin')
      if (origin && originAllowed(origin, origins)) res.setHeader('Access-Control-Allow-Origin', origin)
    }
    res.setHeader('Access-Control-Expose-Headers', 'Retry-After')
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS')
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Last-Event-ID, Cache-Control')
      res.setHeader('Access-Control-Max-Age', '600')
      res.status(204).end()
      return
    }
    next()
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const LOOPBACK_HOSTS = ['localhost', '[::1]']

/** true for 127.0.0.0/8, ::1 and localhost (with or without brackets). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase()
  return LOOPBACK_HOSTS.includes(h) || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h.endsWith('.localhost')
}

/** The host of a Host header (`name:port`, `[v6]:port`), lower case, without the port. */
function hostOf(header: string): string {
  const h = header.trim().toLowerCase()
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1)
  const colon = h.lastIndexOf(':')
  return colon >= 0 ? h.slice(0, colon) : h
}

export interface OriginGuardOptions {
  /** CORS_ORIGINS: `*` (no Origin check) or the allowed origins (`http://localhost:*` patterns too) */
  corsOrigins: '*' | string[]
  /**
   * Check the Host header too (DNS rebinding): the proxy listens on a loopback address and needs no
   * token. Allowed then: loopback names and addresses, and the hosts of the CORS_ORIGINS entries.
   */
  checkHost: boolean
}

/**
 * Express middleware. Refuses, in the api.md error shape:
 * - `403 origin_not_allowed` — a POST (any method but GET/HEAD/OPTIONS) carrying an `Origin` header
 *   that CORS_ORIGINS does not allow (`Origin: null` included); requests without `Origin` (curl, servers)
 *   pass, since only browsers are the concern;
 * - `403 host_not_allowed` — with `checkHost`, any request whose `Host` is neither loopback nor the host
 *   of an allowed origin.
 */
export function originGuard(opts: OriginGuardOptions): RequestHandler {
  const { corsOrigins, checkHost } = opts
  const originHosts = corsOrigins === '*' ? [] : corsOrigins.map(o => hostOf(new URL(o.replace(/:\*$/, '')).host))
  return (req, _res, next) => {
    if (checkHost) {
      const host = req.get('Host')
      if (host !== undefined && !isLoopbackHost(hostOf(host)) && !originHosts.includes(hostOf(host))) {
        return next(new ApiError(403, 'host_not_allowed', `This proxy answers on this machine only (it listens on a loopback address and needs no token), not as "${host}". Set PROXY_TOKEN to open it to the network, or add the site to CORS_ORIGINS`))
      }
    }
    if (corsOrigins !== '*' && !SAFE_METHODS.has(req.method)) {
      const origin = req.get('Origin')
      if (origin !== undefined && !originAllowed(origin, corsOrigins)) {
        return next(new ApiError(403, 'origin_not_allowed', `Requests from the web page at ${origin} are not allowed; the administrator can add it to CORS_ORIGINS`))
      }
    }
    next()
  }
}
