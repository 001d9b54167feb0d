// Durable pages: damaged batch files never stop start-up; an unwritable or full DATA_DIR refuses new
// work before anything is paid (503 storage_unavailable); a proxy killed (SIGKILL) right after it
// reported pages completed still has every one of them after a restart.
import { spawn, execFileSync } from 'node:child_process'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import { afterEach, describe, expect, it } from 'vitest'
import { PageRunner } from '../../server/engine/pageRunner.js'
import { createMemoryLogger } from '../../server/logger.js'
import { getJson, okImage, openSse, pages, postJson, scriptedProvider, startTestServer, tempDir, waitUntil, type TestServer } from './helpers.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

const batchBody = (n: number) => ({ template_id: 'nano_banana_1', deck_title: 'Durable', pages: pages(n), options: { style_chain: false } })

describe('damaged batch files', () => {
  it('are skipped with a warning naming them; the good ones load and start-up goes on', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const first = await startTestServer({ provider: scriptedProvider(() => okImage()), dataDir: t.dir })
    const created = await postJson(`${first.url}/api/v1/slide-generations/batches`, batchBody(2))
    const sse = await openSse(`${first.url}/api/v1/slide-generations/batches/${created.body.batch_id}/events`)
    await sse.waitFor(e => e.event === 'done')
    await first.stop()

    const dir = path.join(t.dir, 'batches')
    // finished batches are kept as <id>.done.json; damaged files under the unfinished name are read at start-up
    const good = JSON.parse(await readFile(path.join(dir, `${created.body.batch_id}.done.json`), 'utf8'))
    const ids = ['b_' + 'a'.repeat(24), 'b_' + 'b'.repeat(24), 'b_' + 'c'.repeat(24), 'b_' + 'd'.repeat(24)]
    await writeFile(path.join(dir, `${ids[0]}.json`), JSON.stringify(good).slice(0, 120)) // truncated
    await writeFile(path.join(dir, `${ids[1]}.json`), JSON.stringify({ ...good, batch_id: ids[1], pages: [null, good.pages[1]] })) // a null page
    await writeFile(path.join(dir, `${ids[2]}.json`), 'null')
    await writeFile(path.join(dir, `${ids[3]}.json`), '')

    const second = await startTestServer({ provider: scriptedProvider(() => okImage()), dataDir: t.dir })
    cleanups.push(() => second.stop())
    const progress = await getJson(`${second.url}/api/v1/slide-generations/batches/${created.body.batch_id}/progress`)
    expect(progress.body).toMatchObject({ status: 'completed', progress: { completed_pages: 2 } })
    for (const id of ids) expect((await getJson(`${second.url}/api/v1/slide-generations/batches/${id}/progress`)).status).toBe(404)
    const warnings = second.logLines.filter(l => /damaged batch file skipped/.test(l)).join('\n')
    expect(warnings).toContain(`${ids[0]}.json`)
    expect(warnings).toContain(`${ids[3]}.json`)
    // the null page: the file and what is wrong with it
    expect(warnings).toContain(`"batch":"${ids[1]}","file":"batches/${ids[1]}.json","reason":"page 1 is null"`)
    expect(warnings).toContain(ids[2] + '.json')
  })
})

/** A small tmpfs (root only): the test's DATA_DIR, unmounted afterwards. */
function tmpfs(dir: string, size: string): boolean {
  if (process.getuid?.() !== 0) return false
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
    cleanups.push(() => { execFileSync('umount', ['-l', dir]) })
    return true
  } catch {
    return false
  }
}

