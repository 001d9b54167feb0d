// The start-up log's description of the set-up (server/engine/setup.ts describeSetUp): what a
// self-hoster checks after starting replicas — shared through which Redis and prefix, images where.
import { describe, expect, it } from 'vitest'
import { describeSetUp } from '../../server/engine/setup.js'

describe('describeSetUp', () => {
  it('one process: memory and DATA_DIR', () => {
    expect(describeSetUp({ dataDir: '/srv/nb', concurrency: 5 })).toEqual({
      shared: 'none: one process (memory and /srv/nb); 5 upstream calls at once',
      images: '/srv/nb/images',
    })
  })

  it('replicas: the Redis (never its password), the prefix, the bucket; a shared DATA_DIR is named as a requirement', () => {
    const redis = { url: 'redis://:s3cret-pass@redis.internal:6380/2', prefix: 'nb' }
    const withBucket = describeSetUp({ redis, dataDir: '/srv/nb', concurrency: 5, s3: { bucket: 'slides', endpoint: 'http://minio:9000', region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'AK', secretAccessKey: 'SK-secret' } } })
    expect(withBucket.shared).toBe('Redis redis://redis.internal:6380/2 prefix "nb": batch state, events and queue shared by every replica with this prefix; 5 upstream calls at once across all of them')
    expect(withBucket.images).toBe('S3 bucket slides at http://minio:9000')
    expect(JSON.stringify(withBucket)).not.toMatch(/s3cret|SK-secret/)
    expect(describeSetUp({ redis: { url: 'rediss://default:pw@cache.example:6379', prefix: 'x' }, dataDir: '/d', concurrency: 3 })).toEqual({
      shared: 'Redis rediss://cache.example:6379 prefix "x": batch state, events and queue shared by every replica with this prefix; 3 upstream calls at once across all of them',
      images: '/d/images (every replica must share this directory, or set S3_BUCKET)',
    })
  })
})
