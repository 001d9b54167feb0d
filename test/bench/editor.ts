// Editor measurement (run by `npm run bench:editor`, also at the end of `npm run bench`; not a test).
// The demo editor in Debian's Chromium (playwright-core) → the real proxy (child process) → the fake
// Gemini in another child answering realistic images (noisy 2K PNGs ≈ 7.4 MB with a draft, see
// test/fakes/images.ts). A deck of 40 and of 80 slides is generated in URL mode and in embed mode
// ("embed images": the proxy's compact JPEG read into a data URL); the main thread is watched with
// a PerformanceObserver for 'longtask' entries (tasks over 50 ms), and the extension's User Timing
// marks (nb:page-event when a completed page reaches the controller, nb:image-ready once its image is
// in the browser, nb:slide-updated once its slide changed, plugin/composables/useBatchGeneration.ts)
// give the event → slide latency.
//
// Prints per run:
//   batch            start clicked → last slide updated (s)
//   long tasks       count, total ms, longest ms (goal: none over 100 ms), from the click until 2.5 s
//                    after the last slide changed (closing the batch's undo step included)
//   share            long-task time ÷ batch time (goal ≤ 5 %)
//   event→slide      p95 and max, ms (goal p95 ≤ 300 ms embed, ≤ 50 ms URL mode); it includes the
//                    wait for the image (embed: the proxy's JPEG fetched and read; URL mode: the
//                    full image loaded by the browser, as the extension never blanks a slide)
//   loaded→slide     p95 of the editor's own part: image in the browser → slide updated
//   undo             one Ctrl+Z after the batch brings every slide's old background back (yes/no)
//   fetched          what the browser fetched from the image route, by kind (requests, MB)
//   phases           p50/p95 of event → request of what the slide first showed (URL mode: the proxy's
//                    compact JPEG, then the full image replaces it: event → full image), the proxy's
//                    time to first byte, the body, loaded → nb:image-ready, and event → slide
//
//   usage: tsx test/bench/editor.ts --help
import os from 'node:os'
import type { Browser, Page } from 'playwright-core'
import { artifactPath, buildDemo, launchChromium, startProxy } from '../browser/harness.js'
import { percentile, startFakeInChild } from './shared.js'

interface Run {
  name: string
  slides: number
  embed: boolean
  /** "background only" mode (the extension samples each image to keep text readable) */
  background?: boolean
}

const RUNS: Run[] = [
  { name: '40-url', slides: 40, embed: false },
  { name: '40-embed', slides: 40, embed: true },
  { name: '80-url', slides: 80, embed: false },
  { name: '80-embed', slides: 80, embed: true },
]

const GOALS = { longestMs: 100, share: 0.05, p95EmbedMs: 300, p95UrlMs: 50 }
/**
 * Upstream latency per page (`--latency ms`, default 6 s) and the proxy's concurrency: a page
 * completes every 1.2 s, 4–8 × faster than Nano Banana Pro's 20–40 s per image at concurrency 5.
 */
const DEFAULT_LATENCY_MS = 6000
const CONCURRENCY = 5
/** long tasks are counted until this long after the last slide changed: closing the batch's undo step */
const CLOSING_MS = 2500

interface Result {
  run: Run
  batchMs: number
  longCount: number
  longTotalMs: number
  longestMs: number
  p95Ms: number
  maxMs: number
  /** image loaded in the browser → slide updated: the editor's own part of event → slide */
  ownP95Ms: number
  updated: number
  undoRestores: boolean
}

declare global {
  interface Window {
    __nbLongTasks: Array<{ start: number; duration: number }>
  }
}

