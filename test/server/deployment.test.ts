// One Redis prefix = one deployment (server/engine/deployment.ts): a replica whose provider, model,
// price or image store differs from the live replicas' on its prefix is refused, naming the setting;
// the record lives as long as a replica's heartbeat keeps it, so with none live new settings take over.
// Against the real Redis (TEST_REDIS_URL), each test on its own prefix.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../server/config.js'
import { claimDeployment, deploymentKey, deploymentRecord, deploymentSettings, DeploymentMismatch } from '../../server/engine/deployment.js'
import { ReplicaHeartbeat } from '../../server/engine/replicaHeartbeat.js'
import { createMemoryLogger } from '../../server/logger.js'
import { dropRedisPrefix, TEST_REDIS_URL } from './setups.js'
import { waitUntil } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

function newPrefix(): string {
  const prefix = `nbt-dep-${randomBytes(6).toString('hex')}`
  cleanups.push(() => dropRedisPrefix(prefix))
  return prefix
}

const S3 = { S3_BUCKET: 'nb-images', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY_ID: 'AKIA-secret-id', S3_SECRET_ACCESS_KEY: 'very-secret-key', S3_FORCE_PATH_STYLE: 'true' }
const gemini = (extra: Record<string, string> = {}) =>
  deploymentSettings(loadConfig({ GEMINI_API_KEY: 'AIza-deployment-test-key', GEMINI_BASE_URL: 'https://user:pw@relay.example/v1beta/?key=k', ...S3, ...extra }))

function connection(): Redis {
  const r = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 })
  cleanups.push(async () => { r.disconnect() })
  return r
}

describe('deployment settings', () => {
  it('names provider, model, base URL, price and image store, and no secret', () => {
    const settings = gemini({ PRICE_PER_IMAGE_USD: '0.1' })
    expect(Object.fromEntries(settings.map(s => [s.name, s.value]))).toEqual({
      IMAGE_PROVIDER: 'gemini',
      NANO_BANANA_MODEL: 'gemini-3-pro-image',
      GEMINI_BASE_URL: 'https://relay.example/v1beta',
      PRICE_PER_IMAGE_USD: '0.1',
      S3_BUCKET: 'nb-images',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_PUBLIC_BASE_URL: 'unset',
    })
    const text = deploymentRecord(settings)
    for (const secret of ['AIza-deployment-test-key', 'AKIA-secret-id', 'very-secret-key', 'pw@', 'key=k']) expect(text).not.toContain(secret)
    expect(deploymentSettings(loadConfig({ IMAGE_PROVIDER: 'preview' })).find(s => s.name === 'S3_BUCKET')?.value).toBe('unset (images in DATA_DIR/images)')
  })
})

