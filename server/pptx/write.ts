// Writes a Deck back to .pptx with pptxgenjs (the library PPTist exports with). A slide with a
// generated image gets it as its full-slide background; the others keep their original look (background,
// pictures, text boxes, tables, charts re-created). Speaker notes are always kept.
//   full:       the image carries the text; the slide's own text is appended to the notes (as the extension does).
//   background: the text boxes, tables, charts and pictures are re-created on top as real, editable
//               objects at their positions and sizes; text colours that would not read against the image
//               under their box (WCAG AA against the worst region) switch to near-black, white or black (the
//               extension's rule, plugin/host/readableText.ts; no scrim here).
import PptxGenJS from 'pptxgenjs'
import sharp from 'sharp'
import { regionsUnder, type ImagePixels } from '../../plugin/composables/useImageLuminance.js'
import { readableColorOver } from '../../plugin/host/readableText.js'
import type { GenerationMode } from '../../plugin/types/api.js'
import type { Deck, DeckChart, DeckParagraph, DeckSlide, DeckTextBox } from './deck.js'

export interface RenderedImage {
  data: Buffer
  /** image/png or image/jpeg */
  mime: string
}

export interface WriteDeckOptions {
  mode: GenerationMode
  /** generated images by slide index (1-based); slides without one keep their original look */
  images: Map<number, RenderedImage>
  /** language of the notes header in full mode; default: Chinese when the deck's text is mostly CJK */
  language?: 'zh' | 'en'
  title?: string
}

// The extension's words (plugin/i18n/messages.ts, remarkHeader), so both paths read the same.
const REMARK_HEADER = {
  zh: '— Nano Banana：原页面文字（整页生成前）—',
  en: '— Nano Banana: original slide text (before full-slide generation) —',
}

