// 专业商务风 / 科技未来感 / 极简黑白 / 学术蓝灰: the restrained, grid-driven styles.
import { lineToSvg, measure } from '../text.js'
import { circle, group, line, linear, path, poly, radial, rect, star } from '../svg.js'
import type { Ctx, SlideStyle } from '../types.js'
import { artBox, grid, isHero } from './common.js'
import { contentArt } from '../art.js'

/** A number centred in a badge (contents pages), drawn as glyph outlines. */
export function badgeNumber(c: Ctx, n: number, cx: number, cy: number, size: number, color: string, role: 'sansBold' | 'sansBlack' | 'serifBold' = 'sansBold'): string {
  const t = String(n + 1).padStart(2, '0')
  const w = measure(c.fonts, t, role, size)
  return `<g fill="${color}">${lineToSvg(c.fonts, t, role, size, cx - w / 2, cy + size * 0.36)}</g>`
}

export const businessPro: SlideStyle = {
  key: 'business_pro',
  palette: { bg: '#ffffff', title: '#0f2a5f', body: '#334155', muted: '#94a3b8', accent: '#2563eb', accent2: '#1e40af', accent3: '#1e3a8a', onAccent: '#ffffff' },
  fonts: { title: 'sansBold', body: 'sans', number: 'sansBlack' },
  align: () => 'start',
  bulletIndent: 1.2,
  ownArt: 'chart',
  regions(c) {
    if (c.kind === 'transition') return grid(c, { left: c.narrow ? 0 : 40 })
    if (c.kind === 'contents') return grid(c, { left: c.narrow ? 0 : c.W * 0.3 - 40 })
    return grid(c, { art: 0.36, heroWidth: 0.56, titleTop: 40 })
  },
  colors(c) {
    return c.kind === 'transition' || c.kind === 'end'
      ? { title: '#ffffff', body: '#dbeafe', muted: '#93c5fd', number: '#60a5fa' }
      : { title: '#0f2a5f', body: '#334155', muted: '#94a3b8', number: '#2563eb' }
  },
  bullet(c, x, cy, size, i) {
    if (c.kind === 'contents') {
      const s = size * 1.1
      return rect(x, cy - s / 2, s, s, i % 2 ? '#1e40af' : '#2563eb', { rx: 3 }) + badgeNumber(c, i, x + s / 2, cy, size * 0.5, '#ffffff')
    }
    const s = size * 0.36
    return rect(x + 2, cy - s / 2, s, s, '#2563eb', { transform: `rotate(45 ${x + 2 + s / 2} ${cy})` })
  },
  titleAccent(c, b) {
    if (c.kind === 'content') return rect(b.x - 22, b.y + 6, 6, b.h - 12, '#2563eb', { rx: 1 })
    if (c.kind === 'cover') return rect(b.x, b.y + b.h + 12, 84, 5, '#2563eb', { rx: 1 })
    return ''
  },
  backdrop(c) {
    const { W, H } = c
    if (c.kind === 'transition' || c.kind === 'end') {
      const [d1, g1] = linear(c, [[0, '#1e3a8a'], [1, '#1e40af']], 0, 0, 1, 1)
      const [d2, g2] = linear(c, [[0, '#3b82f6', 0.55], [1, '#2563eb', 0]], 0, 0, 1, 0)
      return d1 + d2 + rect(0, 0, W, H, g1) +
        poly([[W * 0.62, 0], [W, 0], [W, H], [W * 0.42, H]], g2) +
        poly([[W * 0.8, 0], [W, 0], [W, H * 0.55]], '#ffffff', { 'fill-opacity': 0.06 }) +
        circle(W * 0.86, H * 0.78, 140, 'none', { stroke: '#93c5fd', 'stroke-opacity': 0.35, 'stroke-width': 2 }) +
        circle(W * 0.86, H * 0.78, 96, 'none', { stroke: '#93c5fd', 'stroke-opacity': 0.25, 'stroke-width': 2 }) +
        rect(c.narrow ? 48 : 84, H * 0.12, 60, 6, '#60a5fa') +
        rect(0, H - 10, W, 10, '#2563eb')
    }
    const top = rect(0, 0, W, H, '#ffffff') + rect(0, 0, W, 8, '#1e3a8a') + rect(0, 8, W * 0.22, 4, '#2563eb')
    const footer = line(60, H - 52, W - 60, H - 52, '#e2e8f0', 1.5) + rect(60, H - 56, 36, 8, '#2563eb')
    if (c.kind === 'cover') {
      const px = c.narrow ? W * 0.1 : W * 0.6
      const [d1, g1] = linear(c, [[0, '#1e40af'], [1, '#1e3a8a']], 0, 0, 0, 1)
      const [d2, g2] = linear(c, [[0, '#60a5fa', 0.8], [1, '#2563eb', 0.1]], 0, 0, 1, 1)
      return d1 + d2 + top +
        (c.narrow
          ? poly([[0, H * 0.86], [W, H * 0.7], [W, H], [0, H]], g1)
          : poly([[px + 90, 0], [W, 0], [W, H], [px - 60, H]], g1) +
            poly([[px + 190, 0], [px + 330, 0], [px + 110, H], [px - 30, H]], g2) +
            poly([[W - 200, H * 0.58], [W, H * 0.36], [W, H]], '#ffffff', { 'fill-opacity': 0.08 }) +
            bizChart(W * 0.72, H * 0.2, W * 0.22, H * 0.34)) +
        rect(84, H * 0.13, 40, 40, 'none', { stroke: '#2563eb', 'stroke-width': 3 }) + rect(96, H * 0.13 + 12, 28, 28, '#2563eb') +
        (c.narrow ? '' : line(84, H - 60, px - 120, H - 60, '#e2e8f0', 1.5))
    }
    if (c.kind === 'contents') {
      const bw = c.narrow ? 0 : W * 0.3 - 84
      const [d1, g1] = linear(c, [[0, '#1e40af'], [1, '#1e3a8a']], 0, 0, 0, 1)
      const bx = bw + 24
      return d1 + top + (c.narrow ? footer : rect(0, 0, bx, H, g1) + poly([[0, H * 0.62], [bx, H * 0.42], [bx, H], [0, H]], '#2563eb', { 'fill-opacity': 0.5 }) +
        rect(bx * 0.22, H * 0.16, bx * 0.56, bx * 0.56, 'none', { stroke: '#93c5fd', 'stroke-opacity': 0.35, 'stroke-width': 2 }) +
        rect(bx * 0.32, H * 0.16 + bx * 0.1, bx * 0.56, bx * 0.56, '#60a5fa', { 'fill-opacity': 0.18 }) +
        group([0, 1, 2, 3].map(i => rect(40 + i * 22, H - 84, 12, 12, '#93c5fd', { 'fill-opacity': 0.4 + i * 0.15 })).join('')) +
        line(bx + 60, H - 52, W - 60, H - 52, '#e2e8f0', 1.5) + rect(bx + 60, H - 56, 36, 8, '#2563eb'))
    }
    // content
    const a = artBox(c, 0.36)
    const panel = () => rect(a.x, a.y, a.w, a.h, '#eff6ff', { rx: 6 }) + rect(a.x, a.y, a.w, 6, '#2563eb', { rx: 2 })
    return top + footer + (c.narrow ? '' : contentArt(c, businessPro.palette, a, () => panel() + bizChart(a.x + 40, a.y + 50, a.w - 80, a.h - 100), panel))
  },
}

