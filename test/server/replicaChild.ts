// A proxy replica in a process of its own (it is SIGKILLed by the tests): the real configuration from
// its environment (loadConfig: REDIS_URL, S3_*, GEMINI_BASE_URL of the fake Gemini, …), the real
// provider, JSON log lines on stdout. Queue locks are short (NB_TEST_LOCK_MS, default 1 s) so that a
// killed replica's pages are taken over within the test. Prints "listening <url>" once it serves.
import { startServer } from '../../server/app.js'
import { configSecrets, loadConfig } from '../../server/config.js'
import { createLogger } from '../../server/logger.js'
import { createProvider } from '../../server/providers/index.js'
import { fakePublicDir } from './helpers.js'

const config = loadConfig(process.env)
const logger = createLogger({ secrets: configSecrets(config), format: 'json', write: line => { process.stdout.write(line.endsWith('\n') ? line : `${line}\n`) } })
const lockDurationMs = Number(process.env.NB_TEST_LOCK_MS ?? 1000)
const srv = await startServer({
  config, logger, provider: createProvider(config.provider), timeouts: config.provider, port: 0,
  publicDir: await fakePublicDir(`${config.dataDir}-public`),
  backoff: { baseMs: 10, maxMs: 50 }, pingIntervalMs: 200,
  redisTiming: {
    lockDurationMs, stalledIntervalMs: Math.max(100, Math.round(lockDurationMs / 3)),
    ...(process.env.NB_TEST_STREAM_LEASE_MS ? { streamLeaseMs: Number(process.env.NB_TEST_STREAM_LEASE_MS) } : {}),
  },
})
process.stdout.write(`listening ${srv.url}\n`)
process.on('SIGTERM', () => { void srv.stop().then(() => process.exit(0)) })
