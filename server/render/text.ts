// Text measurement, line breaking and fitting, measured with the real font advances
// (CJK ideographs are full-width, Latin uses its proportional widths), then drawn as glyph outlines.
import type { FontRole, FontSet, LoadedFont } from './fonts.js'

export interface Box { x: number; y: number; w: number; h: number }

export type Anchor = 'start' | 'middle' | 'end'

export interface TextSpec {
  role: FontRole
  color: string
  /** largest font size to try (design units) */
  maxSize: number
  /** smallest font size; below it text is truncated with an ellipsis */
  minSize: number
  /** line height as a multiple of the font size */
  lineHeight?: number
  /** extra space between paragraphs, as a multiple of the font size */
  paragraphGap?: number
  /** letter spacing in em */
  tracking?: number
  anchor?: Anchor
  /** vertical placement of the block inside its box */
  valign?: 'top' | 'middle' | 'bottom'
  maxLines?: number
  opacity?: number
  /** even out line lengths of a wrapped single paragraph (titles: no one-character last line) */
  balance?: boolean
}

export interface FittedLine { text: string; paragraph: number; width: number }

export interface FittedBlock {
  size: number
  lines: FittedLine[]
  truncated: boolean
  /** extent actually covered by the lines (what tests check against the canvas) */
  bounds: Box
}

/** may not start a line (closing punctuation) */
const NO_START = new Set([...'，。、；：！？）》」』】〕〉”’…—·%,.;:!?)]}'])
/** may not end a line (opening punctuation) */
const NO_END = new Set([...'（《「『【〔〈“‘([{'])
const DROP = /[\p{Extended_Pictographic}\u200B-\u200F\u2060\uFE0E\uFE0F\u0000-\u0008\u000B-\u001F\u007F]/gu

/** Remove what no slide font can draw (emoji, control characters) and normalise whitespace. */
export function cleanText(s: string): string {
  return s.replace(DROP, '').replace(/\t/g, ' ').replace(/\r\n?/g, '\n')
}

function glyphFor(fonts: FontSet, font: LoadedFont, cp: number) {
  const g = font.glyph(cp)
  if (!g.missing) return { g, font }
  // style fonts (serif) may lack a character the base sans has; then the per-character fallbacks
  const base = fonts.get('sans')
  if (base !== font) {
    const bg = base.glyph(cp)
    if (!bg.missing) return { g: bg, font: base }
  }
  for (const f of fonts.fallbacks()) {
    const fg = f.glyph(cp)
    if (!fg.missing) return { g: fg, font: f }
  }
  return { g, font }
}

export function measure(fonts: FontSet, text: string, role: FontRole, size: number, tracking = 0): number {
  const font = fonts.get(role)
  let units = 0
  let n = 0
  for (const ch of text) {
    const { g, font: f } = glyphFor(fonts, font, ch.codePointAt(0)!)
    units += g.advance * (font.unitsPerEm / f.unitsPerEm)
    n++
  }
  return units / font.unitsPerEm * size + Math.max(0, n - 1) * tracking * size
}

const segmenter = new Intl.Segmenter('zh', { granularity: 'word' })

/**
 * Break opportunities: between words (ICU's dictionary segmentation keeps Chinese words such as
 * 经营 or 分析 together), at spaces, never before closing or after opening punctuation.
 * Words longer than a line are split by character later.
 */
function tokenize(text: string): string[] {
  const tokens: string[] = []
  for (const { segment } of segmenter.segment(text)) {
    if (/^\s+$/.test(segment)) { if (tokens[tokens.length - 1] !== ' ') tokens.push(' '); continue }
    const first = [...segment][0]
    const prev = tokens[tokens.length - 1]
    if (NO_START.has(first) && prev && prev !== ' ') { tokens[tokens.length - 1] = prev + segment; continue }
    if (prev && prev !== ' ' && NO_END.has([...prev].pop() ?? '')) { tokens[tokens.length - 1] = prev + segment; continue }
    tokens.push(segment)
  }
  return tokens
}

