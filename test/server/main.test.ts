// server/index.ts as a process: one-line configuration errors, and a start-up line naming the
// provider and model but never the key.
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { tempDir } from './helpers.js'
import { dropRedisPrefix, TEST_REDIS_URL } from './setups.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

function run(env: Record<string, string>, untilLine?: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/API_KEY|BASE_URL|PROXY_TOKEN|IMAGE_PROVIDER|^PORT$|^HOST$|DATA_DIR/.test(k)) clean[k] = v
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts'], { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`timed out: ${stdout}${stderr}`)) }, 25_000)
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
      if (untilLine && untilLine.test(stdout)) child.kill('SIGTERM')
    })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.on('close', code => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

describe('server/index.ts', () => {
  it('stops on invalid configuration with one line naming the variable, no stack', async () => {
    const r = await run({ MAX_CONCURRENT_GENERATIONS: 'lots', GEMINI_API_KEY: 'AIza-main-test-key-123456789' })
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n')).toEqual(['Configuration error: MAX_CONCURRENT_GENERATIONS must be a whole number between 1 and 100 (got "lots")'])
    expect(r.stdout).toBe('')
  })

  it('stops with one line when REDIS_URL cannot be reached: names the address, never the password, no stack', async () => {
    // a port nothing listens on (a server bound and closed again)
    const probe = createServer()
    await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as AddressInfo).port
    await new Promise(resolve => probe.close(resolve))
    const t = await tempDir()
    try {
      const r = await run({ REDIS_URL: `redis://:s3cret-redis-pass@127.0.0.1:${port}/2`, PORT: '0', HOST: '127.0.0.1', DATA_DIR: t.dir })
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split('\n')).toEqual([`Configuration error: REDIS_URL (127.0.0.1:${port}/2) cannot be reached: connect ECONNREFUSED 127.0.0.1:${port}`])
      expect(r.stdout).not.toContain('listening')
      expect(r.stdout + r.stderr).not.toContain('s3cret-redis-pass')
    } finally {
      await t.cleanup()
    }
  })

  it('one REDIS_PREFIX is one deployment: a preview replica on a live gemini prefix stops with one line naming the setting; once the gemini one stopped it starts', async () => {
    const prefix = `nbt-main-${process.pid}-${Date.now()}`
    const a = await tempDir()
    const b = await tempDir()
    const redis = { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, PORT: '0', HOST: '127.0.0.1' }
    // the production replica, kept running
    const live = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts'], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...redis, GEMINI_API_KEY: 'AIza-main-test-key-deploy', GEMINI_BASE_URL: 'http://127.0.0.1:9', IMAGE_PROVIDER: 'gemini', DATA_DIR: a.dir },
    })
    const liveClosed = new Promise(resolve => live.on('close', resolve))
    try {
      let out = ''
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the gemini replica did not start: ${out}`)), 25_000)
        live.stdout.on('data', (c: Buffer) => {
          out += c.toString()
          if (out.includes('"msg":"proxy started"')) { clearTimeout(timer); resolve() }
        })
        live.stderr.on('data', (c: Buffer) => { out += c.toString() })
      })
      const refused = await run({ ...redis, IMAGE_PROVIDER: 'preview', DATA_DIR: b.dir })
      expect(refused.code).toBe(1)
      expect(refused.stderr.trim().split('\n')).toEqual([
        `Configuration error: REDIS_PREFIX "${prefix}" is one deployment whose live replicas run with IMAGE_PROVIDER=gemini, but this one has IMAGE_PROVIDER=preview. ` +
        'Replicas of one prefix draw each other\'s pages, so give this one the same settings, or another REDIS_PREFIX (e.g. for staging or a preview)',
      ])
      expect(refused.stdout).not.toContain('proxy started')
      // the gemini replica stops (the last live one): the preview settings take over at once
      live.kill('SIGTERM')
      await liveClosed
      const started = await run({ ...redis, IMAGE_PROVIDER: 'preview', DATA_DIR: b.dir }, /"msg":"proxy started"/)
      expect(started.stdout, started.stderr).toContain('"provider":"preview"')
      expect(started.code).toBe(0)
    } finally {
      if (live.exitCode === null) live.kill('SIGKILL')
      await dropRedisPrefix(prefix)
      await a.cleanup()
      await b.cleanup()
    }
  }, 60_000)

  it('stops with one line when a budget is below the price of one image at every size, naming the variable and the price', async () => {
    const t = await tempDir()
    try {
      const r = await run({ GEMINI_API_KEY: 'AIza-main-test-key-123456789', BUDGET_USD_PER_10MIN: '0.1', PORT: '0', HOST: '127.0.0.1', DATA_DIR: t.dir })
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split('\n')).toEqual(['Configuration error: BUDGET_USD_PER_10MIN=0.1 is below the price of one image: gemini-3-pro-image costs $0.134 at 1K, its cheapest size (list price; PRICE_PER_IMAGE_USD overrides it), so no page could ever be generated. Set BUDGET_USD_PER_10MIN to at least 0.134, or leave it unset'])
    } finally {
      await t.cleanup()
    }
  })

  it('start-up: says tokens are required with PROXY_TOKENS (not "off"); warns of a budget below some sizes\' price and of a client\'s daily budget below one image', async () => {
    const t = await tempDir()
    try {
      const r = await run({
        GEMINI_API_KEY: 'AIza-main-test-key-123456789', GEMINI_BASE_URL: 'http://127.0.0.1:9', PORT: '0', HOST: '127.0.0.1', DATA_DIR: t.dir,
        PROXY_TOKENS: 'alice:alice-token-1,bob:bob-token-22:0.1', BUDGET_USD_PER_10MIN: '0.2',
      }, /has a daily budget of/)
      const lines = r.stdout.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
      const started = lines.find(l => l.msg === 'proxy started')
      expect(started).toMatchObject({ tokens: 'required (2 clients)' })
      expect(started).not.toHaveProperty('proxy_token')
      const warnings = lines.filter(l => l.level === 'warn').map(l => String(l.msg))
      expect(warnings).toContain('BUDGET_USD_PER_10MIN=0.2 is below the price of one 4K image ($0.24) of gemini-3-pro-image: batches at that size are refused (422 budget_below_price)')
      expect(warnings).toContain('client "bob" has a daily budget of $0.1 (PROXY_TOKENS / PROXY_TOKENS_FILE), below the price of one image ($0.134 at 1K): its batches are refused (422 budget_below_price)')
    } finally {
      await t.cleanup()
    }
  })

  it('says in one line why it cannot listen (port in use), no stack', async () => {
    const taken = createServer()
    await new Promise<void>(resolve => taken.listen(0, '127.0.0.1', resolve))
    const t = await tempDir()
    try {
      const port = (taken.address() as AddressInfo).port
      const r = await run({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: t.dir })
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split('\n')).toEqual([`Could not start the proxy: listen EADDRINUSE: address already in use 127.0.0.1:${port}`])
    } finally {
      await new Promise(resolve => taken.close(resolve))
      await t.cleanup()
    }
  })

  it('warns once at start-up when NANO_BANANA_MODEL is a retired id, naming its replacement', async () => {
    const t = await tempDir()
    try {
      const r = await run({ GEMINI_API_KEY: 'AIza-main-test-key-retired', GEMINI_BASE_URL: 'http://127.0.0.1:9', PORT: '0', HOST: '127.0.0.1', DATA_DIR: t.dir, NANO_BANANA_MODEL: 'gemini-3-pro-image-preview' }, /"msg":"proxy started"/)
      const lines = r.stdout.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
      const warnings = lines.filter(l => l.level === 'warn')
      expect(warnings, r.stdout).toHaveLength(1)
      expect(warnings[0].msg).toContain('The model "gemini-3-pro-image-preview" was shut down on 2026-06-25; set NANO_BANANA_MODEL=gemini-3-pro-image')
    } finally {
      await t.cleanup()
    }
  })

  it('with a paid provider and no token it listens on 127.0.0.1 only and says what is open', async () => {
    const t = await tempDir()
    try {
      const r = await run({ GEMINI_API_KEY: 'AIza-main-test-key-OPEN-1', GEMINI_BASE_URL: 'http://127.0.0.1:9', PORT: '0', DATA_DIR: t.dir }, /"msg":"exposure"/)
      const lines = r.stdout.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
      expect(String(lines.find(l => l.msg === 'proxy started')?.url), r.stdout).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(String(lines.find(l => l.msg === 'exposure')?.open)).toMatch(/^listening on 127\.0\.0\.1 \(this machine only\) — safe default for a paid provider without PROXY_TOKEN; tokens: none/)
      expect(r.code).toBe(0)
    } finally {
      await t.cleanup()
    }
  })

  it('logs the active provider and model at start-up, never the key', async () => {
    const KEY = 'AIza-main-test-key-DISTINCT-987'
    const t = await tempDir()
    try {
      const r = await run({ GEMINI_API_KEY: KEY, GEMINI_BASE_URL: 'http://127.0.0.1:9', PORT: '0', HOST: '127.0.0.1', DATA_DIR: t.dir, NANO_BANANA_MODEL: 'gemini-3-pro-image' }, /"msg":"proxy started"/)
      // stdout is a pipe, not a terminal: JSON lines
      const lines = r.stdout.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
      expect(lines.find(l => l.msg === 'proxy started'), r.stdout).toMatchObject({ level: 'info', provider: 'gemini', model: 'gemini-3-pro-image', shared: expect.stringMatching(/^none: one process/), images: `${t.dir}/images` })
      expect(String(lines.find(l => l.msg === 'proxy started')!.url)).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(r.stdout + r.stderr).not.toContain(KEY)
      expect(lines.find(l => l.msg === 'shutting down'), r.stdout + r.stderr).toMatchObject({ signal: 'SIGTERM' })
      expect(r.code).toBe(0)
    } finally {
      await t.cleanup()
    }
  })
})