describe('unwritable or full DATA_DIR', () => {
  it('read-only: new batches get 503 storage_unavailable and nothing is paid', async (ctx) => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const data = path.join(t.dir, 'data')
    await mkdir(data)
    if (!tmpfs(data, '8m')) return ctx.skip()
    const provider = scriptedProvider(() => okImage())
    const server: TestServer = await startTestServer({ provider, dataDir: data })
    cleanups.push(() => server.stop())
    execFileSync('mount', ['-o', 'remount,ro', data])
    const r = await postJson(`${server.url}/api/v1/slide-generations/batches`, batchBody(3))
    expect(r.status).toBe(503)
    expect(r.body.error.code).toBe('storage_unavailable')
    expect(r.body.error.message).toMatch(/not writable \(EROFS\)/)
    expect(provider.calls).toHaveLength(0)
    execFileSync('mount', ['-o', 'remount,rw', data])
  })

  it('full: new batches get 503 naming the free space; completed pages from before survive', async (ctx) => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const data = path.join(t.dir, 'data')
    await mkdir(data)
    if (!tmpfs(data, '4m')) return ctx.skip()
    const provider = scriptedProvider(() => okImage())
    const server = await startTestServer({ provider, dataDir: data, minFreeBytes: 1024 * 1024 })
    cleanups.push(() => server.stop())
    const ok = await postJson(`${server.url}/api/v1/slide-generations/batches`, batchBody(2))
    expect(ok.status).toBe(202)
    const sse = await openSse(`${server.url}/api/v1/slide-generations/batches/${ok.body.batch_id}/events`)
    await sse.waitFor(e => e.event === 'done')
    // fill the disk
    await writeFile(path.join(data, 'filler'), Buffer.alloc(3.5 * 1024 * 1024)).catch(() => undefined)
    await new Promise(r => setTimeout(r, 1100)) // the route caches its check for 1 s
    const calls = provider.calls.length
    const r = await postJson(`${server.url}/api/v1/slide-generations/batches`, batchBody(2))
    expect(r.status).toBe(503)
    expect(r.body.error).toMatchObject({ code: 'storage_unavailable' })
    expect(r.body.error.message).toMatch(/almost full|not writable \(ENOSPC\)/)
    expect(provider.calls.length).toBe(calls)
    const before = await getJson(`${server.url}/api/v1/slide-generations/batches/${ok.body.batch_id}/progress`)
    expect(before.body.progress.completed_pages).toBe(2)
    // not ready either: a load balancer sends new work elsewhere
    const ready = await getJson(`${server.url}/readyz`)
    expect(ready.status).toBe(503)
    expect(ready.body.reason).toMatch(/storage: .* is almost full \(\d+ MB free, needs 1 MB\)/)
  })

  it('fills up while a batch runs: pages not yet started fail storage_unavailable unpaid, finished ones survive a restart', async (ctx) => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const data = path.join(t.dir, 'data')
    await mkdir(data)
    if (!tmpfs(data, '4m')) return ctx.skip()
    let fill: (() => Promise<void>) | undefined
    // concurrency 1: page 1 is made, then the disk fills while page 2 is being generated
    const provider = scriptedProvider(async page => {
      if (page === 2) await fill?.()
      return okImage()
    })
    const server = await startTestServer({ provider, dataDir: data, minFreeBytes: 1024 * 1024, config: { maxConcurrentGenerations: 1 } })
    cleanups.push(() => server.stop())
    fill = async () => {
      await writeFile(path.join(data, 'filler'), Buffer.alloc(3.5 * 1024 * 1024)).catch(() => undefined)
      await new Promise(r => setTimeout(r, 1100)) // the storage check is cached for 1 s
    }
    const created = await postJson(`${server.url}/api/v1/slide-generations/batches`, batchBody(5))
    expect(created.status).toBe(202)
    const sse = await openSse(`${server.url}/api/v1/slide-generations/batches/${created.body.batch_id}/events`)
    await sse.waitFor(e => e.event === 'done', 20_000)
    const progress = await getJson(`${server.url}/api/v1/slide-generations/batches/${created.body.batch_id}/progress`)
    const results = progress.body.results as Array<{ status: string; error_code: string | null; error_message: string | null }>
    expect(results[0].status).toBe('completed')
    // pages 3–5 were never sent upstream: the disk was full before their call
    expect(provider.calls.map(c => c.page)).toEqual([1, 2])
    for (const r of results.slice(2)) {
      expect(r).toMatchObject({ status: 'failed', error_code: 'storage_unavailable' })
      expect(r.error_message).toMatch(/almost full.*nothing was paid/)
    }
    await server.stop()
    const again = await startTestServer({ provider: scriptedProvider(() => okImage()), dataDir: data })
    cleanups.push(() => again.stop())
    const after = await getJson(`${again.url}/api/v1/slide-generations/batches/${created.body.batch_id}/progress`)
    expect(after.body.results[0]).toMatchObject({ status: 'completed', image_url: progress.body.results[0].image_url })
    expect((await fetch(`${again.url}${progress.body.results[0].image_url}`)).status).toBe(200)
  })

  it('read-only before the first start: one line naming DATA_DIR and the cause, not Node\'s ENOENT', async (ctx) => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const data = path.join(t.dir, 'data')
    await mkdir(data)
    if (!tmpfs(data, '1m')) return ctx.skip()
    execFileSync('mount', ['-o', 'remount,ro', data])
    cleanups.push(() => { execFileSync('mount', ['-o', 'remount,rw', data]) })
    const err = await startTestServer({ provider: scriptedProvider(() => okImage()), dataDir: data }).then(() => null, (e: Error) => e)
    expect(err?.message).toBe(`DATA_DIR (${data}) is not writable (EROFS): images/ cannot be created there`)
  })
})