/** Greedy line breaking of one paragraph. Words longer than a line are split by character. */
export function wrap(fonts: FontSet, text: string, role: FontRole, size: number, maxWidth: number, tracking = 0): string[] {
  const lines: string[] = []
  let line = ''
  const w = (s: string) => measure(fonts, s, role, size, tracking)
  for (const token of tokenize(text)) {
    if (token === ' ') { if (line) line += ' '; continue }
    const candidate = line + token
    if (w(candidate) <= maxWidth) { line = candidate; continue }
    if (line.trim()) lines.push(line.trimEnd())
    line = ''
    if (w(token) <= maxWidth) { line = token; continue }
    for (const ch of token) {
      if (line && w(line + ch) > maxWidth) { lines.push(line); line = '' }
      line += ch
    }
  }
  if (line.trim()) lines.push(line.trimEnd())
  return lines
}

/** Shorten a line until it fits with a trailing ellipsis. */
export function ellipsize(fonts: FontSet, text: string, role: FontRole, size: number, maxWidth: number, tracking = 0): string {
  const chars = [...text.trimEnd()]
  while (chars.length && measure(fonts, chars.join('') + '…', role, size, tracking) > maxWidth) chars.pop()
  while (chars.length && /[\s，。、,.;；:：]/.test(chars[chars.length - 1])) chars.pop()
  return chars.join('') + '…'
}

interface Attempt { lines: FittedLine[]; height: number; overflow: boolean }

function attempt(fonts: FontSet, paragraphs: string[], spec: TextSpec, size: number, box: Box): Attempt {
  const lh = (spec.lineHeight ?? 1.3) * size
  const gap = (spec.paragraphGap ?? 0) * size
  const lines: FittedLine[] = []
  let height = 0
  paragraphs.forEach((p, pi) => {
    const wrapped = wrap(fonts, p, spec.role, size, box.w, spec.tracking)
    if (pi > 0 && wrapped.length) height += gap
    for (const text of wrapped) {
      lines.push({ text, paragraph: pi, width: measure(fonts, text, spec.role, size, spec.tracking) })
      height += lh
    }
  })
  const overflow = height > box.h + 0.01 || (spec.maxLines !== undefined && lines.length > spec.maxLines)
  return { lines, height, overflow }
}

/**
 * The largest size in [minSize, maxSize] at which every paragraph fits the box; at minSize what
 * does not fit is cut and the last kept line ends with an ellipsis.
 */
export function fitText(fonts: FontSet, paragraphs: string[], spec: TextSpec, box: Box): FittedBlock {
  const paras = paragraphs.map(p => cleanText(p).replace(/\s+/g, ' ').trim()).filter(Boolean)
  let lo = spec.minSize
  let hi = Math.max(spec.minSize, spec.maxSize)
  let best: Attempt | null = null
  let bestSize = lo
  // sizes are searched in 1-unit steps (binary search; fitting is monotonic in practice)
  const first = attempt(fonts, paras, spec, hi, box)
  if (!first.overflow) { best = first; bestSize = hi } else {
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2)
      const a = attempt(fonts, paras, spec, mid, box)
      if (a.overflow) hi = mid; else { lo = mid; best = a; bestSize = mid }
    }
    if (!best) {
      const a = attempt(fonts, paras, spec, spec.minSize, box)
      if (!a.overflow) { best = a; bestSize = spec.minSize }
    }
  }
  let truncated = false
  let lines: FittedLine[]
  const size = bestSize
  if (best) {
    lines = best.lines
    if (spec.balance && paras.length === 1 && lines.length > 1) lines = balanceLines(fonts, paras[0], spec, size, box.w, lines)
  } else {
    truncated = true
    const all = attempt(fonts, paras, spec, size, box).lines
    const lh = (spec.lineHeight ?? 1.3) * size
    const gap = (spec.paragraphGap ?? 0) * size
    lines = []
    let h = 0
    for (const l of all) {
      const add = lh + (lines.length && l.paragraph !== lines[lines.length - 1].paragraph ? gap : 0)
      if (h + add > box.h + 0.01 || (spec.maxLines !== undefined && lines.length >= spec.maxLines)) break
      lines.push(l)
      h += add
    }
    if (!lines.length && all.length) lines.push(all[0])
    if (lines.length) {
      const last = lines[lines.length - 1]
      const text = ellipsize(fonts, last.text, spec.role, size, box.w, spec.tracking)
      lines[lines.length - 1] = { ...last, text, width: measure(fonts, text, spec.role, size, spec.tracking) }
    }
  }
  const lh = (spec.lineHeight ?? 1.3) * size
  const gap = (spec.paragraphGap ?? 0) * size
  let height = 0
  lines.forEach((l, i) => { height += lh + (i > 0 && l.paragraph !== lines[i - 1].paragraph ? gap : 0) })
  const maxW = lines.reduce((m, l) => Math.max(m, l.width), 0)
  const anchor = spec.anchor ?? 'start'
  const x = anchor === 'start' ? box.x : anchor === 'middle' ? box.x + (box.w - maxW) / 2 : box.x + box.w - maxW
  const valign = spec.valign ?? 'top'
  const y = valign === 'top' ? box.y : valign === 'middle' ? box.y + (box.h - height) / 2 : box.y + box.h - height
  return { size, lines, truncated, bounds: { x, y, w: maxW, h: height } }
}

