// pptxtojson's rich-text HTML (`<p style="text-align…"><span style="color…;font-size: 18pt…">…</span></p>`,
// lists as `<ul>/<ol><li>`) → paragraphs of styled runs. Only the tags and styles pptxtojson writes.
import type { DeckParagraph, DeckRun } from './deck.js'

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: '\'', nbsp: ' ' }

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (match, entity: string) => {
    if (entity[0] === '#') {
      const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10)
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : match
    }
    return ENTITIES[entity.toLowerCase()] ?? match
  })
}

type Style = Omit<DeckRun, 'text'> & { align?: DeckParagraph['align'] }

function parseStyle(css: string, inherited: Style): Style {
  const style: Style = { ...inherited }
  for (const decl of css.split(';')) {
    const i = decl.indexOf(':')
    if (i < 0) continue
    const prop = decl.slice(0, i).trim().toLowerCase()
    const value = decl.slice(i + 1).trim()
    if (prop === 'color') {
      const hex = normalizeHex(value)
      if (hex) style.color = hex
    }
    else if (prop === 'font-size') {
      const m = /^([\d.]+)\s*(pt|px)?/.exec(value)
      if (m) style.fontSize = m[2] === 'px' ? parseFloat(m[1]) * 0.75 : parseFloat(m[1])
    }
    else if (prop === 'font-weight') style.bold = value === 'bold' || parseInt(value, 10) >= 600
    else if (prop === 'font-style') style.italic = value === 'italic'
    else if (prop === 'text-decoration' || prop === 'text-decoration-line') style.underline = value.includes('underline')
    else if (prop === 'font-family') style.fontFace = value.replace(/["']/g, '').split(',')[0].trim() || undefined
    else if (prop === 'text-align') {
      if (value === 'center' || value === 'right' || value === 'justify' || value === 'left') style.align = value
    }
  }
  return style
}

/** `#abc`, `#aabbcc`, `rgb(…)` → `#aabbcc` (lower case); null for anything else. */
export function normalizeHex(value: string | undefined | null): string | null {
  if (!value) return null
  const v = value.trim().toLowerCase()
  const hex = /^#?([0-9a-f]{6})([0-9a-f]{2})?$/.exec(v)
  if (hex) return `#${hex[1]}`
  const short = /^#([0-9a-f]{3})$/.exec(v)
  if (short) return `#${[...short[1]].map(c => c + c).join('')}`
  const rgb = /^rgba?\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+)/.exec(v)
  if (rgb) return `#${[1, 2, 3].map(i => Math.min(255, parseInt(rgb[i], 10)).toString(16).padStart(2, '0')).join('')}`
  return null
}

const BLOCK_TAGS = new Set(['p', 'li', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6'])

/** Paragraphs with their runs; empty paragraphs are kept (they are blank lines in the box). */
export function htmlToParagraphs(html: string): DeckParagraph[] {
  const paragraphs: DeckParagraph[] = []
  const stack: { tag: string; style: Style }[] = [{ tag: '', style: {} }]
  let current: DeckParagraph | null = null
  const open = (style: Style, bullet: boolean) => {
    current = { runs: [], ...(style.align ? { align: style.align } : {}), ...(bullet ? { bullet: true } : {}) }
    paragraphs.push(current)
  }
  const re = /<(\/?)([a-z0-9]+)([^>]*)>|([^<]+)/gi
  let m: RegExpExecArray | null
  while ((m = re.exec(html))) {
    if (m[4] !== undefined) {
      const text = decodeEntities(m[4])
      if (!text) continue
      const top = stack[stack.length - 1].style
      if (!current) open(top, false)
      const { align: _align, ...runStyle } = top
      const para = current as unknown as DeckParagraph
      para.runs.push({ text, ...runStyle })
      continue
    }
    const closing = m[1] === '/'
    const tag = m[2].toLowerCase()
    if (tag === 'br') {
      if (!current) open(stack[stack.length - 1].style, false)
      ;(current as unknown as DeckParagraph).runs.push({ text: '\n' })
      continue
    }
    if (closing) {
      const i = stack.map(s => s.tag).lastIndexOf(tag)
      if (i > 0) stack.length = i
      if (BLOCK_TAGS.has(tag)) current = null
      continue
    }
    const styleAttr = /style\s*=\s*"([^"]*)"|style\s*=\s*'([^']*)'/i.exec(m[3])
    const style = parseStyle(styleAttr?.[1] ?? styleAttr?.[2] ?? '', stack[stack.length - 1].style)
    if (!m[3].trim().endsWith('/')) stack.push({ tag, style })
    if (BLOCK_TAGS.has(tag)) open(style, tag === 'li')
  }
  return paragraphs
}

/** Plain text of paragraphs: one line per paragraph, whitespace tidied, blank lines dropped. */
export function paragraphsToText(paragraphs: DeckParagraph[]): string {
  return paragraphs
    .map(p => p.runs.map(r => r.text).join('').split('\n').map(l => l.replace(/[ \t\u00a0\u3000]+/g, ' ').trim()).filter(Boolean).join('\n'))
    .filter(Boolean)
    .join('\n')
}
