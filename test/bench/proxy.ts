// Proxy benchmark (run by `npm run bench`; not a test). The real proxy (config → gemini provider via
// @google/genai → queue → storage → SSE) against the fake Gemini server on 127.0.0.1 answering 2K
// PNGs (2752×1536) after 300 ms, no faults. 40 pages, concurrency 5, style_chain off (page 1 first
// would add a round by design), all pages different (no duplicate-cache hits).
//
// Prints, with goals:
//   makespan / ideal          ideal = ceil(40/5) × 300 ms                        goal ≤ 1.10
//   proxy overhead per page   provider call minus the 300 ms upstream wait (HTTP, JSON, base64, sniff)
//                             + verify/write/thumbnail, p50 / p95                 goal p95 ≤ 100 ms
//   proxy CPU per page        CPU time of the proxy process / pages (wall times above grow when
//                             the machine is busy; this does not)
//   peak RSS                  the proxy process (the fake runs in a child)       goal ≤ 300 MB
//   page done → SSE delivered p95                                                goal ≤ 50 ms
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { startServer } from '../../server/app.js'
import { loadConfig } from '../../server/config.js'
import { createLogger } from '../../server/logger.js'
import { createProvider } from '../../server/providers/index.js'
import type { PageTiming } from '../../server/batches.js'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { FakeStats } from '../fakes/common.js'

const PAGES = 40
const CONCURRENCY = 5
const LATENCY_MS = 300
const GOALS = { makespanRatio: 1.10, overheadP95Ms: 100, peakRssMb: 300, sseP95Ms: 50 }

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

