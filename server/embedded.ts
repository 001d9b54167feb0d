// The proxy started inside another process (the CLI's `render` without --server): same configuration
// from the environment (.env too), an ephemeral port on 127.0.0.1, only errors logged (to stderr), and
// a data directory of its own unless DATA_DIR is set.
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import dotenv from 'dotenv'
import { startServer } from './app.js'
import { configSecrets, loadConfig } from './config.js'
import { createLogger } from './logger.js'
import { createProvider } from './providers/index.js'

export interface EmbeddedProxy {
  url: string
  provider: string
  model: string
  stop(): Promise<void>
}

/** Starts the proxy; throws ConfigError (message names the variable) on bad configuration. */
export async function startEmbedded(env: Record<string, string | undefined> = process.env): Promise<EmbeddedProxy> {
  dotenv.config({ quiet: true, processEnv: env as Record<string, string> })
  const tmp = env.DATA_DIR ? null : await mkdtemp(path.join(os.tmpdir(), 'nano-banana-render-'))
  const config = loadConfig({ ...env, ...(tmp ? { DATA_DIR: tmp } : {}) })
  const logger = createLogger({ secrets: configSecrets(config), level: 'error', write: line => process.stderr.write(`${line}\n`) })
  const provider = createProvider(config.provider)
  const running = await startServer({
    config, provider, logger, timeouts: config.provider, port: 0, host: '127.0.0.1', http: config.http,
    deckLimits: { maxUploadBytes: config.maxUploadMb * 1024 * 1024 },
  })
  return {
    url: running.url,
    provider: provider.name,
    model: provider.model,
    async stop() {
      await running.stop()
      if (tmp) await rm(tmp, { recursive: true, force: true })
    },
  }
}
