// Image retention on disk (IMAGE_RETENTION_HOURS): an image is deleted a fixed time after it was
// stored, together with its variants (thumbnail, embed JPEG). The age is the original's, not the
// batch's: the duplicate-request cache can hand one image to several batches, so no single batch
// owns it (see StateStore cacheTtlMs for how a reused image is guaranteed to outlive its new batch).
import { promises as fs } from 'node:fs'
import path from 'node:path'

/** temp files (`*.tmp`) older than this are leftovers of a crash mid-write */
const TEMP_MAX_AGE_MS = 60 * 60_000
/** stat calls in flight at once while sweeping */
const STAT_PARALLEL = 64

const IMAGE_FILE_RE = /^([a-f0-9]{32})(\.thumb|\.embed)?\.(png|jpg)$/

export interface SweepOutcome {
  /** originals (`<id>.png|jpg`) removed */
  images: number
  /** files removed in all (originals, variants, stale temp files) */
  files: number
}

/**
 * Deletes from `dir` every image whose original was written before `cutoffMs` (ms since the epoch,
 * file mtime; images are written once) with its `.thumb.jpg` / `.embed.jpg` variants; a variant
 * without its original goes by its own mtime; `*.tmp` files older than an hour go too. Files it does
 * not recognise are left alone. A file that vanishes meanwhile is not an error.
 */
export async function sweepImageDir(dir: string, cutoffMs: number, now = Date.now()): Promise<SweepOutcome> {
  const names = await fs.readdir(dir)
  const groups = new Map<string, string[]>()
  const temps: string[] = []
  for (const name of names) {
    const m = IMAGE_FILE_RE.exec(name)
    if (m) {
      const g = groups.get(m[1])
      if (g) g.push(name)
      else groups.set(m[1], [name])
    } else if (name.endsWith('.tmp')) {
      temps.push(name)
    }
  }
  const mtimes = new Map<string, number>()
  const wanted = [...temps]
  for (const files of groups.values()) {
    const original = files.find(f => !f.includes('.thumb.') && !f.includes('.embed.'))
    if (original) wanted.push(original)
    else wanted.push(...files)
  }
  for (let i = 0; i < wanted.length; i += STAT_PARALLEL) {
    await Promise.all(wanted.slice(i, i + STAT_PARALLEL).map(async name => {
      try {
        mtimes.set(name, (await fs.stat(path.join(dir, name))).mtimeMs)
      } catch { /* gone meanwhile */ }
    }))
  }
  const doomed: string[] = temps.filter(t => (mtimes.get(t) ?? now) < now - TEMP_MAX_AGE_MS)
  let images = 0
  for (const files of groups.values()) {
    const original = files.find(f => !f.includes('.thumb.') && !f.includes('.embed.'))
    if (original) {
      if ((mtimes.get(original) ?? now) < cutoffMs) {
        doomed.push(...files)
        images++
      }
    } else {
      doomed.push(...files.filter(f => (mtimes.get(f) ?? now) < cutoffMs))
    }
  }
  let removed = 0
  for (let i = 0; i < doomed.length; i += STAT_PARALLEL) {
    await Promise.all(doomed.slice(i, i + STAT_PARALLEL).map(async name => {
      try {
        await fs.unlink(path.join(dir, name))
        removed++
      } catch { /* gone meanwhile */ }
    }))
  }
  return { images, files: removed }
}