async function startFakeInChild(opts: object) {
  const child = fork(fileURLToPath(new URL('./fakeGeminiProcess.ts', import.meta.url)), [JSON.stringify(opts)], { execArgv: ['--import', 'tsx'] })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', m => resolve((m as { url: string }).url))
    child.once('exit', code => reject(new Error(`fake Gemini exited (${code})`)))
  })
  return {
    url,
    stats: () => new Promise<FakeStats>(resolve => {
      child.once('message', m => resolve((m as { stats: FakeStats }).stats))
      child.send('stats')
    }),
    close: () => new Promise<void>(resolve => {
      child.once('exit', () => resolve())
      child.send('close')
    }),
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nb-bench-'))
  const fake = await startFakeInChild({ latencyMs: LATENCY_MS, faultRate: 0, mislabelRate: 0, validKey: 'bench-key' })
  const config = loadConfig({
    GEMINI_API_KEY: 'bench-key', GEMINI_BASE_URL: fake.url, MAX_CONCURRENT_GENERATIONS: String(CONCURRENCY),
    DATA_DIR: path.join(dir, 'data'), DEFAULT_RESOLUTION: '2K',
  })
  const timings: PageTiming[] = []
  let record = false
  const srv = await startServer({
    config, provider: createProvider(config.provider), logger: createLogger({ write: () => {} }),
    onPageTiming: t => { if (record) timings.push(t) },
  })

  let peakRss = process.memoryUsage().rss
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 10)

  const run = async (label: string, pages: number) => {
    const body = {
      template_id: 'nano_banana_1', deck_title: `bench ${label}`,
      pages: Array.from({ length: pages }, (_, i) => ({ slide_id: `${label}-${i + 1}`, title: `${label} page ${i + 1}`, content: `Point one\nPoint two ${i + 1}` })),
      options: { resolution: '2K', style_chain: false },
    }
    const started = performance.now()
    const res = await fetch(`${srv.url}/api/v1/slide-generations/batches`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    const { batch_id: id } = await res.json() as { batch_id: string }
    // when each page-completed event was appended to the batch's log, in the proxy
    const appendedAt = new Map<number, number>()
    srv.batches.sseSource(id).log.subscribe(e => {
      if (e.event === 'page' && (e.data as { status: string }).status === 'completed') appendedAt.set(e.id, performance.now())
    })
    const deliveries: number[] = []
    const stream = await fetch(`${srv.url}/api/v1/slide-generations/batches/${id}/events`, { headers: { Accept: 'text/event-stream' } })
    const decoder = new TextDecoder()
    let buf = ''
    let makespan = 0
    for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
      const now = performance.now()
      buf += decoder.decode(chunk, { stream: true })
      let i
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        const id = /^id: (\d+)$/m.exec(block)?.[1]
        const at = id ? appendedAt.get(Number(id)) : undefined
        if (at !== undefined) deliveries.push(now - at)
        if (/^event: done$/m.test(block)) makespan = now - started
      }
    }
    return { makespan, deliveries }
  }

  // warm-up: sharp, the SDK, the fake's cached 2K PNG
  await run('warmup', CONCURRENCY)
  const baselineRss = process.memoryUsage().rss
  record = true
  peakRss = process.memoryUsage().rss
  const cpuBefore = process.cpuUsage()
  const { makespan, deliveries } = await run('measured', PAGES)
  const cpu = process.cpuUsage(cpuBefore)
  const cpuPerPageMs = (cpu.user + cpu.system) / 1000 / PAGES
  clearInterval(sampler)

  const ideal = Math.ceil(PAGES / CONCURRENCY) * LATENCY_MS
  const overhead = timings.map(t => Math.max(0, t.providerMs - LATENCY_MS) + t.saveMs)
  const saves = timings.map(t => t.saveMs)
  const rows: Array<[string, string, string, string]> = [
    ['makespan / ideal', `${(makespan / ideal).toFixed(3)} (${Math.round(makespan)} ms / ${ideal} ms)`, `≤ ${GOALS.makespanRatio}`, ((makespan / ideal) / GOALS.makespanRatio).toFixed(2)],
    ['proxy overhead per page p50', `${percentile(overhead, 50).toFixed(1)} ms`, '', ''],
    ['proxy overhead per page p95', `${percentile(overhead, 95).toFixed(1)} ms`, `≤ ${GOALS.overheadP95Ms} ms`, (percentile(overhead, 95) / GOALS.overheadP95Ms).toFixed(2)],
    ['proxy CPU per page (load-independent)', `${cpuPerPageMs.toFixed(1)} ms`, '', ''],
    ['  of which verify+write+thumbnail p50 / p95', `${percentile(saves, 50).toFixed(1)} / ${percentile(saves, 95).toFixed(1)} ms`, '', ''],
    ['peak RSS of the proxy process', `${(peakRss / 1024 / 1024).toFixed(0)} MB (${(baselineRss / 1024 / 1024).toFixed(0)} MB before the run)`, `≤ ${GOALS.peakRssMb} MB`, (peakRss / 1024 / 1024 / GOALS.peakRssMb).toFixed(2)],
    ['page done → SSE delivered p95', `${percentile(deliveries, 95).toFixed(1)} ms (p50 ${percentile(deliveries, 50).toFixed(1)})`, `≤ ${GOALS.sseP95Ms} ms`, (percentile(deliveries, 95) / GOALS.sseP95Ms).toFixed(2)],
  ]
  console.log(`\nProxy benchmark: ${PAGES} pages, concurrency ${CONCURRENCY}, ${LATENCY_MS} ms fake Gemini latency, 2K PNG (2752×1536), no faults`)
  const stats = await fake.stats()
  console.log(`(${timings.length} pages timed, ${deliveries.length} SSE deliveries, upstream requests ${stats.requests}, max in flight ${stats.maxInFlight}; load average ${os.loadavg().map(l => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores)\n`)
  const w = [44, 40, 12]
  console.log(`${'metric'.padEnd(w[0])}${'measured'.padEnd(w[1])}${'goal'.padEnd(w[2])}measured/goal`)
  for (const [a, b, c, d] of rows) console.log(`${a.padEnd(w[0])}${b.padEnd(w[1])}${c.padEnd(w[2])}${d}`)
  console.log('')

  await srv.stop()
  await fake.close()
  await rm(dir, { recursive: true, force: true })
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
