// Runs the real proxy (config → createProvider → provider → batches) against a fake upstream and
// reports what a user would see: each page's final state and error code, and the upstream calls made.
import path from 'node:path'
import { startServer, type RunningServer } from '../../server/app.js'
import { configSecrets, loadConfig } from '../../server/config.js'
import { createLogger } from '../../server/logger.js'
import { createProvider, type ProviderDeps } from '../../server/providers/index.js'
import type { BatchProgress } from '../../plugin/types/api.js'
import { fakePublicDir, getJson, postJson, tempDir, waitUntil } from './helpers.js'

export interface ProxyRun {
  srv: RunningServer
  logLines: string[]
  /** creates a batch and waits until it is finished; returns the final progress */
  runBatch(pages: number, options?: Record<string, unknown>): Promise<BatchProgress>
  stop(): Promise<void>
}

/** The proxy with `env` (MAX_RETRIES 3, short backoff), images under a fresh temp DATA_DIR; `providerDeps` go to createProvider. */
export async function startProxy(env: Record<string, string>, providerDeps: ProviderDeps = {}): Promise<ProxyRun> {
  const t = await tempDir('nb-run-')
  const config = loadConfig({ MAX_RETRIES: '3', NANO_BANANA_TIMEOUT: '20', IMAGE_THUMBNAIL_SIZE: '160x90', DATA_DIR: path.join(t.dir, 'data'), ...env })
  const logLines: string[] = []
  const logger = createLogger({ secrets: configSecrets(config), write: line => { logLines.push(line) } })
  const srv = await startServer({
    config, logger, provider: createProvider(config.provider, providerDeps), timeouts: config.provider,
    publicDir: await fakePublicDir(t.dir), backoff: { baseMs: 5, maxMs: 20 },
  })
  return {
    srv,
    logLines,
    async runBatch(pages, options = {}) {
      const created = await postJson(`${srv.url}/api/v1/slide-generations/batches`, {
        template_id: 'nano_banana_1', deck_title: 'Deck',
        pages: Array.from({ length: pages }, (_, i) => ({ slide_id: `s${i + 1}`, title: `Slide ${i + 1}`, content: `Point ${i + 1}` })),
        options: { style_chain: false, resolution: '1K', ...options },
      })
      if (created.status !== 202) throw new Error(`batch not created: ${created.text}`)
      const url = `${srv.url}/api/v1/slide-generations/batches/${created.body.batch_id}/progress`
      let progress: BatchProgress | undefined
      await waitUntil(async () => {
        progress = (await getJson(url)).body as BatchProgress
        return ['completed', 'partial', 'failed', 'cancelled'].includes(progress.status)
      }, 20_000, 20)
      return progress!
    },
    async stop() {
      await srv.stop()
      await t.cleanup()
    },
  }
}
