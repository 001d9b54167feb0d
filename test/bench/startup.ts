// Start-up cost against history (issue 10, item 6): with 5,000 old batches of 8 pages in DATA_DIR the
// proxy must start in < 2 s with RSS < 300 MB. Each start is the production start: the server built
// with esbuild (as `npm run build:server` does) run by plain Node in a fresh process, timed from
// spawn to its "proxy started" line, RSS read from /proc then. Rows: an empty DATA_DIR (baseline),
// 5,000 finished batches (steady state: `<id>.done.json`, not read at start), and the first start
// after upgrading from a version that named every batch `<id>.json` (read once and renamed;
// informational). Run: npx tsx test/bench/startup.ts
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildServer } from '../../scripts/build-server.js'
import { createMemoryLogger } from '../../server/logger.js'
import { MemoryStateStore } from '../../server/engine/stateStore.js'
import { createStorage } from '../../server/storage.js'
import { batchRecord, newBatchId } from '../server/batchRecords.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const BATCHES = 5000
const PAGES = 8
const GOAL_START_MS = 2000
const GOAL_RSS_MB = 300
/** starts per row (the median is reported: starts on a loaded machine vary by seconds) */
const REPEAT = 3

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** The part of start-up that reads DATA_DIR state, in this process: the state store's init(). */
async function stateInitMs(dataDir: string): Promise<number> {
  const storage = await createStorage({ dataDir, thumbnail: { width: 300, height: 169 } })
  const store = new MemoryStateStore({ persistence: storage, logger: createMemoryLogger() })
  const t0 = performance.now()
  await store.init()
  const ms = performance.now() - t0
  await store.close()
  return ms
}

interface StartResult {
  spawnToListenMs: number
  rssMb: number
  /** GET …/progress of one old finished batch (read from disk on demand) */
  oldBatchProgressMs: number
  oldBatchStatus: number
}

/** Starts the built server on `dataDir`, measures, asks for `probeId`'s progress, stops it. */
async function start(server: string, dataDir: string, probeId: string): Promise<StartResult> {
  const t0 = performance.now()
  const child = spawn(process.execPath, [server], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production', DATA_DIR: dataDir, IMAGE_PROVIDER: 'preview', GEMINI_API_KEY: '', OPENAI_API_KEY: '', PROXY_TOKEN: '', PORT: '0', HOST: '127.0.0.1', LOG_FORMAT: 'json', LOG_LEVEL: 'info' },
  })
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString()
        const m = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"proxy started"/.exec(out)
        if (m) resolve(m[1].replace('localhost', '127.0.0.1'))
      })
      child.once('exit', code => reject(new Error(`server exited (${code}) before it started: ${out.slice(-500)}`)))
    })
    const spawnToListenMs = performance.now() - t0
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN)
    const t1 = performance.now()
    const res = await fetch(`${url}/api/v1/slide-generations/batches/${probeId}/progress`)
    await res.arrayBuffer()
    return { spawnToListenMs, rssMb: rssKb / 1024, oldBatchProgressMs: performance.now() - t1, oldBatchStatus: res.status }
  } finally {
    const exited = new Promise(r => child.once('exit', r))
    child.kill('SIGTERM')
    await exited
  }
}

/** DATA_DIR with `n` finished batches (8 pages each), named as finished (`done`) or all `<id>.json` (legacy). */
async function makeDataDir(n: number, naming: 'done' | 'legacy'): Promise<{ dir: string; probe: string; bytes: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nb-startup-'))
  await mkdir(path.join(dir, 'batches'), { recursive: true })
  await mkdir(path.join(dir, 'images'), { recursive: true })
  let probe = ''
  let bytes = 0
  const day = new Date(Date.now() - 86_400_000)
  for (let i = 0; i < n; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, n - i) }, async () => {
      const id = newBatchId()
      probe ||= id
      const json = JSON.stringify(batchRecord(id, PAGES, { at: day, client: null }))
      bytes += json.length
      await writeFile(path.join(dir, 'batches', naming === 'done' ? `${id}.done.json` : `${id}.json`), json)
    }))
  }
  return { dir, probe, bytes }
}

async function main(): Promise<void> {
  const server = await buildServer(path.join(ROOT, 'dist', 'bench-startup', 'index.js'))
  const rows: Array<[string, string, string, string]> = []
  const runs: Array<{ name: string; n: number; naming: 'done' | 'legacy'; goal: boolean }> = [
    { name: 'empty DATA_DIR', n: 0, naming: 'done', goal: false },
    { name: `${BATCHES} finished batches`, n: BATCHES, naming: 'done', goal: true },
    { name: `${BATCHES}, first start after upgrade`, n: BATCHES, naming: 'legacy', goal: false },
  ]
  console.log(`\nStart-up benchmark: ${BATCHES} old batches × ${PAGES} pages, built server (node ${process.version}), load average ${os.loadavg().map(l => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores\n`)
  let baseline = NaN
  for (const run of runs) {
    const { dir, probe, bytes } = await makeDataDir(run.n, run.naming)
    try {
      // the upgrade row measures its one first start (later starts are the steady state)
      const results: StartResult[] = []
      for (let i = 0; i < (run.naming === 'legacy' ? 1 : REPEAT); i++) results.push(await start(server, dir, probe || newBatchId()))
      const ms = median(results.map(r => r.spawnToListenMs))
      const rss = median(results.map(r => r.rssMb))
      if (run.n === 0) baseline = ms
      const last = results.at(-1)!
      if (run.n) console.log(`${run.name}: ${(bytes / 1024 / 1024).toFixed(1)} MB of batch files; an old batch's progress answered ${last.oldBatchStatus} in ${last.oldBatchProgressMs.toFixed(0)} ms`)
      rows.push([`${run.name}: spawn → listening`, `${ms.toFixed(0)} ms`, run.goal ? `< ${GOAL_START_MS} ms` : '-', run.goal ? (ms / GOAL_START_MS).toFixed(2) : '-'])
      if (run.n) rows.push([`${run.name}: added by history`, `${(ms - baseline).toFixed(0)} ms`, '≈ 0', '-'])
      rows.push([`${run.name}: RSS after start`, `${rss.toFixed(0)} MB`, run.goal ? `< ${GOAL_RSS_MB} MB` : '-', run.goal ? (rss / GOAL_RSS_MB).toFixed(2) : '-'])
      if (run.n && run.naming === 'done') rows.push([`${run.name}: state store init()`, `${(await stateInitMs(dir)).toFixed(0)} ms`, '-', '-'])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  const w = [Math.max(...rows.map(r => r[0].length)) + 2, 12, 12]
  console.log(`\n${'metric'.padEnd(w[0])}${'measured'.padEnd(w[1])}${'goal'.padEnd(w[2])}measured/goal`)
  for (const [a, b, c, d] of rows) console.log(`${a.padEnd(w[0])}${b.padEnd(w[1])}${c.padEnd(w[2])}${d}`)
  console.log('')
}

await main()
