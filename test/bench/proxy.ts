// Proxy benchmark (run by `npm run bench`; not a test). The real proxy (config → gemini provider via
// @google/genai → queue → storage → SSE) against the fake Gemini server on 127.0.0.1 answering 2K
// PNGs (2752×1536) after 300 ms, no faults. 40 pages, concurrency 5, style_chain off (page 1 first
// would add a round by design), all pages different (no duplicate-cache hits). Like the extension's
// progress window, the client fetches each page's thumbnail as soon as the page's SSE event arrives.
//
// Prints, with goals:
//   makespan / ideal          batch created → `done` received; ideal = ceil(40/5) × 300 ms   goal ≤ 1.10
//   proxy overhead per page   what the proxy adds before a page is completed: the provider call minus the
//                             300 ms upstream wait (HTTP, JSON, base64, sniff) + structural verify and
//                             write of the image. The thumbnail is NOT in it: it is made after the page
//                             completes (rows below), p50 / p95                              goal p95 ≤ 100 ms
//   thumbnail                 page saved → thumbnail on disk (waits for a free core) and the decode +
//                             resize + encode + write alone, p50 / p95
//   page done → thumbnail     SSE event received → the client's GET of the thumbnail answered 200 (a thumbnail
//                             still being made is answered 404 not_ready and asked for again after the
//                             extension's pauses, 1 s, 2 s, …), p50 / p95
//   proxy CPU per page        CPU time of the proxy process / pages, thumbnails included (wall times above
//                             grow when the machine is busy; this does not)
//   peak RSS                  the proxy process (the fake runs in a child)                 goal ≤ 300 MB
//   page done → SSE delivered p95                                                          goal ≤ 50 ms
//
// `--redis`: the same run in the Redis set-up (state, events and the BullMQ queue in the Redis at
// BENCH_REDIS_URL, default redis://127.0.0.1:6379, under a key prefix of its own, deleted after).
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { startServer } from '../../server/app.js'
import { loadConfig } from '../../server/config.js'
import { createLogger } from '../../server/logger.js'
import { createProvider } from '../../server/providers/index.js'
import type { PageTiming } from '../../server/batches.js'
import { dropRedisPrefix } from '../server/setups.js'
import { benchBatch, percentile, startFakeInChild } from './shared.js'
import { THUMBNAIL_RETRY_DELAYS_MS } from '../../plugin/composables/useThumbnailRetry.js'