/** A deck of `n` content slides (title + bullet points), made from the demo's sample deck. */
async function loadDeck(page: Page, n: number, label: string): Promise<void> {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: '导出 JSON' }).click(),
  ])
  const { readFile } = await import('node:fs/promises')
  const deck = JSON.parse(await readFile(await download.path(), 'utf8')) as { slides: Array<{ id: string; elements: Array<{ id: string; type: string; content?: string }> }> }
  const content = deck.slides[3]
  const slides = Array.from({ length: n }, (_, i) => ({
    ...content,
    id: `bench-${i + 1}`,
    elements: content.elements.map(el => ({
      ...el,
      id: `${el.id}-${i + 1}`,
      // each run's text its own: the proxy's duplicate-request cache must not answer a later run
      ...(el.type === 'text' && el.content ? { content: el.content.replace(/>([^<]{2,})</, `>$1 ${i + 1} (${label})<`) } : {}),
    })),
  }))
  await page.getByTestId('import-json').setInputFiles({ name: 'bench.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify({ ...deck, slides })) })
  await page.waitForFunction(count => document.querySelectorAll('.thumbnail-item').length === count, n, { timeout: 60_000 })
}

/**
 * What the main thread did inside its long tasks, from a Chrome trace (`--trace`): the trace events
 * directly under each task over 50 ms, summed by name, longest first (ms).
 */
function longTaskContents(trace: Buffer): Array<[string, number]> {
  type TraceEvent = { name: string; ph: string; ts: number; dur?: number; pid: number; tid: number; args?: { name?: string } }
  const events = (JSON.parse(trace.toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents
  const main = new Set(events.filter(e => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map(e => `${e.pid}:${e.tid}`))
  const complete = events.filter(e => e.ph === 'X' && e.dur !== undefined && main.has(`${e.pid}:${e.tid}`)).sort((a, b) => a.ts - b.ts)
  const tasks = complete.filter(e => e.name === 'RunTask' && e.dur! > 50_000)
  const byName = new Map<string, number>()
  for (const task of tasks) {
    const end = task.ts + task.dur!
    let covered = task.ts
    for (const e of complete) {
      if (e === task || e.pid !== task.pid || e.tid !== task.tid || e.ts < covered || e.ts >= end) continue
      byName.set(e.name, (byName.get(e.name) ?? 0) + e.dur! / 1000)
      covered = e.ts + e.dur! // direct children only: skip what this one contains
    }
  }
  return [...byName].sort((a, b) => b[1] - a[1]).slice(0, 12)
}

async function measure(browser: Browser, baseUrl: string, run: Run, shots: boolean, trace: boolean, phases: boolean): Promise<Result> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true })
  // tsx (esbuild keepNames) wraps named functions in __name(…), also inside page.evaluate callbacks
  await context.addInitScript('globalThis.__name = globalThis.__name || (f => f)')
  await context.addInitScript(() => {
    performance.setResourceTimingBufferSize(10_000)
    window.__nbLongTasks = []
    new PerformanceObserver(list => {
      for (const e of list.getEntries()) window.__nbLongTasks.push({ start: e.startTime, duration: e.duration })
    }).observe({ type: 'longtask', buffered: true })
  })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', err => errors.push(err.message))
  await page.goto(`${baseUrl}/`)
  await page.locator('.thumbnail-item').first().waitFor()
  await loadDeck(page, run.slides, `${run.name} ${Date.now()}`)
  const backgroundsBefore = await page.evaluate(() => document.querySelectorAll('.thumbnail-item').length)

  await page.locator('.editor-header .extensions').getByRole('button').first().click()
  const dialog = page.getByRole('dialog')
  await dialog.waitFor()
  await dialog.getByRole('listbox').getByRole('option').first().click()
  if (run.background) await dialog.getByRole('radio', { name: '仅背景' }).click()
  const embedSwitch = dialog.getByRole('switch', { name: '图片嵌入文档' })
  if ((await embedSwitch.getAttribute('aria-checked')) !== String(run.embed)) await embedSwitch.click()
  // let the dialog settle (health, estimate) so its own work is not counted
  await page.waitForTimeout(1000)
  if (trace) await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'blink'] })
  const start = await page.evaluate(() => performance.now())
  await dialog.getByRole('button', { name: '开始生成' }).click()

  const updatedCount = () => page.evaluate(() => performance.getEntriesByName('nb:slide-updated').length)
  let shotMid = !shots
  const deadline = Date.now() + 15 * 60_000
  for (;;) {
    const n = await updatedCount()
    if (n >= run.slides) break
    if (!shotMid && n >= run.slides / 2) {
      shotMid = true
      await page.screenshot({ path: artifactPath(`editor-${run.name}-during.png`) })
    }
    if (Date.now() > deadline) throw new Error(`${run.name}: only ${n}/${run.slides} slides updated after 15 min (${errors.join('; ')})`)
    await page.waitForTimeout(250)
  }
  if (shots) await page.screenshot({ path: artifactPath(`editor-${run.name}-after.png`) })
  // the batch's undo step is closed after the stream's `done` (one copy of the deck by the host)
  await page.waitForFunction(() => document.querySelector('[role=region] [role=progressbar]')?.getAttribute('aria-valuenow') === '100', undefined, { timeout: 60_000 })
  await page.waitForTimeout(CLOSING_MS)
  const figures = await page.evaluate(({ startAt, closingMs }) => {
    type Detail = number | { page: number; url: string }
    const pageOf = (detail: Detail) => (typeof detail === 'number' ? detail : detail.page)
    const marks = (name: string) => new Map(performance.getEntriesByName(name).map(m => [pageOf((m as PerformanceMark).detail as Detail), m.startTime]))
    const urls = new Map(performance.getEntriesByName('nb:page-event').map(m => (m as PerformanceMark).detail as Detail).filter(d => typeof d !== 'number').map(d => [d.page, d.url]))
    const events = marks('nb:page-event')
    const ready = marks('nb:image-ready')
    const updated = marks('nb:slide-updated')
    const end = Math.max(...updated.values())
    const latencies = [...updated].map(([pageNumber, at]) => at - (events.get(pageNumber) ?? at))
    const ownLatencies = [...updated].map(([pageNumber, at]) => at - (ready.get(pageNumber) ?? at))
    const tasks = window.__nbLongTasks.filter(t => t.start >= startAt && t.start <= end + closingMs)
    // what the browser fetched from the image route during the run, by kind: requests and MB
    const fetched: Record<string, [number, number]> = {}
    for (const entry of performance.getEntriesByType('resource') as PerformanceResourceTiming[]) {
      const kind = /\/api\/v1\/images\/[a-f0-9]{32}(\.thumb\.jpg|\.embed\.jpg|\.png|\.jpg)/.exec(entry.name)?.[1]
      if (!kind || entry.startTime < startAt) continue
      const [n, bytes] = fetched[kind] ?? [0, 0]
      fetched[kind] = [n + 1, bytes + entry.encodedBodySize]
    }
    // where event → slide goes, per page: event → the image's request, its download, loaded → ready
    const image = new Map<number, PerformanceResourceTiming>()
    const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[]
    for (const [pageNumber, url] of urls) {
      // what the slide first showed: the compact JPEG when fetched (embed mode; URL mode's preview), else the image
      const id = /[a-f0-9]{32}/.exec(url)?.[0]
      const r = id ? resources.find(e => e.name.includes(`${id}.embed.jpg`)) ?? resources.find(e => e.name.includes(id) && !e.name.includes('.thumb.')) : undefined
      if (r && updated.has(pageNumber)) image.set(pageNumber, r)
    }
    const phases = [...image].map(([pageNumber, r]) => [r.startTime - events.get(pageNumber)!, r.responseStart - r.startTime, r.responseEnd - r.responseStart, (ready.get(pageNumber) ?? 0) - r.responseEnd, updated.get(pageNumber)! - events.get(pageNumber)!])
    // URL mode: slides shown with the proxy's compact JPEG first take the full image later
    const full = marks('nb:full-image')
    const fullLatencies = [...full].map(([pageNumber, at]) => at - (events.get(pageNumber) ?? at))
    return { end, latencies, ownLatencies, tasks, updated: updated.size, fetched, phases, fullLatencies }
  }, { startAt: start, closingMs: CLOSING_MS })
  console.log(`${run.name}: fetched ${Object.entries(figures.fetched).map(([kind, [n, bytes]]) => `${kind} ${n}× ${(bytes / 1e6).toFixed(1)} MB`).join(', ')}`)
  const over = figures.tasks.filter(t => t.duration > GOALS.longestMs)
  if (over.length) console.log(`${run.name}: tasks over ${GOALS.longestMs} ms at (s after the click): ${over.map(t => `${((t.start - start) / 1000).toFixed(1)} (${t.duration.toFixed(0)} ms)`).join(', ')}; last slide updated at ${((figures.end - start) / 1000).toFixed(1)} s`)
  if (figures.fullLatencies.length) console.log(`${run.name}: ${figures.fullLatencies.length} slides showed the compact JPEG first; event → full image p50/p95 ${percentile(figures.fullLatencies, 50).toFixed(0)}/${percentile(figures.fullLatencies, 95).toFixed(0)} ms`)
  if (figures.phases.length) {
    const col = (i: number) => figures.phases.map(p => p[i])
    console.log(`${run.name}: p50/p95 ms — event→request ${percentile(col(0), 50).toFixed(0)}/${percentile(col(0), 95).toFixed(0)}, waiting ${percentile(col(1), 50).toFixed(0)}/${percentile(col(1), 95).toFixed(0)}, body ${percentile(col(2), 50).toFixed(0)}/${percentile(col(2), 95).toFixed(0)}, loaded→ready ${percentile(col(3), 50).toFixed(0)}/${percentile(col(3), 95).toFixed(0)}, event→slide ${percentile(col(4), 50).toFixed(0)}/${percentile(col(4), 95).toFixed(0)}`)
    if (phases) console.log(figures.phases.map(p => p.map(v => v.toFixed(0)).join(' ')).join('\n'))
  }
  if (trace) {
    const contents = longTaskContents(await browser.stopTracing())
    console.log(`${run.name}: inside long tasks (ms): ${contents.map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(', ')}`)
  }

  // not timed: once the batch is over, one Ctrl+Z brings back the deck as before the batch
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
  await page.keyboard.press('Control+z')
  await page.waitForTimeout(1000)
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: '导出 JSON' }).click(),
  ])
  const { readFile } = await import('node:fs/promises')
  const after = JSON.parse(await readFile(await download.path(), 'utf8')) as { slides: Array<{ background?: { image?: { src?: string } } }> }
  const undoRestores = after.slides.length === backgroundsBefore
    && after.slides.every(s => !s.background?.image?.src?.includes('/api/v1/images/') && !s.background?.image?.src?.startsWith('data:'))
  if (shots) await page.screenshot({ path: artifactPath(`editor-${run.name}-undone.png`) })
  await context.close()
  if (errors.length) console.warn(`${run.name}: page errors: ${errors.join('; ')}`)

  const durations = figures.tasks.map(t => t.duration)
  return {
    run,
    batchMs: figures.end - start,
    longCount: durations.length,
    longTotalMs: durations.reduce((a, b) => a + b, 0),
    longestMs: durations.length ? Math.max(...durations) : 0,
    p95Ms: percentile(figures.latencies, 95),
    maxMs: figures.latencies.length ? Math.max(...figures.latencies) : NaN,
    ownP95Ms: percentile(figures.ownLatencies, 95),
    updated: figures.updated,
    undoRestores,
  }
}

