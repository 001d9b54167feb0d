// The scale-out proof (issue #12 item 6): three proxy PROCESSES (test/server/replicaChild.ts, the real
// configuration from the environment) on one Redis (own REDIS_PREFIX), one S3 bucket (moto, a real
// S3-compatible server) and the fake Gemini, which counts calls in flight per replica (each replica
// has its own API key). A 40-page batch is created on A, its event stream followed on B and its
// progress polled on C; B is SIGKILLed mid-run and the stream resumes on C with Last-Event-ID. Every
// page completes, no event is lost or repeated, upstream calls never exceed the one global limit, no
// object is PUT twice; then a cancel sent to C stops the upstream calls A holds.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { startFakeGemini } from '../fakes/geminiServer.js'
import { getJson, openSse, postJson, tempDir, waitUntil, type SseEvent } from './helpers.js'
import { startTestS3 } from './s3Server.js'
import { dropRedisPrefix, redisSetup } from './setups.js'

const BATCHES = '/api/v1/slide-generations/batches'
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const LIMIT = 4
const PAGES = 40

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined)
})

interface Replica {
  name: string
  key: string
  url: string
  child: ChildProcess
  logLines: string[]
}

function startReplica(name: string, env: Record<string, string>): Promise<Replica> {
  const key = `e2e-key-replica-${name}`
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/server/replicaChild.ts'], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, GEMINI_API_KEY: key, DATA_DIR: `${env.DATA_DIR}-${name}` },
  })
  cleanups.push(async () => { child.kill('SIGKILL') })
  const logLines: string[] = []
  let err = ''
  child.stderr!.on('data', (b: Buffer) => { err += b.toString() })
  return new Promise<Replica>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      const lines = out.split('\n')
      out = lines.pop() ?? ''
      for (const line of lines) {
        logLines.push(line)
        const m = /^listening (\S+)/.exec(line)
        if (m) resolve({ name, key, url: m[1], child, logLines })
      }
    })
    child.on('exit', code => reject(new Error(`replica ${name} exited (${code}): ${err.slice(-2000)}`)))
  })
}

const pageList = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ slide_id: `${prefix}${i + 1}`, title: `${prefix} ${i + 1}`, content: `Point ${i + 1} of ${prefix}` }))
const pageOf = (e: SseEvent) => e.data as { page_number: number; status: string; image_url?: string }

