// Reads a PPTist slide as plain text for the prompt: title, body, speaker notes.
import type { PageInput, PageType, TextBoxRect } from '../types/api'
import type { Slide, SlideElement, TextType } from './types'
import { htmlToText } from './html'
import { readNotesBlock, slideForReading } from './slideSource'

export { htmlToText }

const DEFAULT_FONT_PX = 16

/** Largest inline `font-size` in a rich-text HTML string (PPTist writes px; pt/em converted roughly). */
export function largestFontSize(html: string): number {
  let largest = 0
  const re = /font-size:\s*([\d.]+)\s*(px|pt|em|rem)?/gi
  let match: RegExpExecArray | null
  while ((match = re.exec(html))) {
    const value = parseFloat(match[1])
    const unit = (match[2] || 'px').toLowerCase()
    const px = unit === 'pt' ? value * 4 / 3 : unit === 'em' || unit === 'rem' ? value * DEFAULT_FONT_PX : value
    if (px > largest) largest = px
  }
  return largest || DEFAULT_FONT_PX
}

/** An element's box on the slide, in PPTist units. */
export interface Box {
  left: number
  top: number
  width: number
  height: number
}

interface TextBlock extends Box {
  elementId: string
  text: string
  textType?: TextType
  fontSize: number
}

interface BodyBlock extends Box {
  text: string
}

// Page furniture, not content.
const IGNORED_TEXT_TYPES: TextType[] = ['header', 'footer']
// PPTist's labels for a list item's or a part's number ("01", "02" beside "从数轴看大小").
const NUMBER_TEXT_TYPES: TextType[] = ['itemNumber', 'partNumber']
// An untagged label that is only a number: 01, 2., 3、, (4), ①, 第5, Part 6.
const NUMBER_LABEL = /^(?:part\s*|no\.?\s*|#|第\s*)?[(（]?[0-9０-９]{1,3}[)）]?[.、．:：]?$|^[①-⑳]$/i

function elementHeight(el: SlideElement, fontSize: number): number {
  return typeof el.height === 'number' && el.height > 0 ? el.height : fontSize * 1.5
}

function textBlocks(elements: SlideElement[]): TextBlock[] {
  const blocks: TextBlock[] = []
  for (const el of elements) {
    let html: string | undefined
    let textType: TextType | undefined
    if (el.type === 'text') {
      html = el.content
      textType = el.textType
    }
    else if (el.type === 'shape' && el.text) {
      html = el.text.content
      textType = el.text.type
    }
    if (!html || (textType && IGNORED_TEXT_TYPES.includes(textType))) continue
    const text = htmlToText(html)
    if (!text) continue
    const fontSize = largestFontSize(html)
    blocks.push({
      elementId: el.id, text, textType, fontSize,
      left: el.left, top: el.top, width: el.width, height: elementHeight(el, fontSize),
    })
  }
  return blocks
}

function isNumberLabel(block: TextBlock): boolean {
  if (block.textType && NUMBER_TEXT_TYPES.includes(block.textType)) return true
  return !block.textType && !block.text.includes('\n') && NUMBER_LABEL.test(block.text)
}

function verticalOverlap(a: Box, b: Box): number {
  return Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top)
}

/** The text a number label belongs to: on the same row (boxes overlap by half the smaller height), nearest beside it. */
function rowPartner(label: TextBlock, candidates: TextBlock[]): TextBlock | undefined {
  let best: TextBlock | undefined
  let bestGap = Infinity
  for (const block of candidates) {
    if (verticalOverlap(label, block) < Math.min(label.height, block.height) / 2) continue
    const right = block.left >= label.left + label.width / 2
    const gap = right ? block.left - (label.left + label.width) : label.left - (block.left + block.width)
    // Prefer the text to the right of the number (how numbered lists read); left only if nothing is right.
    const score = Math.max(0, gap) + (right ? 0 : 10_000)
    if (score < bestGap) {
      best = block
      bestGap = score
    }
  }
  return best
}

