// The body of a content page as a layout model: sub-headings, bullets, numbered items, paragraphs
// and tables placed in a box. Nothing is dropped: the type shrinks, then flows into two columns,
// and only at the smallest size in two columns is the rest cut, with "…" and `shortened` set.
import type { Block } from './blocks.js'
import { circle, line, rect } from './svg.js'
import { blockToSvg, ellipsize, lineToSvg, measure, wrap } from './text.js'
import type { FittedBlock, TextSpec } from './text.js'
import type { Box, Ctx, SlideStyle, TextNode } from './types.js'

export interface BodyOptions {
  maxSize: number
  minSize: number
  /** colours of the page type: body text, headings */
  body: string
  heading: string
}

export interface BodyLayout {
  svg: string
  nodes: TextNode[]
  size: number
  columns: 1 | 2
  shortened: boolean
}

const LH = 1.45

interface Piece {
  block: number
  height: number
  /** space above the piece when it is not first in its column */
  gap: number
  draw(x: number, y: number, w: number, out: string[], nodes: TextNode[]): void
  /** the same piece cut to at most `h` (its last line ends with "…"), or null when nothing fits */
  cut(h: number): Piece | null
  /** the same piece, whole, marked as the last one placed: its last line ends with "…" */
  end(): Piece
}

const badgeColour = (style: SlideStyle) => style.palette.accent

/** The pieces of a column of width w at body size s. */
function pieces(c: Ctx, style: SlideStyle, blocks: Block[], s: number, w: number, o: BodyOptions): Piece[] {
  const fonts = c.fonts
  const textPiece = (bi: number, role: TextNode['role'], text: string, font: TextSpec['role'], size: number, color: string, indent: number, gap: number, marker: ((x: number, cy: number, out: string[]) => void) | null, markerText?: string): Piece => {
    const make = (lines: string[], truncated: boolean): Piece => {
      const lh = size * LH
      return {
        block: bi, gap, height: lines.length * lh,
        draw(x, y, _w, out, nodes) {
          const spec: TextSpec = { role: font, color, maxSize: size, minSize: size, lineHeight: LH }
          const fb: FittedBlock = { size, truncated, lines: lines.map(t => ({ text: t, paragraph: 0, width: measure(fonts, t, font, size) })), bounds: { x: x + indent, y, w: 0, h: lines.length * lh } }
          fb.bounds.w = fb.lines.reduce((m, l) => Math.max(m, l.width), 0)
          out.push(blockToSvg(fonts, fb, spec, { x: x + indent, y, w: w - indent, h: fb.bounds.h }))
          if (marker) marker(x, y + lh / 2, out)
          nodes.push({ role, lines, size, bounds: { x, y, w: fb.bounds.w + indent, h: fb.bounds.h }, truncated, block: bi, ...(markerText ? { marker: markerText } : {}) })
        },
        cut(h) {
          const n = Math.floor((h + 0.01) / lh)
          if (n < 1) return null
          if (n >= lines.length) return this
          const kept = lines.slice(0, n)
          kept[n - 1] = ellipsize(fonts, kept[n - 1], font, size, w - indent)
          return make(kept, true)
        },
        end() {
          const kept = [...lines]
          kept[kept.length - 1] = ellipsize(fonts, kept[kept.length - 1], font, size, w - indent)
          return make(kept, true)
        },
      }
    }
    return make(wrap(fonts, text, font, size, w - indent), false)
  }

  const out: Piece[] = []
  let bulletIndex = 0
  blocks.forEach((b, bi) => {
    const first = bi === 0
    switch (b.kind) {
      case 'heading': {
        const hs = Math.round(s * 1.08)
        out.push(textPiece(bi, 'heading', b.text, style.fonts.title, hs, o.heading, 0, first ? 0 : s * 0.9, null))
        break
      }
      case 'paragraph':
        out.push(textPiece(bi, 'body', b.text, style.fonts.body, s, o.body, 0, first ? 0 : s * 0.5, null))
        break
      case 'bullet': {
        const i = bulletIndex++
        out.push(textPiece(bi, 'item', b.text, style.fonts.body, s, o.body, style.bulletIndent * s, first ? 0 : s * 0.5,
          (x, cy, svg) => svg.push(style.bullet(c, x, cy, s, i))))
        break
      }
      case 'numbered': {
        const label = String(b.number)
        const r = s * 0.56
        out.push(textPiece(bi, 'item', b.text, style.fonts.body, s, o.body, r * 2 + s * 0.45, first ? 0 : s * 0.5, (x, cy, svg) => {
          const ns = s * (label.length > 1 ? 0.62 : 0.72)
          const tw = measure(fonts, label, 'sansBold', ns)
          svg.push(circle(x + r, cy, r, badgeColour(style)) + `<g fill="${style.palette.onAccent}">${lineToSvg(fonts, label, 'sansBold', ns, x + r - tw / 2, cy + ns * 0.36)}</g>`)
        }, label))
        break
      }
      case 'table':
        out.push(tablePiece(c, style, bi, b.rows, s * 0.86, w, first ? 0 : s * 0.8, o))
        break
    }
  })
  return out
}

