// Where a batch made from a .pptx keeps its deck, so GET …/batches/{id}/pptx can write the result.
// One JSON file per batch under DATA_DIR/decks/ (written to a temporary name, then renamed).
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { GenerationMode } from '../../plugin/types/api.js'
import type { Deck } from './deck.js'

export interface DeckRecord {
  deck: Deck
  /** the uploaded file's name, for the download's name */
  fileName: string
  mode: GenerationMode
  language: string
  /** page_number - 1 → the slide's 1-based index in the deck */
  pageSlides: number[]
}

export interface DeckStore {
  save(batchId: string, record: DeckRecord): Promise<void>
  /** null when the batch was not made from a .pptx (or is unknown) */
  load(batchId: string): Promise<DeckRecord | null>
  /** Retention: removes decks saved before `cutoffMs` (ms since the epoch); returns how many. */
  deleteOlderThan?(cutoffMs: number): Promise<number>
  /** releases connections (the S3 deck store's client) */
  close?(): void
}

const ID_RE = /^b_[a-f0-9]{24}$/

export function createFileDeckStore(dataDir: string): DeckStore {
  const dir = path.join(dataDir, 'decks')
  const file = (id: string) => {
    if (!ID_RE.test(id)) throw new Error(`not a batch id: ${id}`)
    return path.join(dir, `${id}.json`)
  }
  return {
    async save(batchId, record) {
      await mkdir(dir, { recursive: true })
      const target = file(batchId)
      const tmp = `${target}.${process.pid}.${Date.now()}.tmp`
      await writeFile(tmp, JSON.stringify(record))
      await rename(tmp, target)
    },
    async load(batchId) {
      if (!ID_RE.test(batchId)) return null
      try {
        return JSON.parse(await readFile(file(batchId), 'utf8')) as DeckRecord
      }
      catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
        throw err
      }
    },
    async deleteOlderThan(cutoffMs) {
      let removed = 0
      let names: string[]
      try {
        names = await readdir(dir)
      } catch {
        return 0 // no deck uploaded yet
      }
      for (const name of names) {
        if (!/^b_[a-f0-9]{24}\.json$/.test(name) && !name.endsWith('.tmp')) continue
        try {
          if ((await stat(path.join(dir, name))).mtimeMs >= cutoffMs) continue
          await rm(path.join(dir, name))
          removed++
        } catch { /* gone meanwhile */ }
      }
      return removed
    },
  }
}
