// Shared test plumbing for the proxy tests: scriptable in-process providers, temp data dirs,
// a server on an ephemeral port, and a small SSE client that records every byte it read.
import { mkdtemp, rm, mkdir } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { startServer, type AppDeps, type RunningServer } from '../../server/app.js'
import type { AppConfigSubset } from '../../server/app.js'
import type { BuildPrompt, PromptInput } from '../../server/batches.js'
import { createMemoryLogger } from '../../server/logger.js'
import { ProviderError, type GenerateRequest, type GeneratedImage, type ImageProvider } from '../../server/providers/types.js'

export async function tempDir(prefix = 'nb-proxy-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  // retries: a file a test's background write (variants, state) creates while the tree is removed
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }) }
}

const pngCache = new Map<string, Buffer>()
export async function solidPng(width = 64, height = 36, color = '#3366cc'): Promise<Buffer> {
  const k = `${width}x${height}${color}`
  let b = pngCache.get(k)
  if (!b) {
    b = await sharp({ create: { width, height, channels: 3, background: color } }).png().toBuffer()
    pngCache.set(k, b)
  }
  return b
}

/** A public folder with a cover for each catalogue template (the real covers may not exist yet). */
export async function fakePublicDir(root: string): Promise<string> {
  const pub = path.join(root, 'public')
  await mkdir(path.join(pub, 'imgs', 'nano_banana'), { recursive: true })
  const cover = await sharp({ create: { width: 2000, height: 1125, channels: 3, background: '#1e40af' } }).png().toBuffer()
  const { NANO_BANANA_TEMPLATES } = await import('../../plugin/configs/nanoBananaTemplates.js')
  const { writeFile } = await import('node:fs/promises')
  for (const t of NANO_BANANA_TEMPLATES) {
    await writeFile(path.join(pub, t.cover.replace(/^\.\//, '')), cover)
    await writeFile(path.join(pub, t.thumbnail.replace(/^\.\//, '')), await sharp(cover).resize(300, 169).jpeg().toBuffer())
  }
  return pub
}

export const testPrompt: BuildPrompt = (input: PromptInput) =>
  [input.deckTitle, `page ${input.page.pageNumber}/${input.page.totalPages}`, input.page.title, input.page.content, input.instruction ?? '', input.references.join(',')].join(' | ')

export interface ScriptedCall {
  req: GenerateRequest
  startedAt: number
  page: number
}

export type Outcome = GeneratedImage | ProviderError | 'hang'

/**
 * A provider whose answer for each call comes from `script(call, nthCallForThisPage)`.
 * Tracks concurrency and every request it saw.
 */
export function scriptedProvider(script: (page: number, attempt: number, req: GenerateRequest) => Promise<Outcome> | Outcome, opts: { delayMs?: number } = {}) {
  const calls: ScriptedCall[] = []
  const perPage = new Map<string, number>()
  const stats = { inFlight: 0, maxInFlight: 0, aborted: 0 }
  const provider: ImageProvider & { calls: ScriptedCall[]; stats: typeof stats } = {
    name: 'gemini',
    model: 'fake-model',
    calls,
    stats,
    async generate(req) {
      const page = req.page.pageNumber
      const k = `${req.page.deckTitle}#${page}`
      const attempt = (perPage.get(k) ?? 0) + 1
      perPage.set(k, attempt)
      calls.push({ req, startedAt: Date.now(), page })
      stats.inFlight++
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
      try {
        const waitAbortable = (ms: number) => new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, ms)
          req.signal.addEventListener('abort', () => {
            clearTimeout(t)
            stats.aborted++
            reject(new ProviderError('aborted', 'aborted', 'aborted'))
          }, { once: true })
        })
        if (opts.delayMs) await waitAbortable(opts.delayMs)
        const outcome = await script(page, attempt, req)
        if (outcome === 'hang') {
          await waitAbortable(60_000)
          throw new Error('unreachable')
        }
        if (outcome instanceof ProviderError) throw outcome
        return outcome
      } finally {
        stats.inFlight--
      }
    },
  }
  return provider
}

export async function okImage(): Promise<GeneratedImage> {
  return { bytes: await solidPng(), mime: 'image/png' }
}

export function testConfig(dataDir: string, over: Partial<AppConfigSubset> = {}): AppConfigSubset {
  return {
    maxConcurrentGenerations: 3,
    maxQueuedPages: 500,
    maxRetries: 3,
    defaultResolution: '1K',
    thumbnail: { width: 120, height: 68 },
    dataDir,
    corsOrigins: '*',
    ...over,
  }
}

export interface TestServer extends RunningServer {
  logLines: string[]
}

export async function startTestServer(deps: Omit<Partial<Parameters<typeof startServer>[0]>, 'config'> & { provider: ImageProvider; dataDir: string; config?: Partial<AppConfigSubset>; secrets?: string[] }): Promise<TestServer> {
  const logger = createMemoryLogger(deps.secrets ?? [])
  const running = await startServer({
    buildPrompt: testPrompt,
    backoff: { baseMs: 5, maxMs: 20 },
    pingIntervalMs: 15_000,
    ...deps,
    config: testConfig(deps.dataDir, deps.config),
    logger: deps.logger ?? logger,
  })
  return Object.assign(running, { logLines: logger.lines })
}

// ---- SSE client ------------------------------------------------------------------------------

export interface SseEvent {
  id?: number
  event: string
  data: unknown
}

export interface SseConnection {
  events: SseEvent[]
  /** every byte read, decoded (key scan) */
  raw: string[]
  status: number
  headers: Headers
  /** resolves when the server closes the stream */
  closed: Promise<void>
  /** resolves when an event matching pred has arrived */
  waitFor(pred: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>
  abort(): void
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const ac = new AbortController()
  const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: ac.signal })
  const events: SseEvent[] = []
  const raw: string[] = []
  const waiters: Array<{ pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }> = []
  const push = (e: SseEvent) => {
    events.push(e)
    for (const w of [...waiters]) {
      if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(e)
      }
    }
  }
  const closed = (async () => {
    if (!res.body) return
    const decoder = new TextDecoder()
    let buf = ''
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true })
        raw.push(text)
        buf += text
        let idx
        while ((idx = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, idx)
          buf = buf.slice(idx + 2)
          let id: number | undefined
          let event = 'message'
          const data: string[] = []
          let comment = false
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) { comment = true; continue }
            const [field, ...rest] = line.split(':')
            const value = rest.join(':').replace(/^ /, '')
            if (field === 'id') id = Number(value)
            else if (field === 'event') event = value
            else if (field === 'data') data.push(value)
          }
          if (comment && data.length === 0) push({ event: 'comment', data: block.slice(1).trim() })
          else if (data.length) push({ id, event, data: JSON.parse(data.join('\n')) })
        }
      }
    } catch {
      // aborted by the test
    }
  })()
  return {
    events, raw, status: res.status, headers: res.headers, closed,
    waitFor(pred, timeoutMs = 10_000) {
      const hit = events.find(pred)
      if (hit) return Promise.resolve(hit)
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for an SSE event; got ${events.map(e => e.event).join(',')}`)), timeoutMs)
        waiters.push({ pred, resolve: e => { clearTimeout(t); resolve(e) } })
      })
    },
    abort: () => ac.abort(),
  }
}

export function pages(n: number, prefix = 'p'): Array<{ slide_id: string; title: string; content: string }> {
  return Array.from({ length: n }, (_, i) => ({ slide_id: `${prefix}${i + 1}`, title: `Title ${i + 1}`, content: `Point A\nPoint B ${i + 1}` }))
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })
  const text = await res.text()
  let parsed: unknown = null
  try { parsed = JSON.parse(text) } catch { /* not json */ }
  return { status: res.status, body: parsed, headers: res.headers, text }
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers; text: string }> {
  const res = await fetch(url, { headers })
  const text = await res.text()
  let parsed: unknown = null
  try { parsed = JSON.parse(text) } catch { /* not json */ }
  return { status: res.status, body: parsed, headers: res.headers, text }
}

export async function waitUntil(pred: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 10): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('timed out waiting for a condition')
    await new Promise(r => setTimeout(r, stepMs))
  }
}