/** Number labels join the text beside them ("01" + "从数轴看大小" → "01 从数轴看大小"); lone numbers stay. */
function joinNumberLabels(blocks: TextBlock[]): TextBlock[] {
  const labels = blocks.filter(isNumberLabel)
  if (!labels.length) return blocks
  const others = blocks.filter(b => !isNumberLabel(b))
  const joined = new Map<TextBlock, TextBlock>(others.map(b => [b, { ...b }]))
  const kept: TextBlock[] = []
  for (const label of [...labels].sort((a, b) => b.left - a.left)) {
    const partner = rowPartner(label, others)
    if (!partner) {
      kept.push(label)
      continue
    }
    const target = joined.get(partner) as TextBlock
    target.text = `${label.text} ${target.text}`
    const right = Math.max(target.left + target.width, label.left + label.width)
    target.left = Math.min(target.left, label.left)
    target.width = right - target.left
  }
  return [...others.map(b => joined.get(b) as TextBlock), ...kept]
}

const EDGE_TOLERANCE = 2

/** Splits boxes into runs that do not overlap along one axis (columns for 'x', bands for 'y'). */
function splitAlong<T extends Box>(items: T[], axis: 'x' | 'y'): T[][] {
  const start = (b: Box) => (axis === 'x' ? b.left : b.top)
  const end = (b: Box) => (axis === 'x' ? b.left + b.width : b.top + b.height)
  const sorted = [...items].sort((a, b) => start(a) - start(b))
  const groups: T[][] = []
  let groupEnd = -Infinity
  for (const item of sorted) {
    if (!groups.length || start(item) >= groupEnd - EDGE_TOLERANCE) {
      groups.push([item])
      groupEnd = end(item)
    }
    else {
      groups[groups.length - 1].push(item)
      groupEnd = Math.max(groupEnd, end(item))
    }
  }
  return groups
}

const byTopLeft = (a: Box, b: Box) => a.top - b.top || a.left - b.left

/**
 * Reading order for slide boxes: columns first (elements that overlap horizontally belong to one
 * column; columns read left to right, each top to bottom), and where nothing splits into columns,
 * bands from top to bottom, each read the same way. So a full-width heading comes before the
 * columns under it, and a two-column page reads "A heading, A body, B heading, B body".
 */
export function readingOrder<T extends Box>(items: T[]): T[] {
  if (items.length <= 1) return [...items]
  const columns = splitAlong(items, 'x')
  if (columns.length > 1) return columns.flatMap(readingOrder)
  // Bands that together still form columns (headings row, then bodies row) are one block of columns.
  const bands: T[][] = []
  for (const band of splitAlong(items, 'y')) {
    const last = bands[bands.length - 1]
    if (last && splitAlong(last, 'x').length > 1 && splitAlong([...last, ...band], 'x').length > 1) last.push(...band)
    else bands.push(band)
  }
  if (bands.length > 1) return bands.flatMap(readingOrder)
  return [...items].sort(byTopLeft)
}

function tableText(rows: { text: string }[][]): string {
  return rows
    .map(row => row.map(cell => htmlToText(cell.text)).filter(Boolean).join(' | '))
    .filter(Boolean)
    .join('\n')
}

const formatNumber = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? String(value) : '')

/**
 * A chart as text with its values: one line per series, "legend: label value, label value"
 * ("气温(℃): 一月 -3, 四月 14, 七月 27, 十月 13"); without legends, "label value" pairs only.
 */
function chartText(data: { labels?: string[]; legends?: string[]; series?: number[][] }): string {
  const labels = data.labels ?? []
  const legends = data.legends ?? []
  const series = Array.isArray(data.series) ? data.series : []
  if (!series.length) return [legends.join(', '), labels.join(', ')].filter(Boolean).join(': ')
  return series.map((values, i) => {
    const pairs = (Array.isArray(values) ? values : []).map((value, j) => [labels[j] ?? '', formatNumber(value)].filter(Boolean).join(' '))
    const legend = legends[i] ?? ''
    const body = pairs.filter(Boolean).join(', ')
    return legend ? `${legend}: ${body}` : body
  }).filter(Boolean).join('\n')
}

