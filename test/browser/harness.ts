// Shared set-up for the browser tests: build the demo once, run the real proxy as a child process
// (preview provider, temp data dir, ephemeral port), and drive Debian's Chromium with playwright-core.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const ARTIFACTS = path.join(ROOT, 'test', 'artifacts')
const BIN = path.join(ROOT, 'node_modules', '.bin')

/** Builds the demo host into dist/ (vite build), unless the browser project's global set-up already did. */
export function buildDemo(): void {
  if (process.env.NB_DEMO_BUILT === '1') return
  execFileSync(path.join(BIN, 'vite'), ['build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 })
}

export interface RunningProxy {
  baseUrl: string
  /** its DATA_DIR (removed by stop() unless the caller passed its own) */
  dataDir: string
  output: () => string
  /** SIGTERM, then the data dir is removed (when it is the harness's own) */
  stop: () => Promise<void>
  /** SIGKILL, as a crash would: nothing is flushed or removed (restart with { dataDir, port }) */
  kill: () => Promise<void>
}

export interface StartProxyOptions {
  /** reuse this data dir (a restart); the caller removes it */
  dataDir?: string
  /** listen on this port (a restart on the same address) instead of an ephemeral one */
  port?: number
}

// Starts the proxy (server/index.ts through tsx's loader, in ONE process so that killing it leaves
// nothing behind) with the preview provider on an ephemeral port, read back from its start-up line.
// Keys from the developer's shell are dropped so the test can never reach a real API.
export async function startProxy(extraEnv: Record<string, string> = {}, options: StartProxyOptions = {}): Promise<RunningProxy> {
  const ownDataDir = !options.dataDir
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'nb-browser-'))
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const key of Object.keys(env)) {
    if (/API_KEY|BASE_URL|PROXY_TOKEN/.test(key)) delete env[key]
  }
  Object.assign(env, { PORT: String(options.port ?? 0), HOST: '127.0.0.1', IMAGE_PROVIDER: 'preview', DATA_DIR: dataDir, LOG_FORMAT: 'json', ...extraEnv })

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
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true })
  }
  const kill = async () => {
    process.off('exit', killOnExit)
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
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
  return { baseUrl, dataDir, output: () => log, stop, kill }
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

export interface NetworkGate {
  /** the proxy's address through the gate (same paths) */
  url: string
  /** the network is gone: open connections are reset, new ones refused, until up() */
  down: () => void
  up: () => void
  close: () => Promise<void>
}

const BAD_GATEWAY_PAGE = '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>'

/**
 * A TCP relay in front of the proxy, standing for the network between the browser and it: down()
 * resets every open connection (the SSE stream included) and refuses new ones while the proxy keeps
 * working. Chromium's offline emulation cannot stand in: it leaves an open event stream alone.
 * With `badGateway`, a connection the proxy refuses (it is down) is answered like nginx does: 502
 * with an HTML page.
 */
export async function startNetworkGate(target: string, options: { badGateway?: boolean } = {}): Promise<NetworkGate> {
  const { port: targetPort, hostname } = new URL(target)
  const open = new Set<Socket>()
  const every = new Set<Socket>()
  let isDown = false
  const server = createServer(client => {
    every.add(client)
    client.once('close', () => every.delete(client))
    if (isDown) {
      client.resetAndDestroy()
      return
    }
    const upstream = connect(Number(targetPort), hostname)
    open.add(client)
    open.add(upstream)
    let connected = false
    upstream.once('connect', () => { connected = true })
    upstream.once('error', () => {
      if (connected || !options.badGateway || client.destroyed) return
      client.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: ${BAD_GATEWAY_PAGE.length}\r\nConnection: close\r\n\r\n${BAD_GATEWAY_PAGE}`)
      open.delete(client)
      open.delete(upstream)
    })
    const drop = () => {
      client.destroy()
      upstream.destroy()
      open.delete(client)
      open.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', () => { if (connected || !options.badGateway) drop() }).on('close', () => { if (connected || !options.badGateway) drop() })
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    down: () => {
      isDown = true
      for (const socket of open) socket.resetAndDestroy()
      open.clear()
    },
    up: () => { isDown = false },
    close: () => {
      for (const socket of [...open, ...every]) socket.destroy()
      return new Promise(resolve => server.close(() => resolve()))
    },
  }
}