/** Rising bars with a trend arrow (business art). */
function bizChart(x: number, y: number, w: number, h: number): string {
  const vals = [0.35, 0.5, 0.45, 0.68, 0.82]
  const bw = w / (vals.length * 1.6)
  const bars = vals.map((v, i) => {
    const bx = x + i * bw * 1.6 + bw * 0.3
    return rect(bx, y + h - h * v, bw, h * v, i === vals.length - 1 ? '#2563eb' : '#93c5fd', { rx: 2 })
  }).join('')
  const pts = vals.map((v, i) => [x + i * bw * 1.6 + bw * 0.8, y + h - h * v - 26] as [number, number])
  const d = 'M' + pts.map(p => p.join(' ')).join(' L')
  const [lx, ly] = pts[pts.length - 1]
  return line(x, y + h, x + w, y + h, '#94a3b8', 2) + bars +
    path(d, 'none', { stroke: '#1e3a8a', 'stroke-width': 4, 'stroke-linejoin': 'round', 'stroke-linecap': 'round' }) +
    poly([[lx + 16, ly - 14], [lx - 6, ly - 12], [lx + 8, ly + 6]], '#1e3a8a') +
    pts.map(([px, py]) => circle(px, py, 6, '#ffffff', { stroke: '#1e3a8a', 'stroke-width': 3 })).join('')
}

