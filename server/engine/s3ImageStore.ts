// Images in an S3-compatible bucket (S3_BUCKET): objects `images/<key>` with their type and a
// one-year immutable Cache-Control (keys are random and never rewritten), so a CDN in front of the
// bucket (S3_PUBLIC_BASE_URL) serves them as the proxy would. Every replica reads and writes the same
// bucket; the record of which image belongs to which page stays in the state store.
//
// Durability: saveImage() resolves only after PutObject answered 200 (S3 acknowledges a PUT once the
// object is stored), so a page is never reported completed before its image is in the bucket.
// The variants are made as the disk store makes them (server/imageVariants.ts: the embed JPEG from the
// one full decode, started alongside the image's PUT, the thumbnail from that JPEG, on the shared
// image-work queue) and PUT next to the image once it is stored; the image's bytes are held until then
// (there is no local file to read back). A missing variant is made on request from the image.
// "Being made" is known per replica only, so a variant asked of another replica (the editor fetches a
// page's thumbnail as its event arrives, through any replica) is not made there while its image is
// fresh — stored less than `variantGraceMs` ago by S3's LastModified: the replica that stored it is
// making it. The thumbnail answers not_ready meanwhile, an embed waits for it; past the grace (that
// replica died) the asking replica makes it.
import { Readable } from 'node:stream'
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3'
import type { ImageMime } from '../providers/types.js'
import type { ReadinessCheck } from '../probes.js'
import type { S3Settings } from '../s3Config.js'
import { prepareImage } from '../imageCheck.js'
import { isVariantKey, makeVariant, makeVariants, type ThumbnailOutcome, type VariantTarget } from '../imageVariants.js'
import { IMAGE_KEY_RE, type StoredImage } from '../storage.js'
import { ImageStoreError, type ImageStore, type OpenedImage } from './imageStore.js'

const CACHE_CONTROL = 'public, max-age=31536000, immutable'
const OBJECT_PREFIX = 'images/'

export interface S3ImageStoreOptions {
  settings: S3Settings
  /** thumbnail size (IMAGE_THUMBNAIL_SIZE) */
  thumbnail: { width: number; height: number }
  /** per S3 request, ms (default 30 s; the SDK retries 3 times with its own backoff) */
  requestTimeoutMs?: number
  /** how long after an image was stored a missing variant is left to the replica that stored it (default 15 s) */
  variantGraceMs?: number
  /** how often a variant left to another replica is looked for meanwhile (default 250 ms) */
  variantPollMs?: number
}

function mimeOfKey(key: string): ImageMime {
  return key.endsWith('.png') ? 'image/png' : 'image/jpeg'
}

/** S3 answers a missing object with 404 (NotFound on HEAD, NoSuchKey on GET). */
function isNotFound(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
  return err.name === 'NotFound' || err.name === 'NoSuchKey' || status === 404
}

type Sdk = typeof import('@aws-sdk/client-s3')
let sdkLoading: Promise<Sdk> | undefined
/** The SDK is loaded on first use (1–2 s of start-up that a proxy without S3_BUCKET does not pay). */
export function loadS3Sdk(): Promise<Sdk> {
  sdkLoading ??= import('@aws-sdk/client-s3')
  return sdkLoading
}