describe('an image that cannot be written', () => {
  it('fails its page storage_unavailable naming the cause (disk full, read-only), not internal_error', () => {
    const runner = new PageRunner({ provider: scriptedProvider(() => okImage()), logger: createMemoryLogger(), maxRetries: 3 } as unknown as ConstructorParameters<typeof PageRunner>[0])
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
    expect(runner.decide(enospc, 0, false)).toMatchObject({ action: 'fail', code: 'storage_unavailable', kind: 'fatal', message: expect.stringMatching(/disk is full, ENOSPC/) })
    const erofs = Object.assign(new Error('EROFS: read-only file system, open'), { code: 'EROFS' })
    expect(runner.decide(erofs, 0, false)).toMatchObject({ action: 'fail', code: 'storage_unavailable', message: expect.stringMatching(/not writable, EROFS/) })
    expect(runner.decide(new Error('something else'), 0, false)).toMatchObject({ code: 'internal_error' })
  })
})

describe('kill after complete', () => {
  it('every page the client saw completed is still completed, with a whole image, after SIGKILL and restart', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const TRIALS = 3
    let seenTotal = 0
    for (let trial = 0; trial < TRIALS; trial++) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts'], {
        cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, GEMINI_API_KEY: '', OPENAI_API_KEY: '', PROXY_TOKEN: '', IMAGE_PROVIDER: 'preview', PORT: '0', HOST: '127.0.0.1', DATA_DIR: t.dir, LOG_FORMAT: 'json' },
      })
      cleanups.push(() => { child.kill('SIGKILL') })
      let out = ''
      child.stdout.on('data', (c: Buffer) => { out += c.toString() })
      await waitUntil(() => /"msg":"proxy started"/.test(out), 30_000, 50)
      const url = String(/"url":"(http:\/\/[^"]+)"/.exec(out)?.[1]).replace('localhost', '127.0.0.1')
      const created = await postJson(`${url}/api/v1/slide-generations/batches`, batchBody(6))
      expect(created.status).toBe(202)
      const sse = await openSse(`${url}/api/v1/slide-generations/batches/${created.body.batch_id}/events`)
      // kill the moment the 2nd + trial'th page is reported completed (varies the point of the kill)
      const want = Math.min(6, 2 + trial)
      await waitUntil(() => sse.events.filter(e => e.event === 'page' && (e.data as { status: string }).status === 'completed').length >= want, 30_000, 1)
      child.kill('SIGKILL')
      const seen = sse.events.filter(e => e.event === 'page' && (e.data as { status: string }).status === 'completed').map(e => e.data as { page_number: number; image_url: string })
      sse.abort()
      await new Promise(r => child.once('close', r))
      seenTotal += seen.length

      const again = await startTestServer({ provider: scriptedProvider(() => okImage()), dataDir: t.dir })
      try {
        const progress = await getJson(`${again.url}/api/v1/slide-generations/batches/${created.body.batch_id}/progress`)
        for (const page of seen) {
          const result = progress.body.results.find((r: { page_number: number }) => r.page_number === page.page_number)
          expect(result, `trial ${trial} page ${page.page_number}`).toMatchObject({ status: 'completed', image_url: page.image_url })
          const res = await fetch(`${again.url}${page.image_url}`)
          expect(res.status).toBe(200)
          const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata()
          expect(meta.width).toBeGreaterThan(0)
        }
      } finally {
        await again.stop()
      }
    }
    expect(seenTotal).toBeGreaterThanOrEqual(TRIALS * 2)
    // no temp files left behind by the atomic writes
    const leftovers = (await readdir(path.join(t.dir, 'images'))).filter(n => n.endsWith('.tmp'))
    expect(leftovers.length).toBeLessThanOrEqual(TRIALS) // at most one in-flight write per kill
  }, 120_000)
})
