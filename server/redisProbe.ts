// Start-up use of REDIS_URL (server/engine/deployment.ts): one connection, bounded in time. Without it a
// proxy whose Redis is down or mistyped neither listened nor exited: its connections retried for ever,
// logging a few lines a second (ioredis retries by design; BullMQ's connections must, with maxRetriesPerRequest: null).
import { Redis } from 'ioredis'

/** `host:port/db` of a Redis URL — never its password — for messages. */
export function redisAddress(url: string): string {
  try {
    const u = new URL(url)
    const db = u.pathname.replace(/^\//, '') || '0'
    return `${u.hostname}:${u.port || '6379'}/${db}`
  }
  catch {
    return '(an unreadable URL)'
  }
}

/**
 * Runs `work` on one connection to the Redis at `url` — one attempt, no retries, no offline queue — and
 * closes it. Rejects with an Error naming the address (no password) and the cause ("connect ECONNREFUSED …",
 * "WRONGPASS …", "no answer within 5 s") when the connection or a command of `work` fails or `timeoutMs`
 * (default 5,000 ms) passes.
 */
export async function withOneRedisConnection<T>(url: string, work: (redis: Redis) => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const redis = new Redis(url, {
    lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false,
    retryStrategy: () => null,
  })
  // the connection's own error says why ("connect ECONNREFUSED …"); connect() only rejects with
  // "Connection is closed." once retrying is given up
  let cause: Error | undefined
  redis.on('error', (err: Error) => {
    cause ??= err
  })
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs)
  })
  try {
    return await Promise.race([redis.connect().then(() => work(redis)), deadline])
  }
  catch (err) {
    const why = cause ?? (err instanceof Error ? err : new Error(String(err)))
    throw new Error(`REDIS_URL (${redisAddress(url)}) cannot be reached: ${why.message}`)
  }
  finally {
    clearTimeout(timer)
    redis.disconnect()
  }
}
