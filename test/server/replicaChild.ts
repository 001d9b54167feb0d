// A proxy replica in a process of its own, for the replica takeover test (it is SIGKILLed): Redis
// set-up from NB_TEST_REDIS_URL / NB_TEST_REDIS_PREFIX, DATA_DIR from NB_TEST_DATA_DIR, a provider
// whose calls never return. Prints "listening <url>" once it serves.
import { fakePublicDir, scriptedProvider, startTestServer } from './helpers.js'

const dataDir = process.env.NB_TEST_DATA_DIR!
const srv = await startTestServer({
  provider: scriptedProvider(() => 'hang'),
  dataDir, publicDir: await fakePublicDir(`${dataDir}-child`),
  config: { maxConcurrentGenerations: 2, redis: { url: process.env.NB_TEST_REDIS_URL!, prefix: process.env.NB_TEST_REDIS_PREFIX! } },
  redisTiming: { lockDurationMs: 1000, stalledIntervalMs: 300 },
})
process.stdout.write(`listening ${srv.url}\n`)