const PT_PER_INCH = 72
const inch = (pt: number) => Math.round(pt / PT_PER_INCH * 10_000) / 10_000
const hex = (color: string) => color.replace(/^#/, '').toUpperCase()

function deckLanguage(deck: Deck): 'zh' | 'en' {
  const text = deck.slides.map(s => `${s.title}${s.content}`).join('')
  const cjk = (text.match(/[\u3400-\u9fff\uf900-\ufaff]/g) ?? []).length
  const latin = (text.match(/[A-Za-z]/g) ?? []).length
  return cjk * 2 >= latin ? 'zh' : 'en'
}

/** The notes of a written slide: the original notes, plus in full mode the slide's text under a header. */
export function slideNotes(slide: DeckSlide, mode: GenerationMode, rendered: boolean, language: 'zh' | 'en'): string {
  if (mode !== 'full' || !rendered) return slide.notes
  const lines = [slide.title, ...slide.content.split('\n')].filter(Boolean)
  if (!lines.length) return slide.notes
  return [slide.notes, [REMARK_HEADER[language], ...lines].join('\n')].filter(Boolean).join('\n\n')
}

async function pixelsOf(image: Buffer): Promise<ImagePixels> {
  const { data, info } = await sharp(image).resize({ width: 640, withoutEnlargement: true }).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  return { data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height }
}

type TextRun = PptxGenJS.TextProps

/** `recolor(color, sizePt, bold)` adapts a run's colour (size in points, 0 when the run names none) */
type Recolor = (color: string, sizePt: number, bold: boolean) => string

function runsOf(paragraphs: DeckParagraph[], recolor: Recolor): TextRun[] {
  const runs: TextRun[] = []
  const kept = paragraphs.filter(p => p.runs.some(r => r.text.trim()))
  kept.forEach((p, pi) => {
    p.runs.forEach((r, ri) => {
      const last = ri === p.runs.length - 1 && pi < kept.length - 1
      runs.push({
        text: r.text,
        options: {
          ...(r.bold ? { bold: true } : {}),
          ...(r.italic ? { italic: true } : {}),
          ...(r.underline ? { underline: { style: 'sng' } } : {}),
          color: hex(recolor(r.color ?? '#000000', r.fontSize ?? 0, !!r.bold)),
          ...(r.fontSize ? { fontSize: r.fontSize } : {}),
          ...(r.fontFace ? { fontFace: r.fontFace } : {}),
          ...(p.align ? { align: p.align } : {}),
          ...(p.bullet ? { bullet: true } : {}),
          ...(last ? { breakLine: true } : {}),
        },
      })
    })
  })
  return runs
}

function addTextBox(slide: PptxGenJS.Slide, box: DeckTextBox, recolor: Recolor): void {
  slide.addText(runsOf(box.paragraphs, recolor), {
    x: inch(box.x), y: inch(box.y), w: inch(box.w), h: inch(box.h),
    valign: box.valign,
    ...(box.rotate ? { rotate: box.rotate } : {}),
    ...(box.fill ? { fill: { color: hex(box.fill) } } : {}),
    objectName: box.isTitle ? 'Title' : 'Text',
  })
}

const CHART_TYPES: Record<string, PptxGenJS.CHART_NAME> = {
  barChart: 'bar', bar3DChart: 'bar3D', lineChart: 'line', line3DChart: 'line', pieChart: 'pie', pie3DChart: 'pie',
  doughnutChart: 'doughnut', areaChart: 'area', area3DChart: 'area', radarChart: 'radar', scatterChart: 'scatter',
}

function addChart(pptx: PptxGenJS, slide: PptxGenJS.Slide, chart: DeckChart, textColor: string | null): void {
  if (!chart.series.length) return
  const type = CHART_TYPES[chart.type] ?? 'bar'
  const data = chart.series.map(s => ({ name: s.name, labels: chart.labels, values: s.values }))
  const color = textColor ? hex(textColor) : undefined
  slide.addChart(pptx.ChartType[type as keyof typeof pptx.ChartType] as PptxGenJS.CHART_NAME, data, {
    x: inch(chart.x), y: inch(chart.y), w: inch(chart.w), h: inch(chart.h),
    ...(chart.title ? { showTitle: true, title: chart.title, ...(color ? { titleColor: color } : {}) } : {}),
    showLegend: chart.series.length > 1,
    ...(color ? { catAxisLabelColor: color, valAxisLabelColor: color, legendColor: color } : {}),
  })
}

/** The original look of a slide's objects; `recolor` adapts text colours to a new background. */
function addObjects(pptx: PptxGenJS, slide: PptxGenJS.Slide, s: DeckSlide, recolorAt: ((box: { x: number; y: number; w: number; h: number }, color: string, sizePt?: number, bold?: boolean) => string) | null): void {
  for (const p of s.pictures) slide.addImage({ data: p.data, x: inch(p.x), y: inch(p.y), w: inch(p.w), h: inch(p.h) })
  for (const t of s.tables) {
    if (!t.rows.length) continue
    const color = recolorAt ? recolorAt(t, '#000000', 14) : '#000000'
    slide.addTable(t.rows.map(r => r.map(text => ({ text }))), {
      x: inch(t.x), y: inch(t.y), w: inch(t.w), color: hex(color), fontSize: 14,
      border: { type: 'solid', pt: 0.75, color: hex(color) },
    })
  }
  for (const c of s.charts) addChart(pptx, slide, c, recolorAt ? recolorAt(c, '#333333') : null)
  for (const box of s.textBoxes) {
    // text on a box with its own fill keeps its colours: it does not sit on the new background
    const recolor: Recolor = recolorAt && !box.fill ? (color, sizePt, bold) => recolorAt(box, color, sizePt || box.fontSize || 18, bold) : color => color
    addTextBox(slide, box, recolor)
  }
}

/**
 * The deck as .pptx bytes. Slide size is the original's; each slide in `images` gets that image as its
 * background (`cover`), the others their original background colour or picture.
 */
export async function writeDeck(deck: Deck, options: WriteDeckOptions): Promise<Buffer> {
  const pptx = new PptxGenJS()
  pptx.defineLayout({ name: 'DECK', width: inch(deck.width), height: inch(deck.height) })
  pptx.layout = 'DECK'
  if (options.title) pptx.title = options.title
  const language = options.language ?? deckLanguage(deck)
  for (const s of deck.slides) {
    const slide = pptx.addSlide()
    const image = options.images.get(s.index)
    if (image) {
      slide.background = { data: `${image.mime};base64,${image.data.toString('base64')}` }
      if (options.mode === 'background') {
        const pixels = await pixelsOf(image.data)
        // sizes in points: WCAG's large text is 18 pt, or 14 pt bold (× 4/3 in CSS px)
        addObjects(pptx, slide, s, (box, color, sizePt = 14, bold = false) => {
          const regions = regionsUnder(pixels, { left: box.x, top: box.y, width: box.w, height: box.h }, deck.width, deck.height, deck.width / 50)
          return regions ? readableColorOver(regions, color, sizePt * 4 / 3, bold) : color
        })
      }
    }
    else {
      if (s.background.image) slide.background = { data: s.background.image.replace(/^data:/, '') }
      else if (s.background.color) slide.background = { color: hex(s.background.color) }
      addObjects(pptx, slide, s, null)
    }
    const notes = slideNotes(s, options.mode, !!image, language)
    if (notes) slide.addNotes(notes)
  }
  return await pptx.write({ outputType: 'nodebuffer', compression: true }) as Buffer
}
