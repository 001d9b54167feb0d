// Reads a .pptx into the Deck read model (deck.ts) with pptxtojson, the parser PPTist's own .pptx import
// uses (base64 image mode). What pptxtojson does not report — which shape is the title placeholder,
// chart titles — is read from the slide XML in xmlFacts.ts. Call inspectPptx() first for untrusted input.
import JSZip from 'jszip'
import { parse } from 'pptxtojson/dist/index.js'
import type { Chart, Element as PptxElement, Slide as PptxSlide } from 'pptxtojson/dist/index.js'
import { readingOrder } from '../../plugin/host/extractText.js'
import type { Deck, DeckChart, DeckPicture, DeckSlide, DeckTable, DeckTextBox } from './deck.js'
import { htmlToParagraphs, normalizeHex, paragraphsToText } from './html.js'
import { DeckError } from './inspect.js'
import { slideXmlFacts, type SlideXmlFacts } from './xmlFacts.js'

const ASPECTS: [string, number][] = [['16:9', 16 / 9], ['4:3', 4 / 3], ['16:10', 16 / 10], ['1:1', 1], ['3:2', 3 / 2], ['2:3', 2 / 3], ['3:4', 3 / 4], ['9:16', 9 / 16], ['21:9', 21 / 9], ['5:4', 5 / 4], ['4:5', 4 / 5]]

/** Nearest aspect ratio the image models take (16:10 counts as 16:9: they have no 16:10). */
export function nearestAspectRatio(width: number, height: number): string {
  if (!(width > 0 && height > 0)) return '16:9'
  const r = Math.log(width / height)
  let best = ASPECTS[0]
  for (const a of ASPECTS) if (Math.abs(Math.log(a[1]) - r) < Math.abs(Math.log(best[1]) - r)) best = a
  return best[0] === '16:10' ? '16:9' : best[0]
}

type Flat = PptxElement & { left: number; top: number }

/** Groups and diagrams flattened to slide coordinates (children are relative to their group), in z-order. */
function flatten(elements: PptxElement[], dx = 0, dy = 0): Flat[] {
  const out: Flat[] = []
  for (const el of [...elements].sort((a, b) => (a.order ?? 0) - (b.order ?? 0))) {
    const left = (el.left || 0) + dx
    const top = (el.top || 0) + dy
    if (el.type === 'group' || el.type === 'diagram') out.push(...flatten(el.elements as PptxElement[], left, top))
    else out.push({ ...el, left, top })
  }
  return out
}

function fillColor(fill: unknown): string | undefined {
  const f = fill as { type?: string; value?: unknown } | null | undefined
  return f?.type === 'color' && typeof f.value === 'string' ? normalizeHex(f.value) ?? undefined : undefined
}

function dominantColor(box: Pick<DeckTextBox, 'paragraphs'>): string {
  const weight = new Map<string, number>()
  for (const p of box.paragraphs) for (const r of p.runs) {
    const c = r.color ?? '#000000'
    weight.set(c, (weight.get(c) ?? 0) + r.text.trim().length)
  }
  let best = '#000000'
  let bestW = -1
  for (const [c, w] of weight) if (w > bestW) [best, bestW] = [c, w]
  return best
}

function chartOf(el: Chart, title: string, xmlLabels: string[]): DeckChart {
  const base = { x: el.left, y: el.top, w: el.width, h: el.height, type: el.chartType, title }
  if (el.chartType === 'scatterChart' || el.chartType === 'bubbleChart') {
    const data = el.data as number[][]
    return { ...base, labels: (data[0] ?? []).map(String), series: data.slice(1).map((values, i) => ({ name: `Series ${i + 1}`, values })) }
  }
  const items = el.data as { key: string; values: { x: string; y: number }[]; xlabels: Record<string, string> }[]
  const first = items[0]
  const labels = first ? first.values.map((v, i) => first.xlabels[v.x] ?? xmlLabels[i] ?? v.x) : []
  return { ...base, labels, series: items.map(it => ({ name: it.key, values: it.values.map(v => v.y) })) }
}

export function chartText(chart: DeckChart): string {
  const lines = chart.title ? [chart.title] : []
  for (const s of chart.series) lines.push(`${s.name}: ${s.values.map((v, i) => (chart.labels[i] !== undefined ? `${chart.labels[i]} ${v}` : String(v))).join(', ')}`)
  return lines.join('\n')
}

