// Decks of batches made from a .pptx (GET …/batches/{id}/pptx) in the S3 bucket when S3_BUCKET is set:
// one JSON object `decks/<batch_id>.json` per batch, so the replica asked for the download need not be
// the one that took the upload (with DATA_DIR/decks/ per replica it answered 404 no_deck). Same
// DeckStore as server/pptx/store.ts; retention lists `decks/` and deletes by LastModified.
import type { S3Settings } from '../s3Config.js'
import type { DeckRecord, DeckStore } from '../pptx/store.js'
import { createS3Client, loadS3Sdk } from './s3ImageStore.js'

const ID_RE = /^b_[a-f0-9]{24}$/
const PREFIX = 'decks/'

/** A DeckStore on the bucket of `settings` (the client is made on first use). */
export function createS3DeckStore(settings: S3Settings): DeckStore & { close(): void } {
  let started: Promise<{ client: Awaited<ReturnType<typeof createS3Client>>; sdk: Awaited<ReturnType<typeof loadS3Sdk>> }> | undefined
  const start = () => (started ??= Promise.all([createS3Client(settings), loadS3Sdk()]).then(([client, sdk]) => ({ client, sdk })))
  const key = (id: string) => {
    if (!ID_RE.test(id)) throw new Error(`not a batch id: ${id}`)
    return `${PREFIX}${id}.json`
  }
  return {
    async save(batchId, record) {
      const { client, sdk } = await start()
      const body = Buffer.from(JSON.stringify(record))
      // PutObject answers 200 once the object is stored (the batch is created after this)
      await client.send(new sdk.PutObjectCommand({ Bucket: settings.bucket, Key: key(batchId), Body: body, ContentType: 'application/json', ContentLength: body.length }))
    },
    async load(batchId) {
      if (!ID_RE.test(batchId)) return null
      const { client, sdk } = await start()
      try {
        const out = await client.send(new sdk.GetObjectCommand({ Bucket: settings.bucket, Key: key(batchId) }))
        return JSON.parse(await out.Body!.transformToString('utf8')) as DeckRecord
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
        if ((err as Error).name === 'NoSuchKey' || status === 404) return null
        throw err
      }
    },
    async deleteOlderThan(cutoffMs) {
      const { client, sdk } = await start()
      const doomed: string[] = []
      let token: string | undefined
      do {
        const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: settings.bucket, Prefix: PREFIX, ContinuationToken: token }))
        for (const o of page.Contents ?? []) if (o.Key && (o.LastModified?.getTime() ?? Infinity) < cutoffMs) doomed.push(o.Key)
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
      for (let i = 0; i < doomed.length; i += 1000) {
        await client.send(new sdk.DeleteObjectsCommand({ Bucket: settings.bucket, Delete: { Objects: doomed.slice(i, i + 1000).map(k => ({ Key: k })), Quiet: true } }))
      }
      return doomed.length
    },
    close() {
      void started?.then(({ client }) => client.destroy())
    },
  }
}