/** A formula as its LaTeX source between dollar signs, the way models read (and draw) it. */
function latexText(latex: string | undefined): string {
  const source = (latex ?? '').trim()
  return source ? `$${source}$` : ''
}

/** A picture's own name (alt text from a PPTX import or the selection panel), unless it is a default one. */
const DEFAULT_IMAGE_NAME = /^(image|picture|图片|圖片|img|pic)\s*[-_ ]?\d*(\.\w+)?$/i
function imageText(name: string | undefined): string {
  const text = (name ?? '').trim()
  return text && !DEFAULT_IMAGE_NAME.test(text) ? `[${text}]` : ''
}

export interface SlideText {
  title: string
  /** body lines in reading order, tables and charts included */
  content: string
  notes: string
  /** ids of the elements whose text went into the title */
  titleElementIds: string[]
}

/** Title: elements tagged `title`; otherwise the text in the largest font. Body: everything else. */
export function extractSlideText(slide: Slide): SlideText {
  const blocks = readingOrder(joinNumberLabels(textBlocks(slide.elements)))
  let titleBlocks = blocks.filter(b => b.textType === 'title')
  if (!titleBlocks.length && blocks.length) {
    const largest = blocks.reduce((best, b) => (b.fontSize > best.fontSize ? b : best), blocks[0])
    titleBlocks = [largest]
  }
  const titleIds = new Set(titleBlocks.map(b => b.elementId))
  const body: BodyBlock[] = blocks.filter(b => !titleIds.has(b.elementId))
  for (const el of slide.elements) {
    const box = { left: el.left, top: el.top, width: el.width, height: elementHeight(el, DEFAULT_FONT_PX) }
    if (el.type === 'table' && Array.isArray(el.data)) body.push({ ...box, text: tableText(el.data) })
    if (el.type === 'chart' && el.data) body.push({ ...box, text: chartText(el.data) })
    if (el.type === 'latex') body.push({ ...box, text: latexText(el.latex) })
    if (el.type === 'image' && el.imageType !== 'background') body.push({ ...box, text: imageText(el.name) })
  }
  return {
    title: titleBlocks.map(b => b.text.replace(/\n/g, ' ')).join(' '),
    content: readingOrder(body).map(b => b.text).filter(Boolean).join('\n'),
    notes: htmlToText(slide.remark),
    titleElementIds: [...titleIds],
  }
}

const PAGE_TYPES: PageType[] = ['cover', 'contents', 'transition', 'content', 'end']

/** What the proxy accepts per page (GET /api/v1/health `limits`); the defaults are the proxy's own. */
export interface PageLimits {
  /** title + content (+ notes) characters of one page */
  maxPageTextChars: number
  /** text-box rectangles per page */
  maxTextBoxes: number
}

export const DEFAULT_PAGE_LIMITS: PageLimits = { maxPageTextChars: 8000, maxTextBoxes: 100 }
// The title never takes more than this share of the page's budget; the body gets the rest.
const MAX_TITLE_SHARE = 0.25

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, Math.max(0, max - 1)) + '…' : text
}

/**
 * What the prompt reads of a slide: its own text; after a full-mode run the kept original elements
 * (host/slideSource.ts); a slide emptied by an earlier run with no kept source (a re-imported PPTX)
 * is read back from the notes block that run wrote. Notes never repeat that block.
 */
export function readSlideText(slide: Slide): SlideText {
  const text = extractSlideText(slideForReading(slide))
  const block = readNotesBlock(slide.remark)
  if (!block.lines) return text
  if (!text.title && !text.content && block.lines.length) {
    return { ...text, title: block.lines[0], content: block.lines.slice(1).join('\n'), notes: block.before }
  }
  return { ...text, notes: block.before }
}