describe('three proxy processes, one Redis, one S3 bucket', () => {
  it('a 40-page batch survives a replica SIGKILLed mid-run: nothing lost or repeated, one global limit, each image stored once; a cancel on C stops the calls A holds', async () => {
    const t = await tempDir('nb-scale-')
    cleanups.push(t.cleanup)
    const s3 = await startTestS3()
    cleanups.push(() => s3.stop())
    const bucket = await s3.createBucket()
    const redis = redisSetup()
    cleanups.push(() => dropRedisPrefix(redis.prefix))
    let hang = false
    const fake = await startFakeGemini({ latencyMs: [700, 1200], seed: 7, mislabelRate: 0, script: () => (hang ? 'hang' : null) })
    cleanups.push(() => fake.close())
    const env = {
      ...s3.env(bucket), REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, GEMINI_BASE_URL: fake.url, IMAGE_PROVIDER: 'gemini',
      MAX_CONCURRENT_GENERATIONS: String(LIMIT), MAX_RETRIES: '3', NANO_BANANA_TIMEOUT: '20', IMAGE_THUMBNAIL_SIZE: '160x90',
      DATA_DIR: path.join(t.dir, 'data'), CORS_ORIGINS: 'http://localhost:5173', LOG_LEVEL: 'info', NB_TEST_LOCK_MS: '1000',
    }
    const [a, b, c] = await Promise.all([startReplica('A', env), startReplica('B', env), startReplica('C', env)])

    const created = await postJson(`${a.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'scale-out', pages: pageList(PAGES, 'p'), options: { style_chain: false, resolution: '1K' } })
    expect(created.status).toBe(202)
    const id = created.body.batch_id as string

    // progress polled the whole time (on C, or on A if C turns out to be the one killed): completed_pages never goes back
    // and each completed page's thumbnail asked of C at once, as the editor does at the page event (the
    // replica that ran the page is still making it: C must not make and PUT it a second time)
    let pollTarget = c
    const polled: number[] = []
    const pollErrors: string[] = []
    const thumbsAsked = new Set<string>()
    let polling = true
    cleanups.push(async () => { polling = false })
    const poller = (async () => {
      while (polling) {
        try {
          const p = await getJson(`${pollTarget.url}${BATCHES}/${id}/progress`)
          polled.push(p.body.progress.completed_pages as number)
          for (const r of p.body.results as Array<{ status: string; thumbnail_url: string | null }>) {
            if (r.status !== 'completed' || !r.thumbnail_url || thumbsAsked.has(r.thumbnail_url)) continue
            thumbsAsked.add(r.thumbnail_url)
            void fetch(`${pollTarget.url}${r.thumbnail_url}`).then(res => res.arrayBuffer()).catch(() => undefined)
          }
        } catch (err) {
          pollErrors.push(String(err))
        }
        await new Promise(r => setTimeout(r, 150))
      }
    })()

    // the stream followed on every replica; the one killed is B if it holds an upstream call once six
    // pages are done — else whichever does: each replica runs its share of the limit (2 of 4 here), so
    // one of them may hold none at that moment
    const streams = new Map([a, b, c].map(r => [r, openSse(`${r.url}${BATCHES}/${id}/events`)] as const))
    const bStream = await streams.get(b)!
    const completedSeen = () => bStream.events.filter(x => x.event === 'page' && pageOf(x).status === 'completed').length
    const holding = (r: typeof a) => (fake.stats.inFlightByKey[r.key] ?? 0) > 0
    await waitUntil(() => completedSeen() >= 6 && [b, a, c].some(holding), 30_000, 2)
    const victim = [b, a, c].find(holding)!
    const [next, other] = victim === c ? [a, b] : [c, victim === a ? b : a] // reconnect to C unless C is the victim
    pollTarget = next
    await new Promise(r => setTimeout(r, 400)) // let a poll already sent to the victim answer
    // its call may have ended meanwhile; it takes its next one within moments (pages are left): kill it
    // while it holds one, so there is a call to take over (a CI run under load once killed it idle)
    await waitUntil(() => holding(victim), 30_000, 2)
    for (const [r, st] of streams) if (r !== victim) void st.then(x => x.abort())
    const first = await streams.get(victim)!
    victim.child.kill('SIGKILL')
    await first.closed
    const seen = first.events.filter(e => e.event !== 'comment')
    expect(seen[0].event).toBe('snapshot')
    const lastId = seen.at(-1)!.id!
    const second = await openSse(`${next.url}${BATCHES}/${id}/events`, { 'Last-Event-ID': String(lastId) })
    await second.closed
    polling = false
    await poller
    const rest = second.events.filter(e => e.event !== 'comment')
    expect(rest.some(e => e.event === 'snapshot')).toBe(false)
    expect(rest.at(-1)).toMatchObject({ event: 'done', data: { status: 'completed', completed_pages: PAGES } })

    // nothing lost, nothing twice: what B then C delivered is the batch's whole event log after the snapshot, as A replays it
    const received = [...seen.slice(1), ...rest]
    const replay = await openSse(`${other.url}${BATCHES}/${id}/events`, { 'Last-Event-ID': String(seen[0].id) })
    await replay.closed
    expect(received.map(e => e.id)).toEqual(replay.events.filter(e => e.event !== 'comment').map(e => e.id))
    for (let n = 1; n <= PAGES; n++) {
      expect(received.filter(e => e.event === 'page' && pageOf(e).page_number === n && pageOf(e).status === 'completed'), `page ${n}`).toHaveLength(1)
    }
    expect(pollErrors).toEqual([])
    expect(polled.length).toBeGreaterThan(2)
    expect(thumbsAsked.size).toBeGreaterThan(PAGES / 2)
    expect(polled).toEqual([...polled].sort((x, y) => x - y))
    const progress = await getJson(`${next.url}${BATCHES}/${id}/progress`)
    expect(progress.body).toMatchObject({ status: 'completed', progress: { completed_pages: PAGES } })

    // one limit across the replicas, and it was used
    expect(fake.stats.maxInFlight).toBeLessThanOrEqual(LIMIT)
    expect(fake.stats.maxInFlight).toBe(LIMIT)
    // the pages B held were taken over (and said to be possibly paid twice); every other page was called once
    const takeovers = [...next.logLines, ...other.logLines].filter(l => l.includes('taken over from a replica that stopped')).length
    expect(takeovers).toBeGreaterThanOrEqual(1)
    expect(fake.stats.requests).toBeGreaterThanOrEqual(PAGES)
    expect(fake.stats.requests).toBeLessThanOrEqual(PAGES + takeovers)
    // and counted: every upstream call beyond one per page is a page taken over in the replicas' metrics
    let counted = 0
    for (const r of [next, other]) {
      const m = /^nano_banana_pages_taken_over_total (\d+)/m.exec(await (await fetch(`${r.url}/metrics`)).text())
      counted += Number(m?.[1] ?? NaN)
    }
    expect(counted).toBeGreaterThanOrEqual(1)
    expect(counted).toBeLessThanOrEqual(takeovers)
    expect(fake.stats.requests - PAGES).toBeLessThanOrEqual(counted)

    // no object PUT twice; each page's image is in the bucket and answers on every live replica
    const puts = s3.putCounts()
    expect([...puts].filter(([, n]) => n > 1)).toEqual([])
    const urls = (progress.body.results as Array<{ image_url: string }>).map(r => r.image_url)
    expect(new Set(urls).size).toBe(PAGES)
    for (const u of urls) expect(puts.get(`${bucket}/images/${u.split('/').pop()}`), u).toBe(1)
    const originals = [...puts.keys()].filter(k => /\/images\/[a-f0-9]{32}\.(png|jpg)$/.test(k))
    expect(originals.length).toBeLessThanOrEqual(PAGES + takeovers)
    for (const r of [next, other]) {
      const res = await fetch(`${r.url}${urls[PAGES - 1]}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^image\//)
    }

    // cancel: a small batch whose calls hang, created on A; the cancel goes to C while A holds calls
    // (in the rare draw where C's worker took all of them, it goes to A instead: still another replica)
    hang = true
    const small = await postJson(`${other.url}${BATCHES}`, { template_id: 'nano_banana_1', deck_title: 'cancel', pages: pageList(8, 'c'), options: { style_chain: false, resolution: '1K' } })
    const smallId = small.body.batch_id as string
    await waitUntil(() => fake.stats.inFlight === LIMIT, 15_000, 5)
    const [holder, canceller] = holding(other) ? [other, next] : [next, other]
    expect(fake.stats.inFlightByKey[holder.key]).toBeGreaterThan(0)
    const requestsBefore = fake.stats.requests
    const sent = Date.now()
    const cancelled = await postJson(`${canceller.url}${BATCHES}/${smallId}/cancel`, {})
    expect(cancelled.body.status).toBe('cancelled')
    await waitUntil(() => fake.stats.inFlight === 0, 5000, 5)
    // issue #12: a cancel sent to any replica stops the calls running on another within 1.5 s
    expect(Date.now() - sent).toBeLessThan(1500)
    await new Promise(r => setTimeout(r, 300))
    expect(fake.stats.requests).toBe(requestsBefore)
  }, 120_000)
})
