// `npm start`: load .env (optional), read the configuration, start the proxy. Invalid configuration
// ends the process with one line naming the variable (no stack trace).
import dotenv from 'dotenv'
import { createLogger, defaultLogFormat } from './logger.js'
import { ConfigError, configSecrets, describeExposure, loadConfig, type AppConfig } from './config.js'
import { createProvider } from './providers/index.js'
import { startServer, type RunningServer } from './app.js'
import { retiredMessage } from './models.js'
import { checkBudgetFloor } from './budgetFloor.js'
import { describeSetUp } from './engine/setup.js'
import { claimDeployment, deploymentSettings } from './engine/deployment.js'

async function main(): Promise<void> {
  dotenv.config({ quiet: true })
  let config: AppConfig
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  const logger = createLogger({
    secrets: configSecrets(config),
    format: config.log.format ?? defaultLogFormat(process.env, process.stdout.isTTY === true),
    level: config.log.level,
  })
  let provider
  try {
    provider = createProvider(config.provider)
  } catch (err) {
    process.stderr.write(`Configuration error: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  }
  const deployment = deploymentSettings(config)
  if (config.redis) {
    try {
      // one connection, bounded in time: a Redis that is down or mistyped stops the start with one line
      // (its connections would retry for ever); and one prefix = one deployment: another provider, model,
      // price or image store would mix with the live replicas'
      await claimDeployment({ url: config.redis.url, prefix: config.redis.prefix, settings: deployment })
    }
    catch (err) {
      process.stderr.write(`Configuration error: ${err instanceof Error ? err.message : String(err)}\n`)
      process.exit(1)
    }
  }
  const retired = retiredMessage(provider.model, provider.name === 'openai-images' ? 'OPENAI_IMAGE_MODEL' : 'NANO_BANANA_MODEL')
  if (retired) logger.warn(`${retired}; every page will fail until then`)
  // signal handlers first: a supervisor may stop us the moment it sees the start-up line
  let running: RunningServer | undefined
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info('shutting down', { signal })
    const done = running ? running.stop() : Promise.resolve()
    done.then(() => process.exit(0), () => process.exit(1))
    setTimeout(() => process.exit(1), 10_000).unref()
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))

  running = await startServer({ config, provider, logger, deployment, timeouts: config.provider, port: config.port, host: config.host, http: config.http, deckLimits: { maxUploadBytes: config.maxUploadMb * 1024 * 1024 } })
  if (stopping) {
    await running.stop()
    return
  }
  logger.info('proxy started', {
    url: running.url.replace('127.0.0.1', config.host === '0.0.0.0' ? 'localhost' : config.host),
    provider: provider.name,
    model: provider.model,
    preview: provider.name === 'preview' ? 'yes (offline renderer, no AI)' : undefined,
    concurrency: config.maxConcurrentGenerations,
    data_dir: config.dataDir,
    // the set-up (README: More than one replica): what is shared through Redis, where images go
    ...describeSetUp({ redis: config.redis, s3: config.s3, dataDir: config.dataDir, concurrency: config.maxConcurrentGenerations }),
    // PROXY_TOKEN, PROXY_TOKENS and PROXY_TOKENS_FILE alike (the exposure line says what that means)
    tokens: config.tokens.length ? `required (${config.tokens.length} client${config.tokens.length === 1 ? '' : 's'})` : 'off',
    // what is deleted when (README: Data directory, retention)
    retention: `finished batches ${config.retention.batchHours ? `${config.retention.batchHours} h` : 'forever'}, images ${config.retention.imageHours ? `${config.retention.imageHours} h` : 'forever'}`,
  })
  // safe defaults: say plainly what is open (README: running it in public)
  const exposure = describeExposure(config)
  logger.info('exposure', { open: exposure.open.join('; ') })
  for (const w of exposure.warnings) logger.warn(w)
  // budgets below some sizes' price, or a client's below any (server/budgetFloor.ts; below every size stopped loadConfig)
  for (const w of checkBudgetFloor({ model: config.provider.model, priceOverride: config.priceOverride, budget: config.budget, tokens: config.tokens }).warnings) logger.warn(w)

  if (provider.name === 'preview' && config.provider.openai.apiKey) {
    logger.warn('OPENAI_API_KEY is set but IMAGE_PROVIDER is not: using the offline preview; set IMAGE_PROVIDER=openai-chat or openai-images to use it')
  }

}

main().catch(err => {
  // a start-up failure (e.g. port in use) is one line too; keys cannot be in it, but redact anyway
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`Could not start the proxy: ${message.replace(/(key|token)=\S+/gi, '$1=[redacted]')}\n`)
  process.exit(1)
})