function readSlide(slide: PptxSlide, index: number, facts: SlideXmlFacts | undefined): DeckSlide {
  const textBoxes: DeckTextBox[] = []
  const tables: DeckTable[] = []
  const charts: DeckChart[] = []
  const pictures: DeckPicture[] = []
  const formulas: { text: string; x: number; y: number; w: number; h: number }[] = []
  const titleIds = new Set<DeckTextBox>()
  let chartNo = 0
  const picture = (el: Flat & { width: number; height: number }, data: string | undefined) => {
    if (data && data.startsWith('data:image/')) pictures.push({ x: el.left, y: el.top, w: el.width, h: el.height, data })
  }
  for (const el of flatten(slide.layoutElements ?? [])) if (el.type === 'image') picture(el, el.base64)
  for (const el of flatten(slide.elements ?? [])) {
    if (el.type === 'text' || el.type === 'shape') {
      const paragraphs = htmlToParagraphs(el.content || '')
      const text = paragraphsToText(paragraphs)
      if (!text) continue
      const sizes = paragraphs.flatMap(p => p.runs.map(r => r.fontSize ?? 0)).filter(s => s > 0)
      const box: DeckTextBox = {
        x: el.left, y: el.top, w: el.width, h: el.height, rotate: el.rotate || 0,
        text, paragraphs,
        fontSize: sizes.length ? Math.max(...sizes) : 18,
        color: '#000000',
        valign: el.vAlign === 'mid' ? 'middle' : el.vAlign === 'down' ? 'bottom' : 'top',
        isTitle: false,
      }
      box.color = dominantColor(box)
      const fill = fillColor(el.fill)
      if (fill) box.fill = fill
      if (facts?.titleIds.has(String(el.id))) titleIds.add(box)
      textBoxes.push(box)
    }
    else if (el.type === 'table') {
      const rows = el.data.map(row => row.filter(c => !c.hMerge && !c.vMerge).map(c => paragraphsToText(htmlToParagraphs(c.text)).replace(/\n/g, ' ')))
      tables.push({ x: el.left, y: el.top, w: el.width, h: el.height, rows })
    }
    else if (el.type === 'chart') {
      charts.push(chartOf(el, facts?.chartTitles[chartNo] ?? '', facts?.chartLabels[chartNo] ?? []))
      chartNo++
    }
    else if (el.type === 'image') picture(el, el.base64)
    else if (el.type === 'math') {
      const text = el.latex || el.text || ''
      if (text) formulas.push({ text, x: el.left, y: el.top, w: el.width, h: el.height })
      picture(el, el.picBase64)
    }
  }
  // Title: the title placeholder(s); without one, the text in the largest font (as the extension does).
  let titles = textBoxes.filter(b => titleIds.has(b))
  if (!titles.length && textBoxes.length) titles = [textBoxes.reduce((best, b) => (b.fontSize > best.fontSize ? b : best), textBoxes[0])]
  for (const t of titles) t.isTitle = true
  const box = (b: { x: number; y: number; w: number; h: number }) => ({ left: b.x, top: b.y, width: b.w, height: b.h })
  const body = [
    ...textBoxes.filter(b => !b.isTitle).map(b => ({ ...box(b), text: b.text })),
    ...tables.map(t => ({ ...box(t), text: t.rows.map(r => r.filter(Boolean).join(' | ')).filter(Boolean).join('\n') })),
    ...charts.map(c => ({ ...box(c), text: chartText(c) })),
    ...formulas.map(f => ({ ...box(f), text: f.text })),
  ]
  const fill = slide.fill as { type?: string; value?: unknown } | undefined
  const background: DeckSlide['background'] = {}
  const bgColor = fillColor(fill)
  if (bgColor) background.color = bgColor
  if (fill?.type === 'image') {
    const v = fill.value as { base64?: string }
    if (v?.base64?.startsWith('data:image/')) background.image = v.base64
  }
  return {
    index,
    title: readingOrder(titles.map(t => ({ ...box(t), text: t.text }))).map(t => t.text.replace(/\n/g, ' ')).join(' '),
    content: readingOrder(body).map(b => b.text).filter(Boolean).join('\n'),
    notes: paragraphsToText(htmlToParagraphs(slide.note || '')),
    textBoxes, tables, charts,
    formulas: formulas.map(f => f.text),
    pictures, background,
  }
}

/**
 * Parses a .pptx (bytes) into a Deck. Throws DeckError `invalid_pptx` (400) when pptxtojson cannot
 * read it, `no_slides` (400) when it has none, `slide_too_complex` (422) for a slide with more shapes
 * than MAX_SHAPES_PER_SLIDE (checked first, before pptxtojson builds an element for each).
 */
export async function readDeck(buf: Buffer): Promise<Deck> {
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer
  let json: Awaited<ReturnType<typeof parse>>
  let facts: SlideXmlFacts[]
  try {
    facts = await slideXmlFacts(await JSZip.loadAsync(buf))
    json = await parse(ab, { imageMode: 'base64', videoMode: 'none', audioMode: 'none' })
  }
  catch (err) {
    if (err instanceof DeckError) throw err
    throw new DeckError(400, 'invalid_pptx', `The .pptx could not be read: ${(err as Error).message}`)
  }
  if (!json.slides.length) throw new DeckError(400, 'no_slides', 'The presentation has no slides')
  const { width, height } = json.size
  return {
    width, height,
    aspectRatio: nearestAspectRatio(width, height),
    slides: json.slides.map((s, i) => readSlide(s, i + 1, facts[i])),
  }
}
