// Contact sheets of the offline preview: 12 templates × 5 page types, in full and in background mode,
// drawn from the demo's sample deck (a maths lesson with a table, steps, two columns and a practice
// list) as the extension would send it. `npm run contact-sheet` → test/artifacts/contact-sheet-*.png.
// Rows are templates; the content column cycles through the deck's four content pages, so the sheet
// also shows how illustrations vary. Background mode sends the slides' text boxes.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp, { type OverlayOptions } from 'sharp'
import { NANO_BANANA_TEMPLATES } from '../plugin/configs/nanoBananaTemplates.js'
import { slideToPageInput } from '../plugin/host/extractText.js'
import type { Slide as HostSlide } from '../plugin/host/types.js'
import type { PageInput, TextBoxRect } from '../plugin/types/api.js'
import { defaultFontSet } from '../server/render/fonts.js'
import { layoutSlide, rasterize } from '../server/render/slide.js'
import { styleFor } from '../server/render/styles/index.js'
import { createSampleDeck, sampleDeckTitle } from '../src/mocks/sampleDeck.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = join(root, 'test', 'artifacts')
const CELL = { width: 688, height: 384 }
const GAP = 8
const LABEL_W = 150

/** PPTist's canvas is 1000 × 562.5: text elements' boxes as fractions of the slide. */
function textBoxes(slide: ReturnType<typeof createSampleDeck>[number]): TextBoxRect[] {
  return slide.elements
    .filter(e => e.type === 'text' || (e.type === 'shape' && 'text' in e && e.text?.content) || e.type === 'table')
    .map(e => ({ x: e.left / 1000, y: e.top / 562.5, w: e.width / 1000, h: (('height' in e && typeof e.height === 'number') ? e.height : 40) / 562.5 }))
    .map(b => ({ x: Math.max(0, b.x), y: Math.max(0, b.y), w: Math.min(b.w, 1 - Math.max(0, b.x)), h: Math.min(b.h, 1 - Math.max(0, b.y)) }))
}

async function main() {
  const fonts = defaultFontSet()
  const deck = createSampleDeck()
  const pages = deck.map(s => ({ input: slideToPageInput(s as unknown as HostSlide), boxes: textBoxes(s) }))
  const byType = (t: PageInput['page_type']) => pages.filter(p => p.input.page_type === t)
  const contents = byType('content')
  mkdirSync(outDir, { recursive: true })
  for (const mode of ['full', 'background'] as const) {
    const cols = ['cover', 'contents', 'transition', 'content', 'end'] as const
    const width = LABEL_W + cols.length * (CELL.width + GAP)
    const height = NANO_BANANA_TEMPLATES.length * (CELL.height + GAP)
    const composites: OverlayOptions[] = []
    for (const [row, t] of NANO_BANANA_TEMPLATES.entries()) {
      for (const [col, type] of cols.entries()) {
        const p = type === 'content' ? contents[row % contents.length] : byType(type)[0]
        const n = pages.indexOf(p)
        const layout = layoutSlide(styleFor(t), {
          pageType: type, title: p.input.title, content: p.input.content, deckTitle: sampleDeckTitle,
          pageNumber: n + 1, totalPages: pages.length, mode, language: 'zh',
          ...(mode === 'background' ? { textBoxes: p.boxes } : {}),
        }, { width: 1376, height: 768, previewMark: true, fonts })
        const png = await sharp(await rasterize(layout, 'png', null)).resize(CELL.width, CELL.height).png().toBuffer()
        composites.push({ input: png, left: LABEL_W + col * (CELL.width + GAP), top: row * (CELL.height + GAP) })
      }
      const label = `<svg xmlns="http://www.w3.org/2000/svg" width="${LABEL_W}" height="${CELL.height}"><text x="10" y="40" font-family="sans-serif" font-size="22" fill="#111">${t.id.replace('nano_banana_', '#')}</text></svg>`
      composites.push({ input: Buffer.from(label), left: 0, top: row * (CELL.height + GAP) })
    }
    const file = join(outDir, `contact-sheet-${mode}.png`)
    await sharp({ create: { width, height, channels: 3, background: '#d4d4d8' } }).composite(composites).png({ compressionLevel: 6 }).toFile(file)
    console.log(`${file} (${width}×${height})`)
  }
}

await main()
