// Reference images sent along with a prompt: the template cover (style), page 1 of the batch
// (style_chain) and the previous image of a page being revised. All are downscaled to a JPEG of at
// most 1536 px on the long edge (upstream.md: keep references small); template covers are cached.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import type { SlideTemplate } from '../plugin/configs/nanoBananaTemplates.js'
import type { ReferenceImage } from './providers/types.js'

export const REFERENCE_MAX_EDGE = 1536

export async function toReference(bytes: Buffer, role: ReferenceImage['role']): Promise<ReferenceImage> {
  const jpeg = await sharp(bytes)
    .resize(REFERENCE_MAX_EDGE, REFERENCE_MAX_EDGE, { fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: 85 })
    .toBuffer()
  return { role, mime: 'image/jpeg', bytes: jpeg }
}

/** Resolves a catalogue path like `./imgs/nano_banana/x.png` inside publicDir, refusing anything outside it. */
export function publicAssetPath(publicDir: string, assetPath: string): string | null {
  const rel = assetPath.replace(/^\.?\/+/, '')
  const root = path.resolve(publicDir)
  const file = path.resolve(root, rel)
  if (!file.startsWith(root + path.sep)) return null
  return file
}

export class TemplateReferences {
  private readonly cache = new Map<string, Promise<ReferenceImage | null>>()

  constructor(private readonly publicDir: string, private readonly onMissing?: (template: SlideTemplate, reason: string) => void) {}

  /** The template's cover as a style reference, or null when the cover file is missing/unreadable. */
  get(template: SlideTemplate): Promise<ReferenceImage | null> {
    let hit = this.cache.get(template.id)
    if (!hit) {
      hit = this.load(template)
      this.cache.set(template.id, hit)
    }
    return hit
  }

  private async load(template: SlideTemplate): Promise<ReferenceImage | null> {
    const file = publicAssetPath(this.publicDir, template.cover)
    if (!file) {
      this.onMissing?.(template, 'cover path leaves the public folder')
      return null
    }
    try {
      return await toReference(await fs.readFile(file), 'template')
    } catch (err) {
      // not cached as a failure forever: a cover added later is picked up on the next batch
      this.cache.delete(template.id)
      this.onMissing?.(template, err instanceof Error ? err.message : String(err))
      return null
    }
  }
}
