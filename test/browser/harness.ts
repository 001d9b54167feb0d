// Shared set-up for the browser tests: build the demo once, run the real proxy as a child process
// (preview provider, temp data dir, ephemeral port), and drive Debian's Chromium with playwright-core.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const ARTIFACTS = path.join(ROOT, 'test', 'artifacts')
const BIN = path.join(ROOT, 'node_modules', '.bin')

export function buildDemo(): void {
  execFileSync(path.join(BIN, 'vite'), ['build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 })
}

export interface RunningProxy {
  baseUrl: string
  output: () => string
  stop: () => Promise<void>
}

// Starts the proxy (server/index.ts through tsx's loader, in ONE process so that killing it leaves
// nothing behind) with the preview provider on an ephemeral port, read back from its start-up line.
// Keys from the developer's shell are dropped so the test can never reach a real API.
export async function startProxy(extraEnv: Record<string, string> = {}): Promise<RunningProxy> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'nb-browser-'))
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const key of Object.keys(env)) {
    if (/API_KEY|BASE_URL|PROXY_TOKEN/.test(key)) delete env[key]
  }
  Object.assign(env, { PORT: '0', HOST: '127.0.0.1', IMAGE_PROVIDER: 'preview', DATA_DIR: dataDir, LOG_FORMAT: 'json', ...extraEnv })

  let log = ''
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout?.on('data', (chunk: Buffer) => { log += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { log += chunk.toString() })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  // If the test runner itself is stopped, do not leave the proxy behind.
  const killOnExit = () => { child.kill('SIGKILL') }
  process.once('exit', killOnExit)

  const stop = async () => {
    process.off('exit', killOnExit)
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dataDir, { recursive: true, force: true })
  }

  // generous: on a loaded CI machine tsx alone can take half a minute to start the proxy
  const deadline = Date.now() + 90_000
  let baseUrl = ''
  for (;;) {
    if (child.exitCode !== null) {
      await stop()
      throw new Error(`proxy exited with code ${child.exitCode}:\n${log}`)
    }
    baseUrl ||= startedUrl(log)
    if (baseUrl) {
      try {
        const res = await fetch(`${baseUrl}/api/v1/health`)
        if (res.ok) break
      }
      catch { /* not answering yet */ }
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`proxy did not answer /api/v1/health within 90 s:\n${log}`)
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  return { baseUrl, output: () => log, stop }
}

// The proxy logs JSON lines (pino); its start-up line carries the URL it listens on.
function startedUrl(log: string): string {
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const entry = JSON.parse(line) as { msg?: string, url?: string }
      if (entry.msg === 'proxy started' && entry.url) return entry.url
    }
    catch { /* a partly written line: read again on the next poll */ }
  }
  return ''
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  })
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true })
  return path.join(ARTIFACTS, name)
}