/**
 * True when the slide's text exists only in our notes block (readSlideText reads it from there): a
 * slide emptied by a run whose kept source did not come along (a deck re-imported from a PPTX).
 * Its notes are then the only copy of that text, and are left as they are.
 */
export function readsFromNotesBlock(slide: Slide): boolean {
  const text = extractSlideText(slideForReading(slide))
  return !text.title && !text.content && !!readNotesBlock(slide.remark).lines?.length
}

export interface PageInputOptions {
  limits?: PageLimits
  /** slide size in PPTist units, to send the text boxes as fractions (background mode) */
  viewport?: { width: number; height: number }
}

/**
 * A slide as the proxy's `pages[]` entry: only what the prompt uses (title and body — the speaker
 * notes never reach the prompt, so they are not sent and cannot get a page refused), trimmed to the
 * proxy's limits; with `viewport`, the slide's text boxes as normalised rectangles (`text_boxes`).
 */
export function slideToPageInput(slide: Slide, options: PageInputOptions = {}): PageInput {
  const limits = options.limits ?? DEFAULT_PAGE_LIMITS
  const { title, content } = readSlideText(slide)
  const clippedTitle = clip(title, Math.floor(limits.maxPageTextChars * MAX_TITLE_SHARE))
  const page: PageInput = {
    slide_id: slide.id,
    title: clippedTitle,
    content: clip(content, limits.maxPageTextChars - clippedTitle.length),
  }
  if (slide.type && PAGE_TYPES.includes(slide.type)) page.page_type = slide.type
  if (options.viewport) {
    const boxes = textBoxRects(slideForReading(slide).elements, options.viewport.width, options.viewport.height)
    if (boxes.length) page.text_boxes = boxes.slice(0, limits.maxTextBoxes)
  }
  return page
}

const round3 = (n: number) => Math.round(n * 1000) / 1000

/**
 * The upright box around a box turned by `rotate` degrees about its centre (as PPTist draws a
 * rotated element): the area of the slide it covers. The box itself when not rotated.
 */
export function uprightBounds(box: Box, rotate: number | undefined): Box {
  const angle = ((rotate ?? 0) % 180) * Math.PI / 180
  if (!angle) return box
  const width = Math.abs(box.width * Math.cos(angle)) + Math.abs(box.height * Math.sin(angle))
  const height = Math.abs(box.width * Math.sin(angle)) + Math.abs(box.height * Math.cos(angle))
  return { left: box.left + (box.width - width) / 2, top: box.top + (box.height - height) / 2, width, height }
}

/**
 * Where the slide's own text sits, as rectangles in fractions of the slide (0..1, clipped to it):
 * text boxes, shapes with text, tables, charts and formulas — what stays on top in background mode.
 */
export function textBoxRects(elements: SlideElement[], width: number, height: number): TextBoxRect[] {
  if (!(width > 0) || !(height > 0)) return []
  const rects: TextBoxRect[] = []
  for (const el of elements) {
    const hasText = (el.type === 'text' && !!htmlToText(el.content))
      || (el.type === 'shape' && !!el.text && !!htmlToText(el.text.content))
      || el.type === 'table' || el.type === 'chart' || el.type === 'latex'
    if (!hasText) continue
    const h = typeof el.height === 'number' && el.height > 0 ? el.height : DEFAULT_FONT_PX * 1.5
    // a rotated box covers more of the slide than its own rectangle: keep all of that calm
    const box = uprightBounds({ left: el.left, top: el.top, width: el.width, height: h }, el.rotate)
    const x0 = Math.max(0, box.left / width)
    const y0 = Math.max(0, box.top / height)
    const x1 = Math.min(1, (box.left + box.width) / width)
    const y1 = Math.min(1, (box.top + box.height) / height)
    if (x1 <= x0 || y1 <= y0) continue
    rects.push({ x: round3(x0), y: round3(y0), w: round3(x1 - x0), h: round3(y1 - y0) })
  }
  return rects
}
