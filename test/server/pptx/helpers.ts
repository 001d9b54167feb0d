// Decks made in tests with pptxgenjs, and the committed LibreOffice-made fixtures.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import PptxGenJS from 'pptxgenjs'

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'pptx')
export const fixture = (name: string): Buffer => readFileSync(path.join(FIXTURES, name))
export const LO_FIXTURES = ['lo-mixed-16x9.pptx', 'lo-text-4x3.pptx', 'lo-groups-4x3.pptx']

// 1×1 PNG, red
export const RED_PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=='

/** A 16:9 deck: cover (dark background), a two-column page with a picture, a table page, a chart page. */
export async function makeDeck(slides = 4): Promise<Buffer> {
  const pptx = new PptxGenJS()
  pptx.layout = 'LAYOUT_16x9'
  for (let i = 0; i < slides; i++) {
    const s = pptx.addSlide()
    const kind = i % 4
    if (kind === 0) {
      s.background = { color: '102040' }
      s.addText(`封面 Cover ${i + 1}`, { x: 0.5, y: 1.5, w: 9, h: 1.2, fontSize: 40, bold: true, color: 'FFFFFF' })
      s.addText('副标题 subtitle', { x: 0.5, y: 2.9, w: 9, h: 0.6, fontSize: 18, color: 'CCCCCC' })
    }
    else if (kind === 1) {
      s.addText(`Two columns ${i + 1}`, { x: 0.5, y: 0.3, w: 9, h: 0.8, fontSize: 32, bold: true, color: '222222' })
      s.addText([{ text: 'Left ', options: { bold: true } }, { text: 'column 左', options: { color: 'C00000' } }], { x: 0.5, y: 1.4, w: 4, h: 1, fontSize: 16, color: '333333' })
      s.addText('Right column 右', { x: 5.2, y: 1.4, w: 4, h: 1, fontSize: 16, color: '333333' })
      s.addImage({ data: RED_PNG, x: 5.2, y: 3, w: 1, h: 1 })
    }
    else if (kind === 2) {
      s.addText(`Table ${i + 1}`, { x: 0.5, y: 0.3, w: 9, h: 0.8, fontSize: 30, color: '000000' })
      s.addTable([[{ text: 'Name' }, { text: '分数' }], [{ text: 'Ann' }, { text: '90' }]], { x: 0.5, y: 1.4, w: 5 })
    }
    else {
      s.addText(`Chart ${i + 1}`, { x: 0.5, y: 0.3, w: 9, h: 0.8, fontSize: 30, color: '000000' })
      s.addChart(pptx.ChartType.line, [{ name: 'Users', labels: ['Jan', 'Feb'], values: [5, 8] }], { x: 0.5, y: 1.4, w: 6, h: 3, showTitle: true, title: 'Growth 增长' })
    }
    s.addNotes(`Notes for slide ${i + 1} 备注`)
  }
  return await pptx.write({ outputType: 'nodebuffer' }) as Buffer
}
