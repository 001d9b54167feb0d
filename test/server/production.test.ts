// The production start from a pruned install: a temporary copy holding the built server bundle, the
// covers, a stand-in demo build and this checkout's node_modules (hard links) pruned with
// `npm prune --omit=dev`; then `npm run serve` must start, answer /readyz, render a page with the
// offline preview (sharp, resvg, fonts — the native and file-reading dependencies), serve the demo,
// and stop cleanly on SIGTERM. Catches a runtime import of a dev dependency and a bundle that
// cannot find its files.
import { spawn, execFile } from 'node:child_process'
import { cp, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildServer } from '../../scripts/build-server.js'

const run = promisify(execFile)
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nb-prod-'))
  await copyFile(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'))
  await copyFile(path.join(ROOT, 'package-lock.json'), path.join(dir, 'package-lock.json'))
  await cp(path.join(ROOT, 'public'), path.join(dir, 'public'), { recursive: true })
  await mkdir(path.join(dir, 'dist', 'demo'), { recursive: true })
  await writeFile(path.join(dir, 'dist', 'demo', 'index.html'), '<!doctype html><title>prebuilt demo</title>')
  await buildServer(path.join(dir, 'dist', 'server', 'index.js'))
  // hard links: fast and small; npm replaces files rather than writing into them, and the hidden
  // lockfile it rewrites is a real copy, so the checkout's node_modules is never touched
  await run('cp', ['-al', path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules')])
  await rm(path.join(dir, 'node_modules', '.package-lock.json'), { force: true })
  await copyFile(path.join(ROOT, 'node_modules', '.package-lock.json'), path.join(dir, 'node_modules', '.package-lock.json')).catch(() => undefined)
  await run('npm', ['prune', '--omit=dev', '--no-audit', '--no-fund'], { cwd: dir, timeout: 120_000 })
}, 180_000)

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('production start (npm run serve after npm prune --omit=dev)', () => {
  it('no dev dependency is left, and the proxy starts, is ready, renders a page and stops on SIGTERM', { timeout: 90_000 }, async () => {
    const { stdout: ls } = await run('ls', [path.join(dir, 'node_modules')])
    for (const dev of ['vite', 'vitest', 'tsx', 'esbuild', 'playwright-core']) expect(ls.split('\n'), dev).not.toContain(dev)

    const env: NodeJS.ProcessEnv = {}
    for (const [k, v] of Object.entries(process.env)) if (!/API_KEY|BASE_URL|TOKEN|IMAGE_PROVIDER|^PORT$|^HOST$|DATA_DIR|^LOG_|^NODE_ENV$|^npm_/.test(k)) env[k] = v
    const child = spawn('npm', ['run', '-s', 'serve'], {
      cwd: dir, env: { ...env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: path.join(dir, 'data'), DEFAULT_RESOLUTION: '1K' }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stderr.on('data', (c: Buffer) => { err += c.toString() })
    const exited = new Promise<number | null>(resolve => child.on('close', code => resolve(code)))
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start-up line: ${out}${err}`)), 30_000)
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString()
          const m = /"url":"(http:\/\/[^"]+)".*"msg":"proxy started"|"msg":"proxy started".*"url":"(http:\/\/[^"]+)"/.exec(out)
          if (m) { clearTimeout(timer); resolve((m[1] ?? m[2]).replace('localhost', '127.0.0.1')) }
        })
        void exited.then(code => reject(new Error(`exited with ${code}: ${out}${err}`)))
      })
      // every line on stdout is a JSON log line
      for (const l of out.trim().split('\n')) expect(() => JSON.parse(l), l).not.toThrow()

      const ready = await fetch(`${url}/readyz`)
      expect(ready.status, await ready.clone().text()).toBe(200)
      expect((await ready.json()).ok).toBe(true)

      const demo = await fetch(`${url}/`)
      expect(await demo.text()).toContain('prebuilt demo')

      const created = await fetch(`${url}/api/v1/slide-generations/batches`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ template_id: 'nano_banana_2', deck_title: '发布会', pages: [{ slide_id: 's1', title: '年度经营分析', content: '增长 35%' }], options: { style_chain: false } }),
      })
      expect(created.status).toBe(202)
      const id = (await created.json()).batch_id as string
      let progress: { status: string; results: Array<{ image_url: string | null; thumbnail_url: string | null }> } | undefined
      for (let i = 0; i < 200; i++) {
        progress = await (await fetch(`${url}/api/v1/slide-generations/batches/${id}/progress`)).json()
        if (progress!.status !== 'pending' && progress!.status !== 'generating') break
        await new Promise(r => setTimeout(r, 100))
      }
      expect(progress!.status, JSON.stringify(progress)).toBe('completed')
      const img = await fetch(`${url}${progress!.results[0].image_url}`)
      expect(img.status).toBe(200)
      expect(img.headers.get('content-type')).toBe('image/png')
      expect((await img.arrayBuffer()).byteLength).toBeGreaterThan(10_000)
      // a thumbnail still being made is answered 404 not_ready at once: ask again
      let thumb = await fetch(`${url}${progress!.results[0].thumbnail_url}`)
      for (let i = 0; i < 100 && thumb.status === 404; i++) {
        await thumb.arrayBuffer()
        await new Promise(r => setTimeout(r, 100))
        thumb = await fetch(`${url}${progress!.results[0].thumbnail_url}`)
      }
      expect(thumb.status).toBe(200)
      await thumb.arrayBuffer()
    } finally {
      child.kill('SIGTERM')
    }
    expect(await exited, out + err).toBe(0)
    expect(out).toContain('"msg":"shutting down"')
    expect(err).toBe('')
  })
})
