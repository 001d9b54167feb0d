// Batch state on disk, named so that start-up cost does not grow with history:
//   batches/<id>.json        a batch that is not finished (read at start-up, recovered)
//   batches/<id>.done.json   a finished batch (read only when asked for; swept after BATCH_RETENTION_HOURS,
//                            counted from the file's mtime = when it finished)
// A batch moves between the two names by writing the new one (atomically, durably) and then removing
// the old one. A crash in between leaves both: the one with the higher last_event_id wins (the other
// is removed when it is next read). Files from before the split are all `<id>.json`; start-up reads
// them once and renames the finished ones.
//
// Writes are coalesced per batch: one write at a time, only the newest state is written when several
// queue up, and the first waits `delayMs` so the burst of changes of pages finishing together (one
// upstream round) becomes one write instead of several.
import { promises as fs } from 'node:fs'
import path from 'node:path'

export const BATCH_ID_RE = /^b_[a-f0-9]{24}$/
const LIVE_RE = /^(b_[a-f0-9]{24})\.json$/
const DONE_RE = /^(b_[a-f0-9]{24})\.done\.json$/
const STAT_PARALLEL = 64

export interface FinishedBatchFile {
  id: string
  /** when the file last changed (ms since the epoch): when the batch finished */
  changedAt: number
}

export interface BatchFiles {
  /** finished: written as `<id>.done.json` (and `<id>.json` removed), else the other way round */
  save(id: string, state: unknown, finished: boolean): Promise<void>
  /** The batch's state (live or finished file), or null when there is none or it is damaged (reported through onDamaged). */
  load(id: string): Promise<unknown | null>
  /** ids of batches saved as not finished (and of every file from before the split) */
  liveIds(): Promise<string[]>
  /** renames `<id>.json` (holding a finished batch) to `<id>.done.json`; no fsync: after a crash it is simply renamed again */
  markFinished(id: string): Promise<void>
  finished(): Promise<FinishedBatchFile[]>
  remove(id: string): Promise<void>
}

/**
 * Writes the newest data per key with `writeFile` (an atomic write), one write at a time, after
 * `delayMs`; resolves when the data given (or newer) is written, rejects when that write failed.
 */
export function coalescingWriter(delayMs: number, writeFile: (file: string, data: string) => Promise<void>) {
  type Waiter = { resolve: () => void; reject: (e: unknown) => void }
  const pending = new Map<string, { file: string; data: string; after?: () => Promise<void>; waiters: Waiter[]; done: Promise<void> }>()
  return {
    /** `after` runs after each write of this file (the newest call's `after`). */
    write(key: string, file: string, data: string, after?: () => Promise<void>): Promise<void> {
      const entry = pending.get(key)
      if (entry) {
        entry.file = file
        entry.data = data
        entry.after = after
        return new Promise((resolve, reject) => entry.waiters.push({ resolve, reject }))
      }
      const e = { file, data, after, waiters: [] as Waiter[], done: Promise.resolve() }
      pending.set(key, e)
      e.done = (async () => {
        let last = ''
        let lastFile = ''
        try {
          // 0: the next turn of the loop, so that changes made in this one share the write
          await new Promise(resolve => (delayMs > 0 ? setTimeout(resolve, delayMs) : setImmediate(resolve)))
          while (e.data !== last || e.file !== lastFile) {
            last = e.data
            lastFile = e.file
            const then = e.after
            await writeFile(lastFile, last)
            await then?.()
          }
          for (const w of e.waiters) w.resolve()
        } catch (err) {
          for (const w of e.waiters) w.reject(err)
          throw err
        } finally {
          pending.delete(key)
        }
      })()
      return e.done
    },
    /** Resolves once the write queued for `key` (if any) is finished, whatever its outcome. */
    async settled(key: string): Promise<void> {
      await pending.get(key)?.done.catch(() => undefined)
    },
  }
}

export function createBatchFiles(dir: string, writer: ReturnType<typeof coalescingWriter>, onDamaged?: (file: string, reason: string) => void): BatchFiles {
  const live = (id: string) => path.join(dir, `${id}.json`)
  const done = (id: string) => path.join(dir, `${id}.done.json`)
  const check = (id: string) => {
    if (!BATCH_ID_RE.test(id)) throw new Error('invalid batch id')
  }
  const read = async (file: string): Promise<Record<string, unknown> | null> => {
    let text: string
    try {
      text = await fs.readFile(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      onDamaged?.(file, err instanceof Error ? err.message : String(err))
      return null
    }
    try {
      const parsed: unknown = JSON.parse(text)
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a batch object')
      return parsed as Record<string, unknown>
    } catch (err) {
      // a damaged file is skipped (and named) rather than blocking start-up or a request
      onDamaged?.(file, err instanceof Error ? err.message : String(err))
      return null
    }
  }
  const eventId = (s: Record<string, unknown>) => (typeof s.last_event_id === 'number' ? s.last_event_id : -1)
  const names = async (re: RegExp) => (await fs.readdir(dir)).flatMap(n => re.exec(n)?.[1] ?? [])

  return {
    async save(id, state, finished) {
      check(id)
      const [target, other] = finished ? [done(id), live(id)] : [live(id), done(id)]
      await writer.write(id, target, JSON.stringify(state), () => fs.rm(other, { force: true }))
    },

    async load(id) {
      check(id)
      await writer.settled(id)
      const [a, b] = await Promise.all([read(live(id)), read(done(id))])
      if (a && b) {
        // a crash between writing one name and removing the other: the newer state wins
        const [keep, drop] = eventId(b) > eventId(a) ? [b, live(id)] : [a, done(id)]
        await fs.rm(drop, { force: true }).catch(() => undefined)
        return keep
      }
      return a ?? b
    },

    liveIds: () => names(LIVE_RE),

    async markFinished(id) {
      check(id)
      await writer.settled(id)
      try {
        await fs.rename(live(id), done(id))
      } catch (err) {
        // already under the finished name (load() kept that one)
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      }
    },

    async finished() {
      const ids = await names(DONE_RE)
      const out: FinishedBatchFile[] = []
      for (let i = 0; i < ids.length; i += STAT_PARALLEL) {
        await Promise.all(ids.slice(i, i + STAT_PARALLEL).map(async id => {
          try {
            out.push({ id, changedAt: (await fs.stat(done(id))).mtimeMs })
          } catch { /* removed meanwhile */ }
        }))
      }
      return out
    },

    async remove(id) {
      check(id)
      await writer.settled(id)
      await Promise.all([fs.rm(live(id), { force: true }), fs.rm(done(id), { force: true })])
    },
  }
}