/** A table: header row in the accent colour, rules between rows, columns sized by their content. */
function tablePiece(c: Ctx, style: SlideStyle, bi: number, rows: string[][], ts: number, w: number, gap: number, o: BodyOptions): Piece {
  const fonts = c.fonts
  const pad = ts * 0.55
  const cols = rows[0].length
  const natural = Array.from({ length: cols }, (_, j) => Math.max(...rows.map((r, i) => measure(fonts, r[j] ?? '', i === 0 ? 'sansBold' : style.fonts.body, ts))) + pad * 2)
  const total = natural.reduce((a, b) => a + b, 0)
  const minCol = Math.min(w / cols, ts * 4)
  let widths = natural.map(n => (n / total) * w)
  if (widths.some(x => x < minCol)) {
    const spare = w - minCol * cols
    widths = natural.map(n => minCol + spare * (n / total))
  }
  const lh = ts * 1.3
  const wrapped = rows.map((r, i) => r.map((cell, j) => wrap(fonts, cell, i === 0 ? 'sansBold' : style.fonts.body, ts, widths[j] - pad * 2)))
  const heights = wrapped.map(r => Math.max(1, ...r.map(l => l.length)) * lh + pad * 1.3)
  const make = (count: number, truncated: boolean): Piece => ({
    block: bi, gap, height: heights.slice(0, count).reduce((a, b) => a + b, 0) + (truncated ? lh + pad : 0),
    draw(x, y, _w, out, nodes) {
      const p = style.palette
      let yy = y
      out.push(line(x, y, x + w, y, p.accent, 2))
      for (let i = 0; i < count; i++) {
        const h = heights[i]
        if (i === 0) out.push(rect(x, yy, w, h, p.accent))
        else if (i % 2 === 0) out.push(rect(x, yy, w, h, p.accent, { 'fill-opacity': 0.08 }))
        let xx = x
        for (let j = 0; j < cols; j++) {
          const role = i === 0 ? 'sansBold' as const : style.fonts.body
          const lines = wrapped[i][j]
          const color = i === 0 ? p.onAccent : o.body
          const glyphs = lines.map((t, k) => lineToSvg(fonts, t, role, ts, xx + pad, yy + pad * 0.65 + k * lh + (lh + ts * 0.7) / 2)).join('')
          out.push(`<g fill="${color}">${glyphs}</g>`)
          nodes.push({ role: 'cell', lines, size: ts, bounds: { x: xx, y: yy, w: widths[j], h }, truncated: false, block: bi, row: i, col: j })
          xx += widths[j]
        }
        yy += h
        out.push(line(x, yy, x + w, yy, i === count - 1 ? p.accent : p.muted, i === count - 1 ? 2 : 1, i === count - 1 ? {} : { 'stroke-opacity': 0.5 }))
      }
      if (truncated) {
        out.push(`<g fill="${o.body}">${lineToSvg(fonts, '…', style.fonts.body, ts, x + pad, yy + pad * 0.5 + (lh + ts * 0.7) / 2)}</g>`)
        nodes.push({ role: 'cell', lines: ['…'], size: ts, bounds: { x, y: yy, w, h: lh + pad }, truncated: true, block: bi, row: count, col: 0 })
      }
    },
    cut(h) {
      let n = 0
      let acc = 0
      while (n < rows.length && acc + heights[n] + lh + pad <= h + 0.01) { acc += heights[n]; n++ }
      return n >= 2 ? make(n, true) : null
    },
    end() {
      // the "…" row needs room: drop the last row for it
      return make(Math.max(1, rows.length - 1), true)
    },
  })
  return make(rows.length, false)
}

const heightOf = (ps: Piece[]) => ps.reduce((a, p, i) => a + p.height + (i ? p.gap : 0), 0)

/** Split pieces into two columns at the block boundary that best balances them (a heading stays with what follows). */
function split(ps: Piece[]): [Piece[], Piece[]] {
  let best: [Piece[], Piece[]] = [ps, []]
  let bestH = Infinity
  for (let k = 1; k < ps.length; k++) {
    if (ps[k - 1].block === ps[k].block) continue
    const a = ps.slice(0, k)
    const b = ps.slice(k)
    const h = Math.max(heightOf(a), heightOf(b))
    // a column may not end with a heading
    const penalty = isHeadingPiece(ps[k - 1]) ? 1e6 : 0
    if (h + penalty < bestH) { bestH = h + penalty; best = [a, b] }
  }
  return best
}
const headingPieces = new WeakSet<Piece>()
const isHeadingPiece = (p: Piece) => headingPieces.has(p)

