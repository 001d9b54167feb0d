// Retention: finished batches expire BATCH_RETENTION_HOURS after they finished, images
// IMAGE_RETENTION_HOURS after they were made. A periodic sweep in every process asks the state store
// (memory + disk: deletes expired batch files; Redis: nothing, its records carry TTLs) and the image
// store (disk files, or the S3 store's own way) to remove what is past its time. Sweeps of several
// replicas may overlap; every removal tolerates the thing being gone already.
//
// Why an image's age and not its batch: the duplicate cache can hand one image to several batches.
// The guarantee that a batch never lists an image that is already gone comes from two rules:
// IMAGE_RETENTION ≥ BATCH_RETENTION (config), and the cache reuses an image only while it is younger
// than IMAGE_RETENTION − BATCH_RETENTION (cacheTtlMs below), so it outlives the batch it joins.
import type { Logger } from '../logger.js'
import type { ImageStore } from './imageStore.js'
import type { StateStore } from './stateStore.js'

export const HOUR_MS = 3_600_000

export interface RetentionSettings {
  /** ms; 0: finished batches are kept forever */
  batchMs: number
  /** ms; 0: images are kept forever */
  imageMs: number
}

/**
 * How long a duplicate-cache entry may be reused (ms), or undefined for always (images kept
 * forever). 0 when both retentions are equal: then nothing is reused.
 */
export function cacheTtlMs(r: RetentionSettings): number | undefined {
  if (r.imageMs === 0) return undefined
  return Math.max(0, r.imageMs - r.batchMs)
}

export interface RetentionSweeperOptions extends RetentionSettings {
  store: Pick<StateStore, 'sweepExpired'>
  images: Pick<ImageStore, 'deleteOlderThan'>
  logger: Logger
  /** more things removed by the image cutoff (e.g. uploaded decks); each returns how many it removed */
  extra?: ReadonlyArray<(cutoffMs: number) => Promise<number>>
  now?: () => number
  /** between sweeps (default 10 min) */
  intervalMs?: number
  /** before the first sweep (default 1 min: start-up is not slowed by it) */
  firstDelayMs?: number
}

export interface SweepResult {
  batches: number
  images: number
  extra: number
}

export class RetentionSweeper {
  private timer: NodeJS.Timeout | null = null
  private running: Promise<SweepResult> | null = null
  private readonly now: () => number

  constructor(private readonly opts: RetentionSweeperOptions) {
    this.now = opts.now ?? Date.now
  }

  /** Schedules the sweeps (nothing when everything is kept forever). */
  start(): void {
    if (this.timer || (this.opts.batchMs === 0 && this.opts.imageMs === 0)) return
    const tick = (delay: number) => {
      this.timer = setTimeout(() => {
        void this.sweep().finally(() => { if (this.timer) tick(this.opts.intervalMs ?? 10 * 60_000) })
      }, delay)
      this.timer.unref?.()
    }
    tick(this.opts.firstDelayMs ?? 60_000)
  }

  /** One sweep now (a sweep already running is joined, not doubled). Never rejects: failures are logged. */
  sweep(): Promise<SweepResult> {
    this.running ??= this.run().finally(() => { this.running = null })
    return this.running
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.running
  }

  private async run(): Promise<SweepResult> {
    const now = this.now()
    const out: SweepResult = { batches: 0, images: 0, extra: 0 }
    const attempt = async (what: string, fn: () => Promise<number>) => {
      try {
        return await fn()
      } catch (err) {
        this.opts.logger.warn('retention sweep failed', { what, error: err instanceof Error ? err.message : String(err) })
        return 0
      }
    }
    if (this.opts.batchMs > 0) out.batches = await attempt('batches', async () => (await this.opts.store.sweepExpired(now - this.opts.batchMs)).length)
    if (this.opts.imageMs > 0) {
      const cutoff = now - this.opts.imageMs
      out.images = await attempt('images', () => this.opts.images.deleteOlderThan(cutoff))
      for (const fn of this.opts.extra ?? []) out.extra += await attempt('extra', () => fn(cutoff))
    }
    if (out.batches || out.images || out.extra) this.opts.logger.info('retention sweep', { expired_batches: out.batches, expired_images: out.images, expired_other: out.extra })
    return out
  }
}
