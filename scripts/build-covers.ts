// Builds every template cover (1376×768 PNG) and its selector thumbnail (480×270 JPEG) from the
// same drawing code the preview provider uses: `npm run covers`. Output is deterministic.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import { NANO_BANANA_TEMPLATES } from '../plugin/configs/nanoBananaTemplates.js'
import { defaultFontSet } from '../server/render/fonts.js'
import { layoutSlide, rasterize } from '../server/render/slide.js'
import { styleFor } from '../server/render/styles/index.js'
import { COVER_SAMPLES } from './covers/samples.js'

export const COVER_SIZE = { width: 1376, height: 768 }
export const THUMB_SIZE = { width: 480, height: 270 }

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const publicDir = join(root, 'public')

async function main() {
  const fonts = defaultFontSet()
  for (const role of ['sans', 'sansBold', 'sansBlack', 'serif', 'serifBold'] as const) fonts.get(role)
  console.log('fonts:', Object.entries(fonts.sources).map(([k, v]) => `${k}=${v}`).join(', '))
  for (const t of NANO_BANANA_TEMPLATES) {
    const sample = COVER_SAMPLES[t.id]
    if (!sample) throw new Error(`no cover sample text for ${t.id}`)
    const layout = layoutSlide(styleFor(t), {
      ...sample, pageType: 'content', pageNumber: 3, totalPages: 12, mode: 'full', language: 'zh',
    }, { ...COVER_SIZE, previewMark: false, fonts })
    const raw = await rasterize(layout)
    const png = await sharp(raw).png({ compressionLevel: 9, adaptiveFiltering: true }).toBuffer()
    const thumb = await sharp(raw).resize(THUMB_SIZE.width, THUMB_SIZE.height).jpeg({ quality: 82, mozjpeg: true }).toBuffer()
    const coverPath = join(publicDir, t.cover)
    const thumbPath = join(publicDir, t.thumbnail)
    mkdirSync(dirname(coverPath), { recursive: true })
    writeFileSync(coverPath, png)
    writeFileSync(thumbPath, thumb)
    console.log(`${t.id} ${t.name}: ${t.cover} (${Math.round(png.length / 1024)} KB), ${t.thumbnail} (${Math.round(thumb.length / 1024)} KB)`)
  }
}

await main()