/** Builds the SDK client: path style and checksums as self-hosted stores expect. */
export async function createS3Client(settings: S3Settings, requestTimeoutMs = 30_000): Promise<S3Client> {
  const { S3Client } = await loadS3Sdk()
  const config: S3ClientConfig = {
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    requestHandler: { connectionTimeout: 5000, requestTimeout: requestTimeoutMs },
    // the SDK's default since 3.729 adds CRC32 checksums to every PUT and checks them on GET; several
    // S3-compatible stores (older MinIO, Ceph RGW, COS) reject or lack them, so only when an operation requires it
    ...(settings.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
  }
  return new S3Client(config)
}

export class S3ImageStore implements ImageStore {
  readonly readiness: ReadinessCheck[]
  private started?: Promise<{ client: S3Client; sdk: Sdk }>
  private readonly bucket: string
  /** variants being made here, by key: a request for one waits instead of making it again */
  private readonly variantsInProgress = new Map<string, Promise<ThumbnailOutcome>>()
  private readonly variantTarget: VariantTarget

  constructor(private readonly opts: S3ImageStoreOptions) {
    this.bucket = opts.settings.bucket
    this.variantTarget = { thumbnail: opts.thumbnail, put: (key, jpeg) => this.put(key, jpeg, 'image/jpeg') }
    this.readiness = [{
      name: 's3',
      check: async () => {
        try {
          const { client, sdk } = await this.start()
          await client.send(new sdk.HeadBucketCommand({ Bucket: this.bucket }))
        } catch (err) {
          const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
          const why = status === 404 ? 'does not exist' : status === 403 ? 'is not accessible with these credentials (403)' : `cannot be reached (${err instanceof Error ? err.message || err.name : String(err)})`
          throw new Error(`bucket ${this.bucket} ${why}`)
        }
      },
    }]
  }

  /** Loads the SDK and makes the client (engine.init() calls it; every method waits for it). */
  start(): Promise<{ client: S3Client; sdk: Sdk }> {
    this.started ??= Promise.all([createS3Client(this.opts.settings, this.opts.requestTimeoutMs), loadS3Sdk()]).then(([client, sdk]) => ({ client, sdk }))
    return this.started
  }

  async saveImage(input: Buffer): Promise<StoredImage> {
    const { bytes, mime, width, height, imageKey, thumbnailKey } = await prepareImage(input)
    const id = imageKey.slice(0, 32)
    // durable before the page may be reported completed: PutObject answers 200 once S3 stored it
    const stored = this.put(imageKey, bytes, mime)
    // the variants' decode runs alongside the PUT; they are PUT only once the image is stored
    const jobs = makeVariants(id, { bytes, storedAt: bytes }, stored, this.variantTarget)
    this.track(`${id}.embed.jpg`, jobs.embed)
    this.track(thumbnailKey, jobs.thumbnail)
    try {
      await stored
    } catch (err) {
      throw new ImageStoreError(`The image could not be stored in the S3 bucket ${this.bucket} (${err instanceof Error ? err.message || err.name : String(err)}); try the page again later`, { cause: err })
    }
    return { imageKey, thumbnailKey, mime, width, height, thumbnail: jobs.thumbnail, inputHeld: jobs.released }
  }

  async resolveImage(key: string): Promise<{ mime: ImageMime; size: number } | null> {
    if (!IMAGE_KEY_RE.test(key)) return null
    if (isVariantKey(key)) await this.ensureVariant(key)
    const found = await this.head(key)
    return found && { mime: found.mime, size: found.size }
  }

  async readImage(key: string): Promise<Buffer | null> {
    const opened = await this.openImage(key)
    if (!opened || !('stream' in opened)) return null
    const chunks: Buffer[] = []
    for await (const chunk of opened.stream) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks)
  }

  /** GetObject's body as a Node stream (not buffered); null for anything not stored. */
  async openImage(key: string): Promise<OpenedImage | null> {
    if (!IMAGE_KEY_RE.test(key)) return null
    if (isVariantKey(key)) await this.ensureVariant(key)
    const { client, sdk } = await this.start()
    try {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: OBJECT_PREFIX + key }))
      if (!(out.Body instanceof Readable)) throw new Error('S3 answered GetObject without a body stream')
      return { mime: mimeOfKey(key), size: out.ContentLength ?? 0, stream: out.Body }
    } catch (err) {
      if (isNotFound(err)) return null
      throw err
    }
  }

  /**
   * Retention: lists `images/` (ListObjectsV2, 1,000 keys a page) and deletes every image whose
   * LastModified is before `cutoffMs` with its variants (which go by their original's age), and
   * old variants left without an original, with DeleteObjects (≤ 1,000 keys a call). Deleting a key that
   * another replica deleted meanwhile is no error in S3. Returns how many images (originals) went.
   * A bucket lifecycle rule (Expiration) does the same work inside S3; this keeps one setting for both stores.
   */
  async deleteOlderThan(cutoffMs: number): Promise<number> {
    const { client, sdk } = await this.start()
    const originals = new Map<string, { key: string; old: boolean }>()
    const variants: Array<{ id: string; key: string; old: boolean }> = []
    let token: string | undefined
    do {
      const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: OBJECT_PREFIX, ContinuationToken: token }))
      for (const o of page.Contents ?? []) {
        const key = o.Key?.slice(OBJECT_PREFIX.length) ?? ''
        if (!IMAGE_KEY_RE.test(key)) continue
        const id = key.slice(0, 32)
        const old = (o.LastModified?.getTime() ?? Infinity) < cutoffMs
        if (isVariantKey(key)) variants.push({ id, key, old })
        else originals.set(id, { key, old })
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    const doomed: string[] = []
    let images = 0
    for (const o of originals.values()) {
      if (!o.old) continue
      doomed.push(o.key)
      images++
    }
    for (const v of variants) {
      const original = originals.get(v.id)
      // a variant without its original is debris once it is old itself (its original may have been
      // stored after the listing passed its key)
      if (original ? original.old : v.old) doomed.push(v.key)
    }
    for (let i = 0; i < doomed.length; i += 1000) {
      const chunk = doomed.slice(i, i + 1000)
      const out = await client.send(new sdk.DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: chunk.map(k => ({ Key: OBJECT_PREFIX + k })), Quiet: true } }))
      const failed = (out.Errors ?? []).filter(e => e.Code !== 'NoSuchKey')
      if (failed.length) throw new ImageStoreError(`S3 did not delete ${failed.length} expired object(s), e.g. ${failed[0].Key}: ${failed[0].Code ?? ''} ${failed[0].Message ?? ''}`.trim())
    }
    return images
  }

  publicUrl(key: string): string | null {
    const base = this.opts.settings.publicBaseUrl
    return base ? `${base}/${OBJECT_PREFIX}${key}` : null
  }

  close(): void {
    void this.started?.then(({ client }) => client.destroy())
  }

  private async put(key: string, body: Buffer, mime: ImageMime): Promise<void> {
    const { client, sdk } = await this.start()
    await client.send(new sdk.PutObjectCommand({
      Bucket: this.bucket, Key: OBJECT_PREFIX + key, Body: body, ContentType: mime, ContentLength: body.length, CacheControl: CACHE_CONTROL,
    }))
  }

  private async head(key: string): Promise<{ mime: ImageMime; size: number; storedAt: number } | null> {
    const { client, sdk } = await this.start()
    try {
      const out = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: OBJECT_PREFIX + key }))
      return { mime: mimeOfKey(key), size: out.ContentLength ?? 0, storedAt: out.LastModified?.getTime() ?? 0 }
    } catch (err) {
      if (isNotFound(err)) return null
      throw err
    }
  }

  /** Registers a variant being made, so requests for it wait (embed) or are answered not_ready (thumbnail). */
  private track(key: string, running: Promise<ThumbnailOutcome>): void {
    this.variantsInProgress.set(key, running)
    void running.finally(() => {
      if (this.variantsInProgress.get(key) === running) this.variantsInProgress.delete(key)
    })
  }

  /** One variant, asked for while missing (ahead of the variants made after each page). */
  private makeVariant(variantKey: string, source: Buffer): Promise<ThumbnailOutcome> {
    const running = makeVariant(variantKey, source, this.variantTarget)
    this.track(variantKey, running)
    return running
  }

  /** Without waiting: stored, being made here (started now from the image when missing), or impossible. */
  private async variantState(variantKey: string): Promise<{ state: 'ready' | 'missing' } | { state: 'making'; done: Promise<ThumbnailOutcome> }> {
    const inProgress = this.variantsInProgress.get(variantKey)
    if (inProgress) return { state: 'making', done: inProgress }
    if (await this.head(variantKey)) return { state: 'ready' }
    const id = variantKey.slice(0, 32)
    for (const ext of ['png', 'jpg']) {
      const original = await this.head(`${id}.${ext}`)
      if (!original) continue
      // stored a moment ago: the replica that stored it is making it (this one waits for it, then
      // makes it itself if it is still missing at the end of the grace)
      const graceEnd = original.storedAt + (this.opts.variantGraceMs ?? 15_000)
      if (Date.now() < graceEnd && !this.variantsInProgress.has(variantKey)) this.track(variantKey, this.awaitVariant(variantKey, `${id}.${ext}`, graceEnd))
      const inProgress = this.variantsInProgress.get(variantKey)
      if (inProgress) return { state: 'making', done: inProgress }
      const source = await this.readImage(`${id}.${ext}`)
      if (!source) continue
      // another request may have started it while this one asked S3
      return { state: 'making', done: this.variantsInProgress.get(variantKey) ?? this.makeVariant(variantKey, source) }
    }
    return { state: 'missing' }
  }

  /** Waits for another replica to store a variant until graceEnd (ms since the epoch), then makes it from the image. */
  private async awaitVariant(variantKey: string, imageKey: string, graceEnd: number): Promise<ThumbnailOutcome> {
    const started = Date.now()
    const failed = (error: string): ThumbnailOutcome => ({ ok: false, readyMs: Date.now() - started, workMs: 0, from: 'stored', error })
    try {
      while (Date.now() < graceEnd) {
        await new Promise(resolve => setTimeout(resolve, Math.min(this.opts.variantPollMs ?? 250, Math.max(1, graceEnd - Date.now()))))
        if (await this.head(variantKey)) return { ok: true, readyMs: Date.now() - started, workMs: 0, from: 'stored' }
      }
      const source = await this.readImage(imageKey)
      if (!source) return failed('the image is gone')
      return await makeVariant(variantKey, source, this.variantTarget)
    } catch (err) {
      // as makeVariant: an outcome, never a rejection (the request that waits asks S3 again)
      return failed(err instanceof Error ? err.message : String(err))
    }
  }

  async variantReady(key: string): Promise<'ready' | 'making' | 'missing'> {
    if (!IMAGE_KEY_RE.test(key) || !isVariantKey(key)) return 'missing'
    return (await this.variantState(key)).state
  }

  /** A variant being made is waited for; a missing one is made from the image. */
  private async ensureVariant(variantKey: string): Promise<void> {
    const v = await this.variantState(variantKey)
    if (v.state === 'making') await v.done
  }
}
