// Reads a PPTist slide as plain text for the prompt: title, body, speaker notes.
import type { PageInput, PageType } from '../types/api'
import type { Slide, SlideElement, TextType } from './types'

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: '\'', nbsp: ' ' }

/** PPTist rich-text HTML → plain text, one line per paragraph / list item / <br>. */
export function htmlToText(html: string | undefined | null): string {
  if (!html) return ''
  const withBreaks = html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|h[1-6]|tr|blockquote)>/gi, '\n')
    .replace(/<(td|th)[^>]*>/gi, ' ')
    .replace(/<[^>]+>/g, '')
  const decoded = withBreaks.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (match, entity: string) => {
    if (entity[0] === '#') {
      const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10)
      return Number.isFinite(code) ? String.fromCodePoint(code) : match
    }
    return ENTITIES[entity.toLowerCase()] ?? match
  })
  return decoded
    .split('\n')
    .map(line => line.replace(/[ \t\u00a0\u3000]+/g, ' ').trim())
    .filter(Boolean)
    .join('\n')
}

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

interface TextBlock {
  elementId: string
  text: string
  textType?: TextType
  fontSize: number
  top: number
  left: number
}

// Page furniture, not content.
const IGNORED_TEXT_TYPES: TextType[] = ['header', 'footer']

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
    if (text) blocks.push({ elementId: el.id, text, textType, fontSize: largestFontSize(html), top: el.top, left: el.left })
  }
  return blocks
}

function tableText(rows: { text: string }[][]): string {
  return rows
    .map(row => row.map(cell => htmlToText(cell.text)).filter(Boolean).join(' | '))
    .filter(Boolean)
    .join('\n')
}

function chartText(data: { labels?: string[]; legends?: string[] }): string {
  const parts: string[] = []
  if (data.legends?.length) parts.push(data.legends.join(', '))
  if (data.labels?.length) parts.push(data.labels.join(', '))
  return parts.join(': ')
}

const byReadingOrder = (a: { top: number; left: number }, b: { top: number; left: number }) =>
  a.top - b.top || a.left - b.left

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
  const blocks = textBlocks(slide.elements).sort(byReadingOrder)
  let titleBlocks = blocks.filter(b => b.textType === 'title')
  if (!titleBlocks.length && blocks.length) {
    const largest = blocks.reduce((best, b) => (b.fontSize > best.fontSize ? b : best), blocks[0])
    titleBlocks = [largest]
  }
  const titleIds = new Set(titleBlocks.map(b => b.elementId))
  const body: { top: number; left: number; text: string }[] = blocks.filter(b => !titleIds.has(b.elementId))
  for (const el of slide.elements) {
    if (el.type === 'table' && Array.isArray(el.data)) body.push({ top: el.top, left: el.left, text: tableText(el.data) })
    if (el.type === 'chart' && el.data) body.push({ top: el.top, left: el.left, text: chartText(el.data) })
  }
  return {
    title: titleBlocks.map(b => b.text.replace(/\n/g, ' ')).join(' '),
    content: body.sort(byReadingOrder).map(b => b.text).filter(Boolean).join('\n'),
    notes: htmlToText(slide.remark),
    titleElementIds: [...titleIds],
  }
}

const PAGE_TYPES: PageType[] = ['cover', 'contents', 'transition', 'content', 'end']
const MAX_FIELD_CHARS = 6000

function clip(text: string): string {
  return text.length > MAX_FIELD_CHARS ? text.slice(0, MAX_FIELD_CHARS) : text
}

/** A slide as the proxy's `pages[]` entry. */
export function slideToPageInput(slide: Slide): PageInput {
  const { title, content, notes } = extractSlideText(slide)
  const page: PageInput = { slide_id: slide.id, title: clip(title), content: clip(content) }
  if (slide.type && PAGE_TYPES.includes(slide.type)) page.page_type = slide.type
  if (notes) page.notes = clip(notes)
  return page
}
