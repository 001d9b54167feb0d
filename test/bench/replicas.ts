// Replicas benchmark (run by `npm run bench`; not a test): one batch on 1 proxy replica vs 3, each a
// child process (test/bench/replicaProcess.ts) sharing one Redis (state, events, BullMQ queue under
// a key prefix of its own per run, deleted after) and one DATA_DIR (standing in for S3), against the
// fake Gemini in a child answering 2K PNGs after 300 ms. 40 pages, MAX_CONCURRENT_GENERATIONS 5 — the
// one global limit, so 3 replicas may not go faster upstream; the batch is created on the first
// replica and its SSE followed on the last.
//
// Prints, with goals:
//   makespan / ideal (1 and 3 replicas)   ideal = ceil(40/5) × 300 ms                   goal ≤ 1.10
//   3 replicas / 1 replica                 makespan ratio (spreading adds no delay)      goal ≤ 1.10
//   upstream max in flight                 the fake's count (global limit 5 across replicas)  goal ≤ 5
//   proxy CPU per page                     all replicas together
//   CPU split over the 3 replicas          each one's share of that (the batch's creator and follower included)
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { dropRedisPrefix } from '../server/setups.js'
import { benchBatch, startFakeInChild } from './shared.js'

const PAGES = 40
const CONCURRENCY = 5
const LATENCY_MS = 300
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const GOALS = { makespanRatio: 1.10, replicasRatio: 1.10 }

interface Replica { url: string; child: ChildProcess }

function ask<T>(child: ChildProcess, msg: string, key: string): Promise<T> {
  return new Promise(resolve => {
    const on = (m: unknown) => {
      if (m && typeof m === 'object' && key in m) {
        child.off('message', on)
        resolve((m as Record<string, T>)[key])
      }
    }
    child.on('message', on)
    child.send(msg)
  })
}

async function startReplica(env: Record<string, string>): Promise<Replica> {
  const child = fork(fileURLToPath(new URL('./replicaProcess.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env } })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', m => resolve((m as { url: string }).url))
    child.once('exit', code => reject(new Error(`replica exited (${code})`)))
  })
  return { url, child }
}

async function runBatch(create: Replica, follow: Replica, label: string, pages: number): Promise<number> {
  const body = benchBatch(label, pages)
  const started = performance.now()
  const res = await fetch(`${create.url}/api/v1/slide-generations/batches`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  if (res.status !== 202) throw new Error(`batch not accepted: HTTP ${res.status} ${await res.text()}`)
  const { batch_id: id } = await res.json() as { batch_id: string }
  const stream = await fetch(`${follow.url}/api/v1/slide-generations/batches/${id}/events`, { headers: { Accept: 'text/event-stream' } })
  const decoder = new TextDecoder()
  let buf = ''
  for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true })
    const done = /^event: done\ndata: (.*)$/m.exec(buf)
    if (done) {
      const d = JSON.parse(done[1]) as { completed_pages: number }
      if (d.completed_pages !== pages) throw new Error(`${label}: ${d.completed_pages}/${pages} pages completed`)
      return performance.now() - started
    }
  }
  throw new Error(`${label}: the event stream ended without done`)
}

async function measure(replicas: number, fakeUrl: string): Promise<{ makespan: number; cpuMsPerPage: number; cpuShares: number[] }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nb-bench-replicas-'))
  const prefix = `nbbench-${randomBytes(5).toString('hex')}`
  const env = {
    GEMINI_API_KEY: 'bench-key', GEMINI_BASE_URL: fakeUrl, MAX_CONCURRENT_GENERATIONS: String(CONCURRENCY),
    DATA_DIR: path.join(dir, 'data'), DEFAULT_RESOLUTION: '2K', REDIS_URL, REDIS_PREFIX: prefix, LOG_LEVEL: 'error',
  }
  const started: Replica[] = []
  try {
    for (let i = 0; i < replicas; i++) started.push(await startReplica(env))
    // warm-up (sharp, the SDK, connections) on every replica
    await runBatch(started[0], started.at(-1)!, 'warmup', CONCURRENCY * replicas)
    const cpuBefore = await Promise.all(started.map(r => ask<number>(r.child, 'cpu', 'cpuMs')))
    const makespan = await runBatch(started[0], started.at(-1)!, 'measured', PAGES)
    const cpuAfter = await Promise.all(started.map(r => ask<number>(r.child, 'cpu', 'cpuMs')))
    const perReplica = cpuAfter.map((c, i) => c - cpuBefore[i])
    const cpuMs = perReplica.reduce((a, c) => a + c, 0)
    return { makespan, cpuMsPerPage: cpuMs / PAGES, cpuShares: perReplica.map(c => c / cpuMs) }
  } finally {
    await Promise.all(started.map(r => new Promise<void>(resolve => {
      r.child.once('exit', () => resolve())
      r.child.send('stop')
    })))
    await dropRedisPrefix(prefix, REDIS_URL)
    await rm(dir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const fake = await startFakeInChild({ latencyMs: LATENCY_MS, faultRate: 0, mislabelRate: 0, validKey: 'bench-key' })
  try {
    const one = await measure(1, fake.url)
    const three = await measure(3, fake.url)
    const stats = await fake.stats()
    const ideal = Math.ceil(PAGES / CONCURRENCY) * LATENCY_MS
    const rows: Array<[string, string, string, string]> = [
      ['makespan / ideal, 1 replica', `${(one.makespan / ideal).toFixed(3)} (${Math.round(one.makespan)} ms / ${ideal} ms)`, `≤ ${GOALS.makespanRatio}`, (one.makespan / ideal / GOALS.makespanRatio).toFixed(2)],
      ['makespan / ideal, 3 replicas', `${(three.makespan / ideal).toFixed(3)} (${Math.round(three.makespan)} ms / ${ideal} ms)`, `≤ ${GOALS.makespanRatio}`, (three.makespan / ideal / GOALS.makespanRatio).toFixed(2)],
      ['3 replicas / 1 replica makespan', (three.makespan / one.makespan).toFixed(3), `≤ ${GOALS.replicasRatio}`, (three.makespan / one.makespan / GOALS.replicasRatio).toFixed(2)],
      ['upstream max in flight (all runs)', String(stats.maxInFlight), `≤ ${CONCURRENCY}`, (stats.maxInFlight / CONCURRENCY).toFixed(2)],
      ['proxy CPU per page, 1 / 3 replicas', `${one.cpuMsPerPage.toFixed(1)} / ${three.cpuMsPerPage.toFixed(1)} ms`, '', ''],
      // how evenly the work went (each replica runs its share of the global limit)
      ['CPU split over the 3 replicas', three.cpuShares.map(x => `${Math.round(x * 100)} %`).join(' / '), '', ''],
    ]
    console.log(`\nReplicas benchmark (Redis set-up, child processes): ${PAGES} pages, global concurrency ${CONCURRENCY}, ${LATENCY_MS} ms fake Gemini latency, 2K PNG`)
    console.log(`(upstream requests ${stats.requests}; load average ${os.loadavg().map(l => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores)\n`)
    const w = [40, 36, 12]
    console.log(`${'metric'.padEnd(w[0])}${'measured'.padEnd(w[1])}${'goal'.padEnd(w[2])}measured/goal`)
    for (const [a, b, c, d] of rows) console.log(`${a.padEnd(w[0])}${b.padEnd(w[1])}${c.padEnd(w[2])}${d}`)
    console.log('')
  } finally {
    await fake.close()
  }
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