describe('claimDeployment', () => {
  it('the first replica claims the prefix; one with the same settings joins; another provider, model or image store is refused, naming it', async () => {
    const prefix = newPrefix()
    expect(await claimDeployment({ url: TEST_REDIS_URL, prefix, settings: gemini() })).toBe('claimed')
    expect(await claimDeployment({ url: TEST_REDIS_URL, prefix, settings: gemini() })).toBe('joined')

    const refused = async (settings: ReturnType<typeof gemini>) => {
      const err = await claimDeployment({ url: TEST_REDIS_URL, prefix, settings }).then(() => null, (e: unknown) => e)
      expect(err).toBeInstanceOf(DeploymentMismatch)
      return (err as Error).message
    }
    // a preview instance on the production prefix
    expect(await refused(deploymentSettings(loadConfig({ IMAGE_PROVIDER: 'preview', ...S3 })))).toBe(
      `REDIS_PREFIX "${prefix}" is one deployment whose live replicas run with IMAGE_PROVIDER=gemini, but this one has IMAGE_PROVIDER=preview. ` +
      'Replicas of one prefix draw each other\'s pages, so give this one the same settings, or another REDIS_PREFIX (e.g. for staging or a preview)',
    )
    expect(await refused(gemini({ NANO_BANANA_MODEL: 'gemini-2.5-flash-image' }))).toContain('live replicas run with NANO_BANANA_MODEL=gemini-3-pro-image, but this one has NANO_BANANA_MODEL=gemini-2.5-flash-image')
    expect(await refused(gemini({ PRICE_PER_IMAGE_USD: '0.05' }))).toContain('PRICE_PER_IMAGE_USD=unset (list prices), but this one has PRICE_PER_IMAGE_USD=0.05')
    // a replica whose S3_* lines were forgotten would store its pages where the others cannot serve them
    const noS3 = deploymentSettings(loadConfig({ GEMINI_API_KEY: 'AIza-deployment-test-key', GEMINI_BASE_URL: 'https://relay.example/v1beta' }))
    expect(await refused(noS3)).toContain('S3_BUCKET=nb-images, but this one has S3_BUCKET=unset (images in DATA_DIR/images)')
    expect(await refused(gemini({ S3_ENDPOINT: 'http://127.0.0.1:9001' }))).toContain('S3_ENDPOINT=http://127.0.0.1:9000, but this one has S3_ENDPOINT=http://127.0.0.1:9001')
  })

  it('a claim lasts claimMs when no replica keeps it: then new settings take over', async () => {
    const prefix = newPrefix()
    expect(await claimDeployment({ url: TEST_REDIS_URL, prefix, settings: gemini(), claimMs: 300 })).toBe('claimed')
    await expect(claimDeployment({ url: TEST_REDIS_URL, prefix, settings: gemini({ IMAGE_PROVIDER: 'preview' }) })).rejects.toThrow(DeploymentMismatch)
    await new Promise(resolve => setTimeout(resolve, 400))
    expect(await claimDeployment({ url: TEST_REDIS_URL, prefix, settings: gemini({ IMAGE_PROVIDER: 'preview' }) })).toBe('claimed')
  })
})

describe('the replica heartbeat keeps the deployment record', () => {
  const heartbeat = (redis: Redis, prefix: string, settings: ReturnType<typeof gemini>, beatMs = 250) => new ReplicaHeartbeat({
    redis, key: `${prefix}:sched:replicas`, id: randomBytes(4).toString('hex'), beatMs, logger: createMemoryLogger(), onChange: () => {},
    deployment: { key: deploymentKey(prefix), value: deploymentRecord(settings) },
  })

  it('alive while a replica beats (past the claim); deleted when the last live replica stops, so other settings may start at once', async () => {
    const prefix = newPrefix()
    const redis = connection()
    expect(await claimDeployment({ url: TEST_REDIS_URL, prefix, settings: gemini(), claimMs: 200 })).toBe('claimed')
    const a = heartbeat(redis, prefix, gemini())
    const b = heartbeat(redis, prefix, gemini())
    await a.start()
    await b.start()
    // well past the claim's 200 ms: the beats keep it
    await new Promise(resolve => setTimeout(resolve, 700))
    await expect(claimDeployment({ url: TEST_REDIS_URL, prefix, settings: gemini({ IMAGE_PROVIDER: 'preview' }) })).rejects.toThrow(/IMAGE_PROVIDER=gemini/)
    // one of two stops: the other is live, the record stays
    await a.stop()
    expect(await redis.get(deploymentKey(prefix))).toBe(deploymentRecord(gemini()))
    await b.stop()
    expect(await redis.get(deploymentKey(prefix))).toBeNull()
    expect(await claimDeployment({ url: TEST_REDIS_URL, prefix, settings: gemini({ IMAGE_PROVIDER: 'preview' }) })).toBe('claimed')
  })

  it('a replica that died (no more beats) lets its record expire after three beats; a beat writes back a missing record', async () => {
    const prefix = newPrefix()
    const redis = connection()
    const a = heartbeat(redis, prefix, gemini())
    // the record was lost (e.g. a Redis flush): the next beat writes it back
    await a.start()
    expect(await redis.get(deploymentKey(prefix))).toBe(deploymentRecord(gemini()))
    const ttl = await redis.pttl(deploymentKey(prefix))
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(750)
    // "dies": its timer stops without leaving the set
    const timer = (a as unknown as { timer: ReturnType<typeof setInterval> }).timer
    clearInterval(timer)
    await waitUntil(async () => (await redis.exists(deploymentKey(prefix))) === 0, 3_000)
    expect(await claimDeployment({ url: TEST_REDIS_URL, prefix, settings: gemini({ IMAGE_PROVIDER: 'preview' }) })).toBe('claimed')
  })
})
