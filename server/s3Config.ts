// S3_* variables → S3Settings, validated with zod at start-up so a typo stops the proxy with one line
// naming the variable instead of failing at the first page.
import { z } from 'zod'
import { ConfigError, type Env } from './config.js'

/** Images in an S3-compatible bucket (S3_BUCKET set); see README "More than one replica". */
export interface S3Settings {
  bucket: string
  /** S3_ENDPOINT: an S3-compatible service (MinIO, Ceph, R2, COS, …); absent: AWS for the region */
  endpoint?: string
  region: string
  /** S3_ACCESS_KEY_ID + S3_SECRET_ACCESS_KEY; absent: the SDK's default chain (environment, IAM role) */
  credentials?: { accessKeyId: string; secretAccessKey: string }
  /** bucket in the path (http://host/bucket/key), as MinIO and most self-hosted stores want */
  forcePathStyle: boolean
  /** S3_PUBLIC_BASE_URL: clients are redirected to <base>/images/<key> (a CDN or public bucket) */
  publicBaseUrl?: string
}

const httpUrl = (name: string) => z.string().trim().refine(v => {
  try {
    const u = new URL(v)
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash
  } catch {
    return false
  }
}, `${name} must be an http(s) URL without query (e.g. https://s3.example.com)`).transform(v => v.replace(/\/+$/, ''))

const boolText = z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'S3_FORCE_PATH_STYLE must be true or false' })
  .transform(v => v === 'true' || v === '1' || v === 'yes')

const s3EnvSchema = z.object({
  // S3's bucket naming rules: 3–63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'S3_BUCKET must be a bucket name: 3–63 lower-case letters, digits, . or - (e.g. nano-banana-images)'),
  S3_ENDPOINT: httpUrl('S3_ENDPOINT').optional(),
  S3_REGION: z.string().regex(/^[a-z0-9-]{2,40}$/, 'S3_REGION must look like us-east-1 (self-hosted stores accept any, e.g. us-east-1)').optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: boolText.optional(),
  S3_PUBLIC_BASE_URL: httpUrl('S3_PUBLIC_BASE_URL').optional(),
}).refine(e => (e.S3_ACCESS_KEY_ID === undefined) === (e.S3_SECRET_ACCESS_KEY === undefined), {
  message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both, or neither (the SDK then uses its default credentials, e.g. an IAM role)',
  path: ['S3_SECRET_ACCESS_KEY'],
})

const S3_NAMES = ['S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_FORCE_PATH_STYLE', 'S3_PUBLIC_BASE_URL'] as const

/**
 * Reads S3_BUCKET and friends (empty counts as unset). Returns undefined when S3_BUCKET is unset;
 * throws ConfigError when another S3_* variable is set without it, or when one is invalid. With
 * S3_ENDPOINT the path style is the default (self-hosted stores); without it, AWS's virtual hosts.
 */
export function readS3Settings(env: Env): S3Settings | undefined {
  const raw: Record<string, string> = {}
  for (const name of ['S3_BUCKET', ...S3_NAMES]) {
    const v = env[name]?.trim()
    if (v) raw[name] = v
  }
  if (raw.S3_BUCKET === undefined) {
    const stray = S3_NAMES.filter(n => raw[n] !== undefined)
    if (stray.length) throw new ConfigError(`${stray.join(', ')} ${stray.length > 1 ? 'are' : 'is'} set but S3_BUCKET is not: set S3_BUCKET to keep images in S3, or unset ${stray.length > 1 ? 'them' : 'it'}`)
    return undefined
  }
  const parsed = s3EnvSchema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const name = String(issue.path[0] ?? 'S3_BUCKET')
    throw new ConfigError(issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`)
  }
  const e = parsed.data
  return {
    bucket: e.S3_BUCKET,
    ...(e.S3_ENDPOINT ? { endpoint: e.S3_ENDPOINT } : {}),
    region: e.S3_REGION ?? 'us-east-1',
    ...(e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY ? { credentials: { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY } } : {}),
    forcePathStyle: e.S3_FORCE_PATH_STYLE ?? e.S3_ENDPOINT !== undefined,
    ...(e.S3_PUBLIC_BASE_URL ? { publicBaseUrl: e.S3_PUBLIC_BASE_URL } : {}),
  }
}