export const techFuture: SlideStyle = {
  key: 'tech_future',
  palette: { bg: '#060b1a', title: '#ffffff', body: '#cbd5e1', muted: '#64748b', accent: '#0ea5e9', accent2: '#8b5cf6', accent3: '#ec4899', onAccent: '#ffffff' },
  fonts: { title: 'sansBold', body: 'sans', number: 'sansBlack' },
  align: k => (k === 'cover' || k === 'end' || k === 'transition' ? 'middle' : 'start'),
  bulletIndent: 1.3,
  regions(c) {
    if (isHero(c) || c.kind === 'transition') return grid(c, { heroAlign: 'middle', margin: 120 })
    return grid(c, { art: 0.34 })
  },
  colors: () => ({ title: '#f8fafc', body: '#cbd5e1', muted: '#64748b', number: '#38bdf8' }),
  bullet(c, x, cy, size, i) {
    const s = size * 0.32
    const col = ['#0ea5e9', '#8b5cf6', '#ec4899'][i % 3]
    if (c.kind === 'contents') {
      const r = size * 0.55
      return circle(x + r, cy, r, 'none', { stroke: col, 'stroke-width': 2 }) + circle(x + r, cy, r + 6, 'none', { stroke: col, 'stroke-opacity': 0.25, 'stroke-width': 6 }) + badgeNumber(c, i, x + r, cy, size * 0.42, '#e0f2fe')
    }
    return poly([[x + s, cy - s], [x + 2 * s, cy], [x + s, cy + s], [x, cy]], 'none', { stroke: col, 'stroke-width': 2.5 }) + circle(x + s, cy, s * 0.35, col)
  },
  titleAccent(c, b, align) {
    const [d, g] = linear(c, [[0, '#0ea5e9'], [0.5, '#8b5cf6'], [1, '#ec4899']], 0, 0, 1, 0)
    const w = 160
    const x = align === 'middle' ? b.x + b.w / 2 - w / 2 : b.x
    return d + rect(x, b.y + b.h + 14, w, 4, g, { rx: 2 })
  },
  backdrop(c) {
    const { W, H } = c
    const [d0, g0] = radial(c, [[0, '#16204a'], [1, '#050816']], 0.5, 0.35, 0.9)
    const [d1, g1] = radial(c, [[0, '#0ea5e9', 0.55], [1, '#0ea5e9', 0]])
    const [d2, g2] = radial(c, [[0, '#8b5cf6', 0.5], [1, '#8b5cf6', 0]])
    const [d3, g3] = radial(c, [[0, '#ec4899', 0.4], [1, '#ec4899', 0]])
    // perspective floor grid
    const hz = H * 0.7
    const floor: string[] = []
    // the grid fades in from the horizon: one gradient in user space shared by every floor line
    const fid = c.id('floor')
    const fade = `<defs><linearGradient id="${fid}" gradientUnits="userSpaceOnUse" x1="0" y1="${hz}" x2="0" y2="${H}"><stop offset="0" stop-color="#38bdf8" stop-opacity="0"/><stop offset="1" stop-color="#38bdf8" stop-opacity="0.45"/></linearGradient></defs>`
    for (let i = -12; i <= 12; i++) floor.push(line(W / 2 + i * 18, hz, W / 2 + i * 150, H + 20, `url(#${fid})`, 1.2))
    for (let k = 1; k < 7; k++) { const y = hz + Math.pow(k / 6, 1.8) * (H - hz + 10); floor.push(line(0, y, W, y, '#38bdf8', 1, { 'stroke-opacity': 0.05 + k * 0.04 })) }
    const circuit = (x: number, y: number, s: number) => group([
      path(`M${x} ${y} h${s} l${s * 0.4} ${s * 0.4} h${s * 0.9}`, 'none', { stroke: '#38bdf8', 'stroke-width': 1.5, 'stroke-opacity': 0.5 }),
      path(`M${x + s * 0.3} ${y + s * 0.5} h${s * 0.5} l${s * 0.5} ${s * 0.5} h${s * 1.2}`, 'none', { stroke: '#8b5cf6', 'stroke-width': 1.5, 'stroke-opacity': 0.5 }),
      circle(x + s * 2.3, y + s * 0.4, 4, '#38bdf8'), circle(x + s * 2.5, y + s, 4, '#a78bfa'), circle(x, y, 3, '#38bdf8'),
    ].join(''))
    const hex = (cx: number, cy: number, r: number, col: string, op: number) => poly(
      [0, 1, 2, 3, 4, 5].map(i => [cx + r * Math.cos(Math.PI / 3 * i + Math.PI / 6), cy + r * Math.sin(Math.PI / 3 * i + Math.PI / 6)] as [number, number]), 'none', { stroke: col, 'stroke-opacity': op, 'stroke-width': 1.5 })
    const base = d0 + d1 + d2 + d3 + fade + rect(0, 0, W, H, g0) + floor.join('')
    const stars = Array.from({ length: 40 }, (_, i) => circle((i * 137.5) % W, ((i * 71) % (H * 0.6)) + 10, (i % 3) * 0.6 + 0.6, '#e0f2fe', { 'fill-opacity': 0.25 + (i % 4) * 0.12 })).join('')
    if (isHero(c) || c.kind === 'transition') {
      return base + stars + circle(W * 0.18, H * 0.3, 260, g2) + circle(W * 0.82, H * 0.62, 300, g1) + circle(W * 0.5, H * 0.95, 280, g3) +
        circle(W / 2, H * 0.47, Math.min(W, H) * 0.42, 'none', { stroke: '#38bdf8', 'stroke-opacity': 0.18, 'stroke-width': 1.5 }) +
        path(`M${W / 2 - H * 0.46} ${H * 0.47} A${H * 0.46} ${H * 0.46} 0 0 1 ${W / 2 + H * 0.1} ${H * 0.02}`, 'none', { stroke: '#0ea5e9', 'stroke-width': 3, 'stroke-linecap': 'round', 'stroke-opacity': 0.8 }) +
        path(`M${W / 2 + H * 0.46} ${H * 0.47} A${H * 0.46} ${H * 0.46} 0 0 1 ${W / 2 - H * 0.1} ${H * 0.92}`, 'none', { stroke: '#ec4899', 'stroke-width': 3, 'stroke-linecap': 'round', 'stroke-opacity': 0.7 }) +
        circuit(40, 50, 60) + circuit(W - 230, H - 150, 60) + hex(W - 120, 110, 46, '#8b5cf6', 0.5) + hex(W - 190, 150, 28, '#0ea5e9', 0.5) + hex(110, H - 120, 36, '#ec4899', 0.4)
    }
    const a = artBox(c, 0.34)
    const cx = a.x + a.w / 2
    const cy = a.y + a.h / 2
    const r = Math.min(a.w, a.h) * 0.38
    const rings = c.narrow || c.kind === 'contents' ? '' : contentArt(c, techFuture.palette, a, () => circle(cx, cy, r * 1.6, g1) +
      [1, 0.78, 0.56].map((k, i) => circle(cx, cy, r * k, 'none', { stroke: ['#0ea5e9', '#8b5cf6', '#ec4899'][i], 'stroke-width': 2, 'stroke-opacity': 0.8, 'stroke-dasharray': i === 1 ? '12 8' : undefined })).join('') +
      Array.from({ length: 8 }, (_, i) => {
        const ang = (i / 8) * Math.PI * 2
        return circle(cx + Math.cos(ang) * r, cy + Math.sin(ang) * r, 5, i % 2 ? '#38bdf8' : '#f0abfc')
      }).join('') + hex(cx, cy, r * 0.3, '#e0f2fe', 0.8) + circle(cx, cy, r * 0.12, '#38bdf8'))
    return base + stars + circle(W * 0.9, H * 0.1, 260, g2) + circle(W * 0.05, H * 0.95, 240, g1) + rings +
      circuit(W - 260, 40, 50) + rect(0, 0, 4, H, '#0ea5e9', { 'fill-opacity': 0.6 })
  },
}

