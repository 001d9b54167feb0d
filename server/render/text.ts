// Text measurement, line breaking and fitting, measured with the real font advances
// (CJK ideographs are full-width, Latin uses its proportional widths), then drawn as glyph outlines.
import type { FontRole, FontSet, LoadedFont } from './fonts.js'
import { EMOJI_ADVANCE, EMOJI_LIKE, emojiSvg, prefersEmoji } from './emoji.js'

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
const DROP = /[\u200B\u200E\u200F\u2060\u0000-\u0008\u000B-\u001F\u007F]/gu
/** zero-width joiners and variation selectors: kept inside emoji sequences, drawn as nothing elsewhere */
const ZERO_WIDTH = new Set([0x200c, 0x200d, 0xfe0e, 0xfe0f])

/** Remove control characters and normalise whitespace; symbols and emoji stay (they are drawn). */
export function cleanText(s: string): string {
  return s.replace(DROP, '').replace(/\t/g, ' ').replace(/\r\n?/g, '\n')
}

const graphemes = new Intl.Segmenter('zh', { granularity: 'grapheme' })

/** A drawable unit: one character drawn from a font, or one emoji grapheme drawn as a picture. */
type Unit = { cp: number; emoji: null } | { cp: number; emoji: string }

function hasGlyph(fonts: FontSet, font: LoadedFont, cp: number): boolean {
  return !glyphFor(fonts, font, cp).g.missing
}

/**
 * Split text into drawable units. Emoji sequences (ZWJ, skin tones, flags, keycaps, VS16) stay one
 * picture; a pictographic character a text font has (©, ™, ✓) is drawn from the font unless it asks
 * for emoji presentation.
 */
export function units(fonts: FontSet, font: LoadedFont, text: string): Unit[] {
  const out: Unit[] = []
  if (!EMOJI_LIKE.test(text) && !/[\u200c\u200d\ufe0e]/.test(text)) {
    for (const ch of text) out.push({ cp: ch.codePointAt(0)!, emoji: null })
    return out
  }
  for (const { segment } of graphemes.segment(text)) {
    const cps = [...segment].map(ch => ch.codePointAt(0)!)
    const visible = cps.filter(cp => !ZERO_WIDTH.has(cp))
    if (!visible.length) continue
    const pictographic = EMOJI_LIKE.test(segment)
    if (pictographic && (visible.length > 1 || prefersEmoji(segment) || !hasGlyph(fonts, font, visible[0]))) {
      out.push({ cp: visible[0], emoji: segment })
      continue
    }
    for (const cp of visible) out.push({ cp, emoji: null })
  }
  return out
}

/** Emoji and symbol pictures in a line of text (what the layout model reports as placed symbols). */
export function emojiIn(fonts: FontSet, role: FontRole, text: string): string[] {
  return units(fonts, fonts.get(role), text).flatMap(u => (u.emoji ? [u.emoji] : []))
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

/** Advance widths in em and unit counts, per font set, role and text (tokens recur across sizes and attempts). */
const advances = new WeakMap<FontSet, Map<string, [number, number]>>()

function emWidth(fonts: FontSet, text: string, role: FontRole): [number, number] {
  let cache = advances.get(fonts)
  if (!cache) { cache = new Map(); advances.set(fonts, cache) }
  const k = role + '\u0000' + text
  const hit = cache.get(k)
  if (hit) return hit
  const font = fonts.get(role)
  let em = 0
  let n = 0
  for (const u of units(fonts, font, text)) {
    if (u.emoji) em += EMOJI_ADVANCE
    else {
      const { g, font: f } = glyphFor(fonts, font, u.cp)
      em += g.advance / f.unitsPerEm
    }
    n++
  }
  const r: [number, number] = [em, n]
  if (cache.size > 50_000) cache.clear()
  cache.set(k, r)
  return r
}

export function measure(fonts: FontSet, text: string, role: FontRole, size: number, tracking = 0): number {
  const [em, n] = emWidth(fonts, text, role)
  return em * size + Math.max(0, n - 1) * tracking * size
}

const segmenter = new Intl.Segmenter('zh', { granularity: 'word' })

/**
 * Break opportunities: between words (ICU's dictionary segmentation keeps Chinese words such as
 * 经营 or 分析 together), at spaces, never before closing or after opening punctuation.
 * Words longer than a line are split by character later.
 */
const tokenCache = new Map<string, string[]>()

function tokenize(text: string): string[] {
  const hit = tokenCache.get(text)
  if (hit) return hit
  const tokens = tokenizeUncached(text)
  if (tokenCache.size > 5_000) tokenCache.clear()
  tokenCache.set(text, tokens)
  return tokens
}

function tokenizeUncached(text: string): string[] {
  const tokens: string[] = []
  for (const { segment } of segmenter.segment(text)) {
    if (/^\s+$/.test(segment)) { if (tokens[tokens.length - 1] !== ' ') tokens.push(' '); continue }
    const first = [...segment][0]
    const prev = tokens[tokens.length - 1]
    if (NO_START.has(first) && prev && prev !== ' ') { tokens[tokens.length - 1] = prev + segment; continue }
    if (prev && prev !== ' ' && NO_END.has([...prev].pop() ?? '')) { tokens[tokens.length - 1] = prev + segment; continue }
    // a minus sign stays with its number ("-0.3", "−5")
    if (prev && /^[-−+]$|[\s(（][-−]$/.test(prev) && /^\d/.test(segment)) { tokens[tokens.length - 1] = prev + segment; continue }
    tokens.push(segment)
  }
  return tokens
}

/** Greedy line breaking of one paragraph. Words longer than a line are split by character. */
export function wrap(fonts: FontSet, text: string, role: FontRole, size: number, maxWidth: number, tracking = 0): string[] {
  const lines: string[] = []
  let line = ''
  // widths add up (no kerning across tokens): the line's width is kept, not measured again
  let lineW = 0
  let lineN = 0
  const t = tracking * size
  const add = (w: number, n: number, s: string) => { lineW += (lineN && n ? t : 0) + w; lineN += n; line += s }
  const reset = () => { line = ''; lineW = 0; lineN = 0 }
  const em = (s: string) => emWidth(fonts, s, role)
  for (const token of tokenize(text)) {
    if (token === ' ') { if (line) { const [e, n] = em(' '); add(e * size + (n - 1) * t, n, ' ') } continue }
    const [te, tn] = em(token)
    const tw = te * size + Math.max(0, tn - 1) * t
    if (lineW + (lineN ? t : 0) + tw <= maxWidth) { add(tw, tn, token); continue }
    if (line.trim()) lines.push(line.trimEnd())
    reset()
    if (tw <= maxWidth) { add(tw, tn, token); continue }
    for (const { segment: ch } of graphemes.segment(token)) {
      const [ce, cn] = em(ch)
      const cw = ce * size + Math.max(0, cn - 1) * t
      if (line && lineW + t + cw > maxWidth) { lines.push(line); reset() }
      add(cw, cn, ch)
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
  for (const u of units(fonts, font, text)) {
    if (u.emoji) {
      parts.push(emojiSvg(u.emoji, x + pen, baseline, size))
      pen += EMOJI_ADVANCE * size + tracking * size
      continue
    }
    const { g, font: f } = glyphFor(fonts, font, u.cp)
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