const PAGES = 40
const CONCURRENCY = 5
const LATENCY_MS = 300
const GOALS = { makespanRatio: 1.10, overheadP95Ms: 100, peakRssMb: 300, sseP95Ms: 50 }
const REDIS_URL = process.argv.includes('--redis') ? (process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379') : undefined
const REDIS_PREFIX = `nbbench-${randomBytes(5).toString('hex')}`

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nb-bench-'))
  const fake = await startFakeInChild({ latencyMs: LATENCY_MS, faultRate: 0, mislabelRate: 0, validKey: 'bench-key' })
  const config = loadConfig({
    GEMINI_API_KEY: 'bench-key', GEMINI_BASE_URL: fake.url, MAX_CONCURRENT_GENERATIONS: String(CONCURRENCY),
    DATA_DIR: path.join(dir, 'data'), DEFAULT_RESOLUTION: '2K',
    ...(REDIS_URL ? { REDIS_URL, REDIS_PREFIX } : {}),
  })
  const timings: PageTiming[] = []
  let record = false
  let timed = 0
  const srv = await startServer({
    config, provider: createProvider(config.provider), logger: createLogger({ write: () => {} }),
    // reported once the page's thumbnail is made (after the page completed)
    onPageTiming: t => {
      timed++
      if (record) timings.push(t)
    },
  })

  // memoryUsage.rss() alone: the full memoryUsage() walks the heap spaces, which is the sampler's cost, not the proxy's
  let peakRss = process.memoryUsage.rss()
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()) }, 10)
  const until = async (done: () => boolean) => {
    while (!done()) await new Promise(resolve => setTimeout(resolve, 5))
  }

  /** thumbnail requests answered 404 not_ready (asked again later) */
  let notReady = 0
  const run = async (label: string, pages: number) => {
    const body = benchBatch(label, pages)
    const started = performance.now()
    const res = await fetch(`${srv.url}/api/v1/slide-generations/batches`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    const { batch_id: id } = await res.json() as { batch_id: string }
    // when each page-completed event was appended to the batch's log, in the proxy
    const appendedAt = new Map<number, number>()
    srv.engine.bus.subscribe(id, e => {
      if (e.event === 'page' && (e.data as { status: string }).status === 'completed') appendedAt.set(e.id, performance.now())
    })
    const deliveries: number[] = []
    let aheadOfPublish = 0
    const thumbnailFetches: Array<Promise<number>> = []
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
        // a page event can reach the client before its own publish: an event published ahead of it
        // made the stream fill the gap from the event log (server/events.ts)
        else if (id && /^event: page$/m.test(block) && /"status":"completed"/.test(block)) aheadOfPublish++
        const thumb = /"thumbnail_url":"([^"]+)"/.exec(block)?.[1]
        if (thumb && /^event: page$/m.test(block)) {
          // like the extension: a thumbnail still being made is answered 404 not_ready at once and asked
          // for again after the extension's pauses (plugin/composables/useThumbnailRetry.ts)
          thumbnailFetches.push((async () => {
            for (let attempt = 0; ; attempt++) {
              const r = await fetch(`${srv.url}${thumb}${attempt ? `?try=${attempt}` : ''}`)
              const bytes = await r.arrayBuffer()
              if (r.status === 200 && bytes.byteLength > 0) return performance.now() - now
              const pause = THUMBNAIL_RETRY_DELAYS_MS[attempt]
              if (r.status !== 404 || pause === undefined) throw new Error(`thumbnail ${thumb}: HTTP ${r.status}`)
              notReady++
              await new Promise(resolve => setTimeout(resolve, pause))
            }
          })())
        }
        if (/^event: done$/m.test(block)) makespan = now - started
      }
    }
    return { makespan, deliveries, aheadOfPublish, thumbnailServed: await Promise.all(thumbnailFetches) }
  }

  // warm-up: sharp, the SDK, the fake's cached 2K PNG — and its thumbnails, so none is made during the run
  await run('warmup', CONCURRENCY)
  await until(() => timed >= CONCURRENCY)
  const baselineRss = process.memoryUsage.rss()
  record = true
  peakRss = baselineRss
  const cpuBefore = process.cpuUsage()
  const { makespan, deliveries, aheadOfPublish, thumbnailServed } = await run('measured', PAGES)
  // CPU and memory include the thumbnails still being made after `done`
  await until(() => timings.length >= PAGES)
  const cpu = process.cpuUsage(cpuBefore)
  const cpuPerPageMs = (cpu.user + cpu.system) / 1000 / PAGES
  clearInterval(sampler)

  const ideal = Math.ceil(PAGES / CONCURRENCY) * LATENCY_MS
  const overhead = timings.map(t => Math.max(0, t.providerMs - LATENCY_MS) + t.saveMs)
  const saves = timings.map(t => t.saveMs)
  const thumbReady = timings.map(t => t.thumbnailReadyMs)
  const thumbWork = timings.map(t => t.thumbnailWorkMs)
  const thumbFailed = timings.filter(t => !t.thumbnailOk).length
  const p5095 = (v: number[]) => `${percentile(v, 50).toFixed(1)} / ${percentile(v, 95).toFixed(1)} ms`
  const rows: Array<[string, string, string, string]> = [
    ['makespan / ideal', `${(makespan / ideal).toFixed(3)} (${Math.round(makespan)} ms / ${ideal} ms)`, `≤ ${GOALS.makespanRatio}`, ((makespan / ideal) / GOALS.makespanRatio).toFixed(2)],
    ['proxy overhead per page p50', `${percentile(overhead, 50).toFixed(1)} ms`, '', ''],
    ['proxy overhead per page p95', `${percentile(overhead, 95).toFixed(1)} ms`, `≤ ${GOALS.overheadP95Ms} ms`, (percentile(overhead, 95) / GOALS.overheadP95Ms).toFixed(2)],
    ['  of which verify+write p50 / p95', p5095(saves), '', ''],
    ['thumbnail: page saved → on disk p50 / p95', p5095(thumbReady), '', ''],
    ['thumbnail: decode+resize+write p50 / p95', `${p5095(thumbWork)}${thumbFailed ? ` (${thumbFailed} FAILED)` : ''}`, '', ''],
    ['page done → thumbnail served p50 / p95', p5095(thumbnailServed), '', ''],
    ['proxy CPU per page, thumbnail included', `${cpuPerPageMs.toFixed(1)} ms`, '', ''],
    ['peak RSS of the proxy process', `${(peakRss / 1024 / 1024).toFixed(0)} MB (${(baselineRss / 1024 / 1024).toFixed(0)} MB before the run)`, `≤ ${GOALS.peakRssMb} MB`, (peakRss / 1024 / 1024 / GOALS.peakRssMb).toFixed(2)],
    ['page done → SSE delivered p95', `${percentile(deliveries, 95).toFixed(1)} ms (p50 ${percentile(deliveries, 50).toFixed(1)})`, `≤ ${GOALS.sseP95Ms} ms`, (percentile(deliveries, 95) / GOALS.sseP95Ms).toFixed(2)],
  ]
  console.log(`\nProxy benchmark${REDIS_URL ? ' (Redis set-up: BullMQ queue, state and events in Redis)' : ''}: ${PAGES} pages, concurrency ${CONCURRENCY}, ${LATENCY_MS} ms fake Gemini latency, 2K PNG (2752×1536), no faults`)
  const stats = await fake.stats()
  console.log(`(${timings.length} pages timed, ${deliveries.length} SSE deliveries timed + ${aheadOfPublish} read from the event log before their own publish, ${thumbnailServed.length} thumbnails fetched (${notReady} answers not_ready, asked again), upstream requests ${stats.requests}, max in flight ${stats.maxInFlight}; load average ${os.loadavg().map(l => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores)\n`)
  const w = [44, 40, 12]
  console.log(`${'metric'.padEnd(w[0])}${'measured'.padEnd(w[1])}${'goal'.padEnd(w[2])}measured/goal`)
  for (const [a, b, c, d] of rows) console.log(`${a.padEnd(w[0])}${b.padEnd(w[1])}${c.padEnd(w[2])}${d}`)
  console.log('')

  await srv.stop()
  await fake.close()
  if (REDIS_URL) await dropRedisPrefix(REDIS_PREFIX, REDIS_URL)
  await rm(dir, { recursive: true, force: true })
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