export const minimalMono: SlideStyle = {
  key: 'minimal_mono',
  palette: { bg: '#ffffff', title: '#0a0a0a', body: '#3f3f46', muted: '#a1a1aa', accent: '#0a0a0a', accent2: '#52525b', accent3: '#d4d4d8', onAccent: '#ffffff' },
  fonts: { title: 'sansBold', body: 'sans', number: 'sansBlack' },
  align: () => 'start',
  bulletIndent: 1.4,
  regions(c) {
    if (c.kind === 'transition') return grid(c, { margin: 110 })
    return grid(c, { margin: 110, art: c.kind === 'content' ? 0.3 : undefined, heroWidth: 0.6, titleTop: 80 })
  },
  colors: c => (c.kind === 'transition'
    ? { title: '#ffffff', body: '#d4d4d8', muted: '#71717a', number: '#ffffff' }
    : { title: '#0a0a0a', body: '#3f3f46', muted: '#a1a1aa', number: '#0a0a0a' }),
  bullet(c, x, cy, size, i) {
    if (c.kind === 'contents') return badgeNumber(c, i, x + size * 0.5, cy, size * 0.62, '#0a0a0a', 'sansBlack') + line(x + size * 1.15, cy - size * 0.45, x + size * 1.15, cy + size * 0.45, '#d4d4d8', 1.5)
    return rect(x + 2, cy - size * 0.09, size * 0.18, size * 0.18, '#0a0a0a')
  },
  titleAccent(c, b) {
    return c.kind === 'content' || c.kind === 'contents' ? line(b.x, b.y + b.h + 16, b.x + 40, b.y + b.h + 16, '#0a0a0a', 3) : ''
  },
  backdrop(c) {
    const { W, H } = c
    if (c.kind === 'transition') {
      return rect(0, 0, W, H, '#0a0a0a') + circle(W * 0.82, H * 0.5, H * 0.3, 'none', { stroke: '#ffffff', 'stroke-width': 1.5, 'stroke-opacity': 0.8 }) +
        circle(W * 0.82 + H * 0.14, H * 0.5, H * 0.3, 'none', { stroke: '#ffffff', 'stroke-width': 1, 'stroke-opacity': 0.35 }) +
        line(110, H - 70, W - 110, H - 70, '#3f3f46', 1)
    }
    const frame = rect(0, 0, W, H, '#ffffff') + line(110, 60, W - 110, 60, '#0a0a0a', 1) + rect(110, 56, 8, 8, '#0a0a0a') + line(110, H - 60, W - 110, H - 60, '#e4e4e7', 1)
    if (isHero(c)) {
      return frame + (c.narrow ? '' : rect(W * 0.76, 60, W * 0.24 - 110, H - 120, '#0a0a0a') +
        circle(W * 0.76, H * 0.5, H * 0.17, '#ffffff') + circle(W * 0.76, H * 0.5, H * 0.17, 'none', { stroke: '#0a0a0a', 'stroke-width': 1.5 }) +
        line(W * 0.76 - H * 0.17, H * 0.5, W * 0.76 + H * 0.17, H * 0.5, '#0a0a0a', 1.5))
    }
    if (c.kind === 'content' && !c.narrow) {
      const a = artBox(c, 0.3, { margin: 110, top: 60, bottom: 60 })
      const x = a.x + 30
      const w = W - x
      const cx = x + w * 0.45
      const cy = H * 0.5
      const r = Math.min(w * 0.3, 120)
      return frame + contentArt(c, minimalMono.palette, { x, y: 60, w, h: H - 120 }, () => rect(x, 60, w, H - 120, '#0a0a0a') +
        circle(cx, cy, r, '#ffffff') + circle(cx + r * 0.9, cy, r, 'none', { stroke: '#ffffff', 'stroke-width': 1.5 }) +
        line(x + 40, cy + r + 60, W - 40, cy + r + 60, '#52525b', 1) + rect(x + 40, cy + r + 56, 8, 8, '#ffffff') +
        line(cx, 100, cx, cy - r - 30, '#52525b', 1))
    }
    return frame
  },
}

