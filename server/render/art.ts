// Content-page illustrations that vary across a deck: each template draws its own illustration, and
// these generic pictures in the template's palette stand in when the page talks about numbers (chart),
// steps (flow) or nothing in particular (target, network), chosen by topic and page position.
import type { Block } from './blocks.js'
import { topicOf } from './blocks.js'
import { circle, line, path, poly, rect } from './svg.js'
import type { Box, Ctx, Palette } from './types.js'

/** illustration: the template's own; none: the body uses the illustration's space (tables, comparisons) */
export type ArtKind = 'illustration' | 'chart' | 'flow' | 'target' | 'network' | 'none'

/**
 * The illustration of a content page. Topic first (numbers → chart, steps → flow), else by page
 * position, so neighbouring pages differ. A template whose own illustration is a chart keeps it for
 * numbers and uses the generic pictures otherwise.
 */
export function chooseArt(blocks: Block[], pageNumber: number, ownArt: 'chart' | 'illustration', wideBody: boolean): ArtKind {
  if (wideBody) return 'none'
  const topic = topicOf(blocks)
  if (topic === 'numbers') return ownArt === 'chart' ? 'illustration' : 'chart'
  if (topic === 'steps') return 'flow'
  // odd pages the template's own picture, even pages alternate two generic ones
  const n = Math.abs(pageNumber)
  if (ownArt !== 'chart' && n % 2 === 1) return 'illustration'
  return ['target', 'network'][Math.floor(n / 2) % 2] as ArtKind
}

/**
 * Draws the page's illustration into `a`: the template's own (`own`), a generic one in its palette
 * (on the template's panel `frame`, if any), or nothing. Records the area on the context.
 */
export function contentArt(c: Ctx, p: Palette, a: Box, own: () => string, frame: () => string = () => ''): string {
  const kind = c.art ?? 'illustration'
  if (kind === 'none') return ''
  c.artBox = a
  if (kind === 'illustration') return own()
  return frame() + generic(kind, p, a)
}

function generic(kind: Exclude<ArtKind, 'illustration' | 'none'>, p: Palette, a: Box): string {
  const pad = Math.min(a.w, a.h) * 0.12
  const x = a.x + pad
  const y = a.y + pad
  const w = a.w - 2 * pad
  const h = a.h - 2 * pad
  const cols = [p.accent, p.accent2, p.accent3]
  switch (kind) {
    case 'chart': {
      const vals = [0.42, 0.6, 0.5, 0.78, 0.92]
      const bw = w / (vals.length * 1.5)
      const bars = vals.map((v, i) => rect(x + i * bw * 1.5 + bw * 0.25, y + h - h * 0.8 * v, bw, h * 0.8 * v, cols[i % 3], { rx: 3, 'fill-opacity': i === vals.length - 1 ? 1 : 0.75 })).join('')
      const pts = vals.map((v, i) => [x + i * bw * 1.5 + bw * 0.75, y + h - h * 0.8 * v - 22] as [number, number])
      return line(x, y + h, x + w, y + h, p.muted, 2) + bars +
        path('M' + pts.map(q => q.map(Math.round).join(' ')).join(' L'), 'none', { stroke: p.title, 'stroke-width': 3, 'stroke-linejoin': 'round', 'stroke-opacity': 0.8 }) +
        pts.map(([px, py]) => circle(px, py, 5, p.bg, { stroke: p.title, 'stroke-width': 2.5 })).join('')
    }
    case 'flow': {
      // three steps joined by arrows, down a tall area or across a wide one
      const vertical = h > w
      const n = 3
      const size = vertical ? Math.min(w * 0.5, h / (n * 1.6)) : Math.min(h * 0.5, w / (n * 1.6))
      const step = ((vertical ? h : w) - size) / (n - 1)
      let out = ''
      for (let i = 0; i < n; i++) {
        const cx = vertical ? x + w / 2 : x + size / 2 + i * step
        const cy = vertical ? y + size / 2 + i * step : y + h / 2
        if (i < n - 1) {
          const [x1, y1, x2, y2] = vertical ? [cx, cy + size * 0.62, cx, cy + step - size * 0.62] : [cx + size * 0.62, cy, cx + step - size * 0.62, cy]
          out += line(x1, y1, x2, y2, p.muted, 3, { 'stroke-linecap': 'round' }) +
            (vertical ? poly([[x2 - 9, y2 - 12], [x2 + 9, y2 - 12], [x2, y2]], p.muted) : poly([[x2 - 12, y2 - 9], [x2 - 12, y2 + 9], [x2, y2]], p.muted))
        }
        out += rect(cx - size / 2, cy - size / 2, size, size, cols[i % 3], { rx: size * 0.22 }) +
          rect(cx - size * 0.28, cy - size * 0.12, size * 0.56, size * 0.08, p.onAccent, { rx: 3, 'fill-opacity': 0.9 }) +
          rect(cx - size * 0.28, cy + size * 0.06, size * 0.36, size * 0.08, p.onAccent, { rx: 3, 'fill-opacity': 0.6 })
      }
      return out
    }
    case 'target': {
      const cx = x + w / 2
      const cy = y + h / 2
      const r = Math.min(w, h) * 0.42
      return [1, 0.72, 0.44].map((k, i) => circle(cx, cy, r * k, i % 2 ? p.bg : cols[i % 3], { 'fill-opacity': i % 2 ? 1 : 0.85 })).join('') +
        circle(cx, cy, r * 0.18, p.accent2) +
        line(cx + r * 1.0, cy - r * 1.0, cx + 4, cy - 4, p.title, 4, { 'stroke-linecap': 'round' }) +
        poly([[cx + r * 1.0, cy - r * 1.0], [cx + r * 1.0 + 18, cy - r * 1.0 - 4], [cx + r * 1.0 + 4, cy - r * 1.0 - 18]], p.title)
    }
    case 'network': {
      const pts: Array<[number, number]> = [[0.5, 0.5], [0.18, 0.2], [0.82, 0.24], [0.15, 0.78], [0.85, 0.8], [0.5, 0.08], [0.5, 0.94]]
      const at = ([u, v]: [number, number]) => [x + u * w, y + v * h] as [number, number]
      const edges = pts.slice(1).map(q => { const [x1, y1] = at(pts[0]); const [x2, y2] = at(q); return line(x1, y1, x2, y2, p.muted, 2, { 'stroke-opacity': 0.7 }) }).join('') +
        line(...at(pts[1]), ...at(pts[3]), p.muted, 1.5, { 'stroke-opacity': 0.5, 'stroke-dasharray': '6 6' }) + line(...at(pts[2]), ...at(pts[4]), p.muted, 1.5, { 'stroke-opacity': 0.5, 'stroke-dasharray': '6 6' })
      const r = Math.min(w, h) * 0.07
      return edges + pts.map((q, i) => { const [px, py] = at(q); return circle(px, py, i === 0 ? r * 1.8 : r, cols[i % 3]) + (i === 0 ? circle(px, py, r * 0.8, p.bg) : '') }).join('')
    }
  }
}