const USAGE = [
  'npm run bench:editor                       all four runs (full-slide mode)',
  'tsx test/bench/editor.ts 40-embed 80-url   some of them; any <slides>-url|embed, -bg for background mode',
  '… --no-build                               reuse dist/ (the demo already built)',
  '… --latency ms|min-max                     upstream latency per page (default 6000; a range spreads the pages out)',
  '… --shots                                  screenshots of an 80-slide embed run into test/artifacts/',
  '… --trace                                  what the main thread did inside its long tasks (Chrome trace)',
  '… --phases                                 those phases for every page, in order',
].join('\n')

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const known = new Set(['--latency', '--no-build', '--shots', '--trace', '--phases', '--help', '-h'])
  const unknown = args.filter((a, i) => a.startsWith('-') && !known.has(a) && args[i - 1] !== '--latency')
  const badRuns = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '--latency' && !/^\d+-(url|embed)(-bg)?$/.test(a))
  if (args.includes('--help') || args.includes('-h') || unknown.length || badRuns.length) {
    if (unknown.length || badRuns.length) console.error(`unknown: ${[...unknown, ...badRuns].join(' ')}`)
    console.log(USAGE)
    process.exit(unknown.length || badRuns.length ? 2 : 0)
  }
  const latencyArg = args.indexOf('--latency')
  // a number, or min-max: each call's latency drawn in that range (pages then arrive spread out, not in bursts)
  const latencySpec = latencyArg >= 0 ? args.splice(latencyArg, 2)[1] : String(DEFAULT_LATENCY_MS)
  const range = /^(\d+)-(\d+)$/.exec(latencySpec)
  const LATENCY_MS: number | [number, number] = range ? [Number(range[1]), Number(range[2])] : Number(latencySpec)
  const latencyText = Array.isArray(LATENCY_MS) ? `${LATENCY_MS[0]}–${LATENCY_MS[1]}` : String(LATENCY_MS)
  const wanted = args.filter(a => !a.startsWith('-'))
  // any "<slides>-url|embed" (e.g. 10-url for a quick look)
  const runs = wanted.length
    ? wanted.map(name => /^(\d+)-(url|embed)(-bg)?$/.exec(name)).filter(m => !!m).map(m => ({ name: m[0], slides: Number(m[1]), embed: m[2] === 'embed', background: !!m[3] }))
    : RUNS
  if (!args.includes('--no-build')) buildDemo()
  const { realisticImage, slideImageSize } = await import('../fakes/images.js')
  // make (or load) the fake's images before anything is timed
  const size = slideImageSize('16:9', '2K')
  await realisticImage(size.width, size.height)
  await realisticImage(Math.round(size.width / 4), Math.round(size.height / 4), 'draft')
  const fake = await startFakeInChild({ latencyMs: LATENCY_MS, faultRate: 0, mislabelRate: 0, validKey: 'bench-key', realistic: true })
  const proxy = await startProxy({
    IMAGE_PROVIDER: 'gemini', GEMINI_API_KEY: 'bench-key', GEMINI_BASE_URL: fake.url,
    MAX_CONCURRENT_GENERATIONS: String(CONCURRENCY),
  })
  const browser = await launchChromium()
  console.log(`\nEditor measurement: demo editor in Chromium, realistic 2K PNGs (≈ 7.4 MB), upstream ${latencyText} ms × concurrency ${CONCURRENCY}; load average ${os.loadavg().map(l => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores\n`)
  const rows: string[][] = []
  try {
    for (const run of runs) {
      const r = await measure(browser, proxy.baseUrl, run, args.includes('--shots') && run.name === '80-embed', args.includes('--trace'), args.includes('--phases'))
      const share = r.longTotalMs / r.batchMs
      const p95Goal = run.embed ? GOALS.p95EmbedMs : GOALS.p95UrlMs
      const ok = r.longestMs <= GOALS.longestMs && share <= GOALS.share && r.p95Ms <= p95Goal && r.undoRestores
      rows.push([
        run.name, `${r.updated}/${run.slides}`, `${(r.batchMs / 1000).toFixed(1)} s`,
        `${r.longCount} / ${r.longTotalMs.toFixed(0)} ms / ${r.longestMs.toFixed(0)} ms (≤ ${GOALS.longestMs})`,
        `${(share * 100).toFixed(1)} % (≤ ${GOALS.share * 100})`,
        `${r.p95Ms.toFixed(0)} / ${r.maxMs.toFixed(0)} ms (p95 ≤ ${p95Goal})`,
        `${r.ownP95Ms.toFixed(0)} ms`,
        r.undoRestores ? 'yes' : 'NO', ok ? 'met' : 'MISSED',
      ])
      console.log(rows.at(-1)!.join(' | '))
    }
  }
  finally {
    await browser.close().catch(() => undefined)
    await proxy.stop()
    await fake.close()
  }
  const header = ['run', 'slides', 'batch', 'long tasks: count / total / longest', 'share of batch', 'event→slide p95 / max', 'image loaded→slide p95', '1 undo', 'goals']
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map(r => r[c].length)))
  console.log('')
  console.log(header.map((h, c) => h.padEnd(widths[c])).join('  '))
  for (const r of rows) console.log(r.map((v, c) => v.padEnd(widths[c])).join('  '))
  console.log('')
}

await main()