function markHeadings(blocks: Block[], ps: Piece[]): Piece[] {
  for (const p of ps) if (blocks[p.block].kind === 'heading') headingPieces.add(p)
  return ps
}

/** Two columns when the page is a comparison of two headed sections. */
export function comparisonColumns(blocks: Block[]): boolean {
  const hs = blocks.map((b, i) => (b.kind === 'heading' ? i : -1)).filter(i => i >= 0)
  return hs.length === 2 && hs[0] === 0 && hs[1] > 1
}

/**
 * Place the blocks in `box` (design units). The largest size in [minSize, maxSize] at which everything
 * fits one column wins; then two columns (when the box is wide enough); at minSize in two columns what
 * does not fit is cut: the last placed line ends with "…" and `shortened` is true.
 */
export function layoutBody(c: Ctx, style: SlideStyle, blocks: Block[], box: Box, o: BodyOptions, prefer: 1 | 2 = 1): BodyLayout {
  const gapX = Math.max(36, box.w * 0.05)
  const twoOk = box.w >= 520 && blocks.length >= 2
  const colW = (n: 1 | 2) => (n === 1 ? box.w : (box.w - gapX) / 2)
  const arrange = (n: 1 | 2, s: number): Piece[][] => {
    const ps = markHeadings(blocks, pieces(c, style, blocks, s, colW(n), o))
    return n === 1 ? [ps] : split(ps)
  }
  const fits = (cols: Piece[][]) => cols.every(col => heightOf(col) <= box.h + 0.01)
  const search = (n: 1 | 2): { s: number; cols: Piece[][] } | null => {
    let lo = o.minSize
    let hi = o.maxSize
    let best: { s: number; cols: Piece[][] } | null = null
    const top = arrange(n, hi)
    if (fits(top)) return { s: hi, cols: top }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2)
      const cols = arrange(n, mid)
      if (fits(cols)) { lo = mid; best = { s: mid, cols } } else hi = mid
    }
    if (!best) {
      const cols = arrange(n, o.minSize)
      if (fits(cols)) best = { s: o.minSize, cols }
    }
    return best
  }
  const order: Array<1 | 2> = prefer === 2 && twoOk ? [2, 1] : twoOk ? [1, 2] : [1]
  // one column is preferred unless it needs text much smaller than two columns would
  let found: { s: number; cols: Piece[][]; n: 1 | 2 } | null = null
  for (const n of order) {
    const r = search(n)
    if (r && (!found || r.s > found.s * 1.1)) found = { ...r, n }
    if (r && n === order[0] && r.s >= o.maxSize * 0.7) break
  }
  let shortened = false
  let n: 1 | 2
  let s: number
  let cols: Piece[][]
  if (found) ({ n, s, cols } = found)
  else {
    n = twoOk ? 2 : 1
    s = o.minSize
    const all = markHeadings(blocks, pieces(c, style, blocks, s, colW(n), o))
    cols = [[]]
    let h = 0
    for (const p of all) {
      const col = cols[cols.length - 1]
      const need = p.height + (col.length ? p.gap : 0)
      if (h + need <= box.h + 0.01) { col.push(p); h += need; continue }
      if (cols.length < n && col.length) {
        // next column
        if (p.height <= box.h + 0.01) { cols.push([p]); h = p.height; continue }
        const part = p.cut(box.h)
        cols.push(part ? [part] : [])
        shortened = true
        break
      }
      const part = p.cut(box.h - h - (col.length ? p.gap : 0))
      if (part) col.push(part)
      else if (col.length) col[col.length - 1] = col[col.length - 1].end()
      shortened = true
      break
    }
  }
  // few short items: open up the spacing so the list fills the column like a designed slide
  const tallest = Math.max(...cols.map(heightOf))
  const fill = box.h * 0.62
  const stretch = !shortened && tallest < fill ? Math.min(s * 1.0, (fill - tallest) / Math.max(1, Math.max(...cols.map(col => col.length)) - 1)) : 0
  const out: string[] = []
  const nodes: TextNode[] = []
  cols.forEach((col, ci) => {
    const x = box.x + ci * (colW(n) + gapX)
    let y = box.y
    col.forEach((p, i) => {
      if (i) y += p.gap + stretch
      p.draw(x, y, colW(n), out, nodes)
      y += p.height
    })
  })
  return { svg: out.join(''), nodes, size: s, columns: n, shortened }
}
