// One Redis prefix = one deployment. Replicas on one prefix draw each other's queued pages, so a
// replica with another provider, model, price or image store would pay for (or render) pages the
// others accepted, and store images where the others cannot serve them. The live replicas' settings
// are recorded at `<prefix>:deployment`, kept alive by their heartbeats (server/engine/replicaHeartbeat.ts);
// a replica whose settings differ refuses to start (server/index.ts), naming the setting. When no
// replica is live the record has expired (or the last one to stop deleted it): the new settings take over.
import { z } from 'zod'
import type { AppConfig } from '../config.js'
import { withOneRedisConnection } from '../redisProbe.js'

/** One setting as an administrator writes it: its variable and its value in force (never a secret). */
export interface DeploymentSetting {
  name: string
  value: string
}

/** `<prefix>:deployment`: the JSON object { variable: value } of the live replicas' settings. */
export function deploymentKey(prefix: string): string {
  return `${prefix}:deployment`
}

/** The record's value for `settings`, as the heartbeat writes it back when it is missing. */
export function deploymentRecord(settings: readonly DeploymentSetting[]): string {
  return JSON.stringify(Object.fromEntries(settings.map(s => [s.name, s.value])))
}

/** A base URL without credentials, query or fragment (where the calls go; what it costs). */
function endpointOf(raw: string | undefined): string {
  if (!raw) return 'default'
  try {
    const u = new URL(raw)
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/$/, '')}`
  }
  catch {
    return 'unreadable'
  }
}

/**
 * The settings every replica of one prefix must share: what runs a page (IMAGE_PROVIDER, the model and
 * the provider's base URL), what it costs (PRICE_PER_IMAGE_USD) and where its image goes (S3_BUCKET,
 * S3_ENDPOINT or the AWS region, S3_PUBLIC_BASE_URL; `none` is DATA_DIR/images). No secrets: keys and
 * the URLs' credentials are left out.
 */
export function deploymentSettings(config: Pick<AppConfig, 'provider' | 'priceOverride' | 's3'>): DeploymentSetting[] {
  const p = config.provider
  const openai = p.provider === 'openai-chat' || p.provider === 'openai-images'
  const settings: DeploymentSetting[] = [
    { name: 'IMAGE_PROVIDER', value: p.provider },
    { name: p.provider === 'openai-images' ? 'OPENAI_IMAGE_MODEL' : 'NANO_BANANA_MODEL', value: p.model },
  ]
  if (p.provider === 'gemini') settings.push({ name: 'GEMINI_BASE_URL', value: endpointOf(p.gemini.baseUrl) })
  if (openai) settings.push({ name: 'OPENAI_BASE_URL', value: endpointOf(p.openai.baseUrl) })
  settings.push({ name: 'PRICE_PER_IMAGE_USD', value: config.priceOverride === undefined ? 'unset (list prices)' : JSON.stringify(config.priceOverride) })
  const s3 = config.s3
  settings.push({ name: 'S3_BUCKET', value: s3 ? s3.bucket : 'unset (images in DATA_DIR/images)' })
  if (s3) {
    settings.push({ name: 'S3_ENDPOINT', value: s3.endpoint ? endpointOf(s3.endpoint) : `unset (AWS ${s3.region})` })
    settings.push({ name: 'S3_PUBLIC_BASE_URL', value: s3.publicBaseUrl ? endpointOf(s3.publicBaseUrl) : 'unset' })
  }
  return settings
}

/** This replica's settings differ from the live replicas' on its prefix (message: one line, no secrets). */
export class DeploymentMismatch extends Error {}

/**
 * KEYS[1] the deployment record, ARGV[1] this replica's record, ARGV[2] how long a claim lasts (ms).
 * No record (no replica live): claims it and returns false. Otherwise returns the record in force.
 */
const CLAIM_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return false`

const recordSchema = z.record(z.string(), z.string())

/**
 * Joins the deployment on `prefix` or, when no replica is live there, makes this replica's settings the
 * deployment's for `claimMs` (default 30 s; the heartbeat keeps it from then on). Resolves to `claimed`
 * or `joined`; rejects with DeploymentMismatch naming the first setting that differs, its value in force
 * and this replica's, or as withOneRedisConnection when Redis does not answer (within `timeoutMs`, default 5 s).
 */
export async function claimDeployment(opts: { url: string; prefix: string; settings: readonly DeploymentSetting[]; claimMs?: number; timeoutMs?: number }): Promise<'claimed' | 'joined'> {
  const cur: unknown = await withOneRedisConnection(opts.url, redis =>
    redis.eval(CLAIM_LUA, 1, deploymentKey(opts.prefix), deploymentRecord(opts.settings), String(opts.claimMs ?? 30_000)), opts.timeoutMs)
  if (typeof cur !== 'string') return 'claimed'
  let live: Record<string, string>
  try {
    live = recordSchema.parse(JSON.parse(cur))
  }
  catch {
    throw new DeploymentMismatch(`REDIS_PREFIX "${opts.prefix}": the record ${deploymentKey(opts.prefix)} of the live replicas cannot be read; stop them all, or use another REDIS_PREFIX`)
  }
  for (const s of opts.settings) {
    // a setting the live replicas do not record (an older version) cannot be compared
    const theirs = live[s.name]
    if (theirs === undefined || theirs === s.value) continue
    throw new DeploymentMismatch(
      `REDIS_PREFIX "${opts.prefix}" is one deployment whose live replicas run with ${s.name}=${theirs}, but this one has ${s.name}=${s.value}. ` +
      'Replicas of one prefix draw each other\'s pages, so give this one the same settings, or another REDIS_PREFIX (e.g. for staging or a preview)',
    )
  }
  return 'joined'
}
