// A real S3-compatible server for the tests: moto's server mode (`python3 -m moto.server`, moto 5,
// which this machine image ships with its pip packages) as a child process on 127.0.0.1 and a free
// port, in memory. Chosen over s3rver (npm 3.7.1, wire-compatible but old: Koa 2, busboy 0.3, no
// conditional writes or checksum headers) and fauxqs (needs Node ≥ 22.5): moto implements the S3
// REST API the SDK speaks — signatures, HeadBucket, conditional and checksummed PUTs, DeleteObjects —
// and is what the AWS SDKs' own users test against. MinIO is not packaged for Debian or npm.
// Every request moto answers is logged on its stderr; the PUTs are counted per object key from it.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import type { S3Settings } from '../../server/s3Config.js'
import { createS3Client, loadS3Sdk } from '../../server/engine/s3ImageStore.js'

export interface TestS3 {
  /** http://127.0.0.1:<port> */
  endpoint: string
  /** a new empty bucket, named for one test */
  createBucket(): Promise<string>
  /** settings for the proxy (path style, test credentials) */
  settings(bucket: string): S3Settings
  /** the same as S3_* variables, for a proxy process */
  env(bucket: string): Record<string, string>
  /** successful PUTs so far per object key (`<bucket>/<key>`) */
  putCounts(): Map<string, number>
  /** stops the server and resolves once it exited */
  stop(): Promise<void>
  /** kills the server without waiting (tests of a store that went away) */
  kill(): void
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

/** Starts moto's S3 server; rejects with moto's own words when it cannot (not installed, port taken). */
export async function startTestS3(): Promise<TestS3> {
  const port = await freePort()
  const endpoint = `http://127.0.0.1:${port}`
  const child: ChildProcess = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' },
  })
  const puts = new Map<string, number>()
  let log = ''
  let partial = ''
  child.stderr!.on('data', (b: Buffer) => {
    const text = partial + b.toString()
    const lines = text.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      if (log.length < 4000) log += line + '\n'
      // werkzeug's access log: "PUT /bucket/images/<key>?x-id=PutObject HTTP/1.1" 200 -
      const m = /"PUT \/([^/?\s]+)\/([^?\s]+)[^"]*" 200 /.exec(line)
      if (m) puts.set(`${m[1]}/${decodeURIComponent(m[2])}`, (puts.get(`${m[1]}/${decodeURIComponent(m[2])}`) ?? 0) + 1)
    }
  })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the test S3 server (python3 -m moto.server) exited: ${log.trim() || `code ${child.exitCode}`}; moto is in this machine image's pip packages (pip install "moto[server]")`)
    try {
      const res = await fetch(`${endpoint}/moto-api/`)
      await res.arrayBuffer()
      if (res.ok) break
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`the test S3 server did not answer within 30 s: ${log.trim()}`)
    }
    await new Promise(r => setTimeout(r, 100))
  }
  const settings = (bucket: string): S3Settings => ({
    bucket, endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test-access-key', secretAccessKey: 'test-secret-key' },
  })
  return {
    endpoint,
    async createBucket() {
      const bucket = `nbt-${randomBytes(6).toString('hex')}`
      const client = await createS3Client(settings(bucket))
      try {
        await client.send(new (await loadS3Sdk()).CreateBucketCommand({ Bucket: bucket }))
      } finally {
        client.destroy()
      }
      return bucket
    },
    settings,
    env: bucket => ({
      S3_BUCKET: bucket, S3_ENDPOINT: endpoint, S3_REGION: 'us-east-1', S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: 'test-access-key', S3_SECRET_ACCESS_KEY: 'test-secret-key',
    }),
    putCounts: () => new Map(puts),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
    },
    kill() {
      child.kill('SIGKILL')
    },
  }
}
