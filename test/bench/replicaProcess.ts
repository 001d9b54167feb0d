// One proxy replica in a process of its own for the replicas benchmark (test/bench/replicas.ts):
// the real config from the environment (REDIS_URL, REDIS_PREFIX, DATA_DIR, GEMINI_BASE_URL, …),
// the real provider. Tells the parent { url } over IPC once it serves; 'stop' → stops and exits;
// 'cpu' → { cpuMs } (this process's CPU time so far).
import { startServer } from '../../server/app.js'
import { loadConfig } from '../../server/config.js'
import { createLogger } from '../../server/logger.js'
import { createProvider } from '../../server/providers/index.js'

const config = loadConfig(process.env)
const srv = await startServer({ config, provider: createProvider(config.provider), logger: createLogger({ write: () => {} }) })
process.send?.({ url: srv.url })
process.on('disconnect', () => process.exit(0))
process.on('message', async (msg: unknown) => {
  if (msg === 'cpu') {
    const c = process.cpuUsage()
    process.send?.({ cpuMs: (c.user + c.system) / 1000 })
  }
  if (msg === 'stop') {
    await srv.stop()
    process.exit(0)
  }
})