/** The narrowest width that keeps the same number of lines gives the most even lines. */
function balanceLines(fonts: FontSet, text: string, spec: TextSpec, size: number, maxW: number, lines: FittedLine[]): FittedLine[] {
  const count = lines.length
  let lo = maxW * 0.4
  let hi = maxW
  for (let i = 0; i < 8; i++) {
    const mid = (lo + hi) / 2
    if (wrap(fonts, text, spec.role, size, mid, spec.tracking).length > count) lo = mid; else hi = mid
  }
  return wrap(fonts, text, spec.role, size, hi, spec.tracking).map(t => ({ text: t, paragraph: 0, width: measure(fonts, t, spec.role, size, spec.tracking) }))
}

const num = (n: number) => String(Math.round(n * 100) / 100)

/** One line of text as glyph outlines; (x, baseline) in design units. */
export function lineToSvg(fonts: FontSet, text: string, role: FontRole, size: number, x: number, baseline: number, tracking = 0): string {
  const font = fonts.get(role)
  let pen = 0
  const parts: string[] = []
  for (const ch of text) {
    const { g, font: f } = glyphFor(fonts, font, ch.codePointAt(0)!)
    const k = size / f.unitsPerEm
    const scale = k.toPrecision(6)
    // the scale needs full precision: 15 px / 1000 units rounded to 2 decimals would squash glyphs by 33%
    if (g.path) parts.push(`<path transform="matrix(${scale} 0 0 -${scale} ${num(x + pen)} ${num(baseline)})" d="${g.path}"/>`)
    pen += g.advance * k + tracking * size
  }
  return parts.join('')
}

/** Draw a fitted block; the baseline of each line sits at ~80% of its line box (CJK-friendly). */
export function blockToSvg(fonts: FontSet, block: FittedBlock, spec: TextSpec, box: Box): string {
  const lh = (spec.lineHeight ?? 1.3) * block.size
  const gap = (spec.paragraphGap ?? 0) * block.size
  const anchor = spec.anchor ?? 'start'
  const font = fonts.get(spec.role)
  // centre the em box (ascent..descent) in the line box
  const em = (font.ascent - font.descent) / font.unitsPerEm * block.size
  const baselineOffset = (lh - em) / 2 + font.ascent / font.unitsPerEm * block.size
  let y = block.bounds.y
  const out: string[] = []
  block.lines.forEach((l, i) => {
    if (i > 0 && l.paragraph !== block.lines[i - 1].paragraph) y += gap
    const x = anchor === 'start' ? box.x : anchor === 'middle' ? box.x + (box.w - l.width) / 2 : box.x + box.w - l.width
    out.push(lineToSvg(fonts, l.text, spec.role, block.size, x, y + baselineOffset, spec.tracking))
    y += lh
  })
  const op = spec.opacity !== undefined ? ` fill-opacity="${spec.opacity}"` : ''
  return `<g fill="${spec.color}"${op}>${out.join('')}</g>`
}