export const academicSlate: SlideStyle = {
  key: 'academic_slate',
  palette: { bg: '#f8fafc', title: '#1e293b', body: '#334155', muted: '#94a3b8', accent: '#475569', accent2: '#64748b', accent3: '#cbd5e1', onAccent: '#ffffff' },
  fonts: { title: 'serifBold', body: 'sans', number: 'serifBold' },
  align: k => (k === 'cover' || k === 'end' ? 'middle' : 'start'),
  bulletIndent: 1.3,
  regions(c) {
    if (isHero(c)) return grid(c, { heroAlign: 'middle', margin: 140 })
    if (c.kind === 'transition') return grid(c, { left: c.narrow ? 0 : c.W * 0.28 })
    return grid(c, { art: 0.36, titleTop: 58, margin: 72 })
  },
  colors: c => (c.kind === 'transition'
    ? { title: '#1e293b', body: '#475569', muted: '#94a3b8', number: '#94a3b8' }
    : { title: '#1e293b', body: '#334155', muted: '#94a3b8', number: '#475569' }),
  bullet(c, x, cy, size, i) {
    if (c.kind === 'contents') return rect(x, cy - size * 0.5, size, size, '#475569', { rx: 2 }) + badgeNumber(c, i, x + size / 2, cy, size * 0.5, '#ffffff', 'serifBold')
    const s = size * 0.3
    return rect(x + 3, cy - s / 2, s, s, 'none', { stroke: '#475569', 'stroke-width': 2 })
  },
  titleAccent(c, b, align) {
    if (c.kind === 'cover' || c.kind === 'end') {
      const cx = b.x + b.w / 2
      return line(cx - 160, b.y + b.h + 22, cx - 20, b.y + b.h + 22, '#94a3b8', 1.5) + rect(cx - 6, b.y + b.h + 16, 12, 12, '#475569', { transform: `rotate(45 ${cx} ${b.y + b.h + 22})` }) + line(cx + 20, b.y + b.h + 22, cx + 160, b.y + b.h + 22, '#94a3b8', 1.5)
    }
    return align === 'start' && c.kind !== 'transition' ? line(b.x, b.y + b.h + 12, b.x + b.w, b.y + b.h + 12, '#cbd5e1', 1) : ''
  },
  backdrop(c) {
    const { W, H } = c
    const shield = (cx: number, cy: number, s: number, col: string, op: number) =>
      path(`M${cx - s} ${cy - s * 1.1} H${cx + s} V${cy} Q${cx + s} ${cy + s * 0.9} ${cx} ${cy + s * 1.35} Q${cx - s} ${cy + s * 0.9} ${cx - s} ${cy} Z`, 'none', { stroke: col, 'stroke-opacity': op, 'stroke-width': 3 }) +
      path(star(cx, cy - s * 0.05, s * 0.5), 'none', { stroke: col, 'stroke-opacity': op, 'stroke-width': 3, 'stroke-linejoin': 'round' })
    const paper = rect(0, 0, W, H, '#f8fafc')
    if (isHero(c)) {
      const [d, g] = linear(c, [[0, '#334155'], [1, '#475569']], 0, 0, 1, 0)
      return d + paper + rect(0, 0, W, 22, g) + rect(0, H - 22, W, 22, g) + rect(40, 50, W - 80, H - 100, 'none', { stroke: '#94a3b8', 'stroke-width': 1 }) +
        rect(48, 58, W - 96, H - 116, 'none', { stroke: '#cbd5e1', 'stroke-width': 1 }) + shield(W / 2, H * 0.14, 26, '#475569', 0.9) +
        group(Array.from({ length: 9 }, (_, i) => line(W / 2 - 280 + i * 70, H - 86, W / 2 - 250 + i * 70, H - 86, '#cbd5e1', 2)).join(''))
    }
    if (c.kind === 'transition') {
      const bw = c.narrow ? 0 : W * 0.28
      return paper + rect(0, 0, bw, H, '#334155') + shield(bw / 2, H * 0.5, 60, '#ffffff', 0.25) +
        line(bw + 84, H * 0.4, W - 84, H * 0.4, '#cbd5e1', 1) + rect(bw, 0, 10, H, '#64748b')
    }
    const head = rect(0, 0, W, 34, '#334155') + rect(0, 34, W, 4, '#94a3b8') + shield(W - 210, 17, 9, '#e2e8f0', 0.9) +
      line(72, H - 50, W - 72, H - 50, '#cbd5e1', 1)
    if (c.kind !== 'content' || c.narrow) return paper + head
    const a = artBox(c, 0.36, { margin: 72, top: 170 })
    // a small research diagram: three nodes feeding a result, with a caption rule
    const nx = a.x + 30
    const nodes = [0, 1, 2].map(i => {
      const y = a.y + 20 + i * (a.h - 140) / 2
      return rect(nx, y, a.w * 0.36, 54, '#ffffff', { stroke: '#64748b', 'stroke-width': 1.5, rx: 2 }) + rect(nx, y, 6, 54, '#475569') +
        line(nx + 18, y + 20, nx + a.w * 0.28, y + 20, '#94a3b8', 4, { 'stroke-linecap': 'round' }) + line(nx + 18, y + 36, nx + a.w * 0.2, y + 36, '#cbd5e1', 4, { 'stroke-linecap': 'round' }) +
        path(`M${nx + a.w * 0.36} ${y + 27} C${nx + a.w * 0.5} ${y + 27} ${nx + a.w * 0.5} ${a.y + (a.h - 100) / 2 + 27} ${a.x + a.w * 0.62} ${a.y + (a.h - 100) / 2 + 27}`, 'none', { stroke: '#64748b', 'stroke-width': 1.5 })
    }).join('')
    const ry = a.y + (a.h - 100) / 2
    const panel = () => rect(a.x, a.y - 10, a.w, a.h + 10, '#f1f5f9', { rx: 2 })
    return paper + head + contentArt(c, academicSlate.palette, a, () => panel() + nodes +
      circle(a.x + a.w * 0.62 + 50, ry + 27, 50, '#475569') + circle(a.x + a.w * 0.62 + 50, ry + 27, 34, 'none', { stroke: '#e2e8f0', 'stroke-width': 2 }) +
      path(`M${a.x + a.w * 0.62 + 34} ${ry + 27} l12 12 l22 -24`, 'none', { stroke: '#ffffff', 'stroke-width': 4, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' }) +
      line(a.x + 30, a.y + a.h - 40, a.x + a.w - 30, a.y + a.h - 40, '#94a3b8', 1), panel)
  },
}
