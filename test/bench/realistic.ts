// Realistic proxy benchmark (run by `npm run bench`; not a test). The real proxy (config → gemini
// provider via @google/genai → scheduler → storage → SSE) against the fake Gemini in a child process
// answering poorly compressible PNGs of the real sizes (2K 2752×1536 ≈ 7.4 MB, 4K 5504×3072 ≈ 30 MB)
// with a thought draft, optionally behind a sliding-window quota. Time is scaled down (latency 1 s
// instead of 20–40 s, a quota window of seconds instead of a minute).
//
// Each scenario runs in a fresh process (this file with `--scenario <name>`), so peak RSS is its own.
// Like the extension's progress window, the client follows the SSE stream and fetches each page's
// thumbnail when the page's event arrives.
//
// Prints per scenario:
//   makespan / ideal   batch created → `done`; ideal = max(ceil(N/C)·L, N/R) (R = quota per window)
//   CPU / page         proxy process CPU (user + system) ÷ pages, thumbnails included
//   peak RSS           the proxy process, sampled every 10 ms (start → 3 s after `done`), and 3 s after
//   429 share          rate-limited upstream calls ÷ all upstream calls
//   failed             pages that did not complete
//   loop max           the longest event-loop stall (monitorEventLoopDelay) during the batch
//   SSE p95            page completed in the proxy → its event read by the client
//   embed p95          page event read → its embed JPEG received (asked for at the event, as the
//                      editor does; the proxy answers once it is made)
//   answer / save / variants   per page, p50 and max: upstream call incl. reading the answer; verify +
//                      write (the page completes right after); page saved → its embed JPEG and thumbnail on disk
//
//   --cpu-prof         writes a V8 CPU profile of each scenario's process to ./prof (node --cpu-prof)
//
//   npm run bench                              all scenarios
//   tsx test/bench/realistic.ts 2k-quota 4k    some of them
import { fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import type { PageTiming } from '../../server/batches.js'
import { benchBatch, percentile, startFakeInChild } from './shared.js'

interface Scenario {
  name: string
  resolution: '2K' | '4K'
  pages: number
  concurrency: number
  latencyMs: number
  quota?: { requests: number; windowMs: number }
  /** goal for makespan / ideal */
  goal: number
}

const SCENARIOS: Scenario[] = [
  { name: '2k', resolution: '2K', pages: 40, concurrency: 5, latencyMs: 1000, goal: 1.10 },
  { name: '2k-quota', resolution: '2K', pages: 40, concurrency: 5, latencyMs: 1000, quota: { requests: 10, windowMs: 4000 }, goal: 1.15 },
  { name: '2k-10', resolution: '2K', pages: 10, concurrency: 5, latencyMs: 300, goal: 1.10 },
  { name: '2k-100', resolution: '2K', pages: 100, concurrency: 5, latencyMs: 300, goal: 1.10 },
  { name: '4k-5', resolution: '4K', pages: 5, concurrency: 5, latencyMs: 1000, goal: 1.10 },
  { name: '4k', resolution: '4K', pages: 20, concurrency: 5, latencyMs: 1000, goal: 1.10 },
  { name: '4k-10s', resolution: '4K', pages: 10, concurrency: 5, latencyMs: 10_000, goal: 1.10 },
  { name: '4k-quota', resolution: '4K', pages: 20, concurrency: 5, latencyMs: 1000, quota: { requests: 5, windowMs: 4000 }, goal: 1.15 },
]

export interface ScenarioResult {
  name: string
  pages: number
  failed: number
  makespanMs: number
  idealMs: number
  cpuPerPageMs: number
  startRssMb: number
  peakRssMb: number
  afterRssMb: number
  afterGcRssMb: number
  calls: number
  rateLimited: number
  loopMaxMs: number
  sseP95Ms: number
  embedP95Ms: number
  /** per page, ms: [p50, max] */
  answerMs: [number, number]
  saveMs: [number, number]
  variantsMs: [number, number]
}

/** One scenario in this process: proxy in-process, fake in a child. */
async function runScenario(sc: Scenario): Promise<ScenarioResult> {
  const { startServer } = await import('../../server/app.js')
  const { loadConfig } = await import('../../server/config.js')
  const { createLogger } = await import('../../server/logger.js')
  const { createProvider } = await import('../../server/providers/index.js')

  const dir = await mkdtemp(path.join(os.tmpdir(), 'nb-bench-real-'))
  const fake = await startFakeInChild({ latencyMs: sc.latencyMs, faultRate: 0, mislabelRate: 0, validKey: 'bench-key', realistic: true, ...(sc.quota ? { quota: sc.quota } : {}) })
  const config = loadConfig({
    GEMINI_API_KEY: 'bench-key', GEMINI_BASE_URL: fake.url, MAX_CONCURRENT_GENERATIONS: String(sc.concurrency),
    DATA_DIR: path.join(dir, 'data'), DEFAULT_RESOLUTION: sc.resolution, LOG_LEVEL: 'silent',
  })
  const timings: PageTiming[] = []
  let recordTimings = false
  const srv = await startServer({
    config, provider: createProvider(config.provider), logger: createLogger({ write: () => {} }),
    // reported once the page's variants are made (after the page completed)
    onPageTiming: t => { if (recordTimings) timings.push(t) },
  })

  const run = async (label: string, pages: number) => {
    const body = benchBatch(label, pages, sc.resolution)
    const started = performance.now()
    const res = await fetch(`${srv.url}/api/v1/slide-generations/batches`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    const { batch_id: id } = await res.json() as { batch_id: string }
    const appendedAt = new Map<number, number>()
    srv.engine.bus.subscribe(id, e => {
      if (e.event === 'page' && (e.data as { status: string }).status === 'completed') appendedAt.set(e.id, performance.now())
    })
    const deliveries: number[] = []
    const thumbs: Array<Promise<void>> = []
    /** page event read → its embed JPEG received (what the editor's embed mode waits for) */
    const embedWaits: number[] = []
    let failed = 0
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
        const eid = /^id: (\d+)$/m.exec(block)?.[1]
        const at = eid ? appendedAt.get(Number(eid)) : undefined
        if (at !== undefined) deliveries.push(now - at)
        const thumb = /"thumbnail_url":"([^"]+)"/.exec(block)?.[1]
        if (at !== undefined && thumb) {
          thumbs.push(fetch(`${srv.url}${thumb}`).then(r => r.arrayBuffer()).then(() => undefined))
          thumbs.push(fetch(`${srv.url}${thumb.replace('.thumb.jpg', '.embed.jpg')}`).then(r => r.arrayBuffer()).then(() => { embedWaits.push(performance.now() - now) }))
        }
        const done = /^event: done$/m.test(block) ? /"failed_pages":(\d+)/.exec(block) : null
        if (done) {
          makespan = now - started
          failed = pages - Number(/"completed_pages":(\d+)/.exec(block)?.[1] ?? 0)
        }
      }
    }
    await Promise.all(thumbs)
    return { makespan, deliveries, failed, embedWaits }
  }

  // warm-up: sharp, the SDK, connections (a quota scenario's warm-up uses no quota: it runs without one)
  if (!sc.quota) await run('warmup', Math.min(2, sc.pages))
  await new Promise(r => setTimeout(r, 500))
  const before = await fake.stats()
  const startRss = process.memoryUsage.rss()
  let peakRss = startRss
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()) }, 10)
  const loop = monitorEventLoopDelay({ resolution: 5 })
  loop.enable()
  const cpuBefore = process.cpuUsage()
  recordTimings = true
  const { makespan, deliveries, failed, embedWaits } = await run('measured', sc.pages)
  loop.disable()
  // thumbnails still being made count too; then see whether memory comes back
  await srv.engine.batches.flush()
  const cpu = process.cpuUsage(cpuBefore)
  await new Promise(r => setTimeout(r, 3000))
  clearInterval(sampler)
  const afterRss = process.memoryUsage.rss()
  // what a full GC gives back: garbage waiting for V8 (this process runs with --expose-gc) vs memory still held
  ;(globalThis as { gc?: () => void }).gc?.()
  await new Promise(r => setTimeout(r, 200))
  const afterGcRss = process.memoryUsage.rss()
  const after = await fake.stats()
  const limited = (after.byFault['429_quota'] ?? 0) - (before.byFault['429_quota'] ?? 0)
  const calls = after.requests - before.requests
  const ideal = Math.max(Math.ceil(sc.pages / sc.concurrency) * sc.latencyMs, sc.quota ? (sc.pages / sc.quota.requests) * sc.quota.windowMs : 0)
  await srv.stop()
  await fake.close()
  await rm(dir, { recursive: true, force: true })
  const mb = (b: number) => b / 1024 / 1024
  const p50max = (values: number[]): [number, number] => [percentile(values, 50), Math.max(...values)]
  return {
    name: sc.name, pages: sc.pages, failed, makespanMs: makespan, idealMs: ideal,
    cpuPerPageMs: (cpu.user + cpu.system) / 1000 / sc.pages,
    startRssMb: mb(startRss), peakRssMb: mb(peakRss), afterRssMb: mb(afterRss), afterGcRssMb: mb(afterGcRss),
    calls, rateLimited: limited, loopMaxMs: loop.max / 1e6, sseP95Ms: percentile(deliveries, 95), embedP95Ms: percentile(embedWaits, 95),
    answerMs: p50max(timings.map(t => t.providerMs)), saveMs: p50max(timings.map(t => t.saveMs)), variantsMs: p50max(timings.map(t => t.thumbnailReadyMs)),
  }
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--scenario')
  if (i >= 0) {
    const sc = SCENARIOS.find(s => s.name === process.argv[i + 1])
    if (!sc) throw new Error(`unknown scenario ${process.argv[i + 1]}`)
    const result = await runScenario(sc)
    process.send?.(result)
    return
  }
  const wanted = process.argv.slice(2).filter(a => !a.startsWith('-'))
  const list = wanted.length ? SCENARIOS.filter(s => wanted.includes(s.name)) : SCENARIOS
  console.log(`\nRealistic proxy benchmark: fake Gemini answering noisy PNGs of the real sizes with a draft (2K ≈ 7.4 MB, 4K ≈ 30 MB); load average ${os.loadavg().map(l => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores\n`)
  // make the fake's images once (cached on disk) before any scenario, in this process: a scenario's
  // process never holds them, so its RSS is the proxy's own
  const { realisticImage, slideImageSize } = await import('../fakes/images.js')
  for (const resolution of new Set(list.map(sc => sc.resolution))) {
    const size = slideImageSize('16:9', resolution)
    await realisticImage(size.width, size.height)
    await realisticImage(Math.round(size.width / 4), Math.round(size.height / 4), 'draft')
  }
  const header = ['scenario', 'pages', 'C', 'L ms', 'quota', 'makespan/ideal (goal)', 'CPU/page', 'RSS start→peak→+3s→GC MB', '429s', 'failed', 'loop max', 'SSE p95', 'embed p95', 'answer p50/max', 'save p50/max', 'variants p50/max']
  const profile = process.argv.includes('--cpu-prof')
  const rows: string[][] = []
  for (const sc of list) {
    // glibc's arena count as the production start sets it (npm run serve, the systemd unit)
    const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' }
    const child = fork(fileURLToPath(import.meta.url), ['--scenario', sc.name], { env, execArgv: ['--import', 'tsx', '--expose-gc', ...(profile ? ['--cpu-prof', '--cpu-prof-dir=prof'] : [])] })
    const r = await new Promise<ScenarioResult>((resolve, reject) => {
      child.once('message', m => resolve(m as ScenarioResult))
      child.once('exit', code => reject(new Error(`scenario ${sc.name} exited (${code})`)))
    })
    await new Promise(resolve => child.once('exit', resolve))
    const ratio = r.makespanMs / r.idealMs
    rows.push([
      sc.name, String(sc.pages), String(sc.concurrency), String(sc.latencyMs), sc.quota ? `${sc.quota.requests}/${sc.quota.windowMs / 1000}s` : '—',
      `${ratio.toFixed(3)} (${(r.makespanMs / 1000).toFixed(1)}/${(r.idealMs / 1000).toFixed(1)} s) ≤ ${sc.goal}`,
      `${r.cpuPerPageMs.toFixed(0)} ms`,
      `${r.startRssMb.toFixed(0)}→${r.peakRssMb.toFixed(0)}→${r.afterRssMb.toFixed(0)}→${r.afterGcRssMb.toFixed(0)}`,
      `${r.rateLimited}/${r.calls} (${((r.rateLimited / Math.max(1, r.calls)) * 100).toFixed(0)} %)`,
      String(r.failed), `${r.loopMaxMs.toFixed(0)} ms`, `${r.sseP95Ms.toFixed(0)} ms`, `${r.embedP95Ms.toFixed(0)} ms`,
      ...[r.answerMs, r.saveMs, r.variantsMs].map(([p50, max]) => `${p50.toFixed(0)}/${max.toFixed(0)} ms`),
    ])
    console.log(rows.at(-1)!.join(' | '))
  }
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map(r => r[c].length)))
  console.log('')
  console.log(header.map((h, c) => h.padEnd(widths[c])).join('  '))
  for (const r of rows) console.log(r.map((v, c) => v.padEnd(widths[c])).join('  '))
  console.log('')
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
