// Liveness and readiness for load balancers and Kubernetes probes (not under /api/v1, no token):
//   GET /livez  → 200 {"ok":true,"uptime_s":n} while the process serves HTTP at all.
//   GET /readyz → 200 {"ok":true,"checks":{…}} when every readiness check passes, else
//                 503 {"ok":false,"reason":"<first failing check>: <why>","checks":{…}}.
// A readiness check is a named async function that throws (or rejects) with the reason; each is
// bounded by a timeout so a hung dependency makes the probe fail instead of hang. More checks (Redis,
// S3 for scale-out) are handed in by whoever builds that dependency.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import express, { type Router } from 'express'

export interface ReadinessCheck {
  /** short name shown in the probe's body, e.g. `storage`, `provider`, `redis` */
  readonly name: string
  /** resolves when ready; throws/rejects with an Error whose message says why not */
  check(): Promise<void>
}

export interface CheckResult {
  ok: boolean
  /** why not, when !ok */
  reason?: string
  ms: number
}

export interface ReadinessReport {
  ok: boolean
  /** `<check>: <reason>` of the first failing check */
  reason?: string
  checks: Record<string, CheckResult>
}

export interface ProbeOptions {
  checks: readonly ReadinessCheck[]
  /** per check, ms (default 2000) */
  timeoutMs?: number
  /** when it returns a string, /readyz answers 503 with that reason without running checks (shutdown) */
  notReadyReason?: () => string | undefined
  /** process start, ms since epoch (default: module load) */
  startedAt?: number
}

const LOADED_AT = Date.now()

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    p.then(() => { clearTimeout(timer); resolve() }, (err: unknown) => { clearTimeout(timer); reject(err) })
  })
}

/** Runs every check concurrently (each bounded by `timeoutMs`) and reports them all. */
export async function runChecks(checks: readonly ReadinessCheck[], timeoutMs = 2000): Promise<ReadinessReport> {
  const results = await Promise.all(checks.map(async c => {
    const started = performance.now()
    try {
      await withTimeout(Promise.resolve().then(() => c.check()), timeoutMs)
      return [c.name, { ok: true, ms: Math.round(performance.now() - started) }] as const
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err)
      return [c.name, { ok: false, reason, ms: Math.round(performance.now() - started) }] as const
    }
  }))
  const checksOut: Record<string, CheckResult> = {}
  let reason: string | undefined
  for (const [name, r] of results) {
    checksOut[name] = r
    if (!r.ok && reason === undefined) reason = `${name}: ${r.reason}`
  }
  return { ok: reason === undefined, ...(reason !== undefined ? { reason } : {}), checks: checksOut }
}

/**
 * Storage is writable: in each directory, a small file is written, read back and removed
 * (the same create/write/rename/unlink operations the image store and state writes use); with
 * `minFreeBytes`, the first directory's file system has that much free (statfs) — below it new
 * batches are refused (server/storage.ts storageProblem), so the proxy is not ready either.
 */
export function storageCheck(dirs: readonly string[], minFreeBytes?: number): ReadinessCheck {
  return {
    name: 'storage',
    async check() {
      for (const dir of dirs) {
        const probe = path.join(dir, `.readyz-${process.pid}-${randomBytes(4).toString('hex')}.tmp`)
        const data = `readyz ${Date.now()}`
        try {
          await fs.writeFile(probe, data)
          if ((await fs.readFile(probe, 'utf8')) !== data) throw new Error('read back different bytes')
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code
          throw new Error(`${dir} is not writable${code ? ` (${code})` : ''}`)
        } finally {
          await fs.rm(probe, { force: true }).catch(() => undefined)
        }
      }
      if (minFreeBytes !== undefined && dirs.length) {
        const st = await fs.statfs(dirs[0]).catch(() => null)
        const free = st ? st.bavail * st.bsize : Infinity
        if (free < minFreeBytes) throw new Error(`${dirs[0]} is almost full (${Math.floor(free / 1024 / 1024)} MB free, needs ${Math.round(minFreeBytes / 1024 / 1024)} MB)`)
      }
    },
  }
}

/**
 * The image provider is configured: `problem()` returns why not (e.g. the upstream rejected the API
 * key on the latest call — only a restart with a new key fixes that), or undefined.
 */
export function providerCheck(problem: () => string | undefined): ReadinessCheck {
  return {
    name: 'provider',
    async check() {
      const p = problem()
      if (p) throw new Error(p)
    },
  }
}

/** `/livez` and `/readyz` (GET and HEAD). */
export function createProbeRouter(opts: ProbeOptions): Router {
  const r = express.Router()
  const startedAt = opts.startedAt ?? LOADED_AT
  // probes from several balancers at once share one run of the checks
  let running: Promise<ReadinessReport> | null = null

  r.get('/livez', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    res.json({ ok: true, uptime_s: Math.round((Date.now() - startedAt) / 1000) })
  })

  r.get('/readyz', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    const stopping = opts.notReadyReason?.()
    if (stopping) {
      res.status(503).json({ ok: false, reason: stopping, checks: {} })
      return
    }
    running ??= runChecks(opts.checks, opts.timeoutMs).finally(() => { running = null })
    const report = await running
    res.status(report.ok ? 200 : 503).json(report)
  })

  return r
}
