// 手绘涂鸦 / 杂志大片 / 数据可视化 / 儿童卡通: the expressive and the chart-led styles.
import { circle, ellipse, group, line, linear, path, poly, radial, rect, star, wobbly, wobblyEllipse } from '../svg.js'
import type { Ctx, SlideStyle } from '../types.js'
import { badgeNumber } from './business.js'
import { artBox, grid, isHero } from './common.js'
import { contentArt } from '../art.js'

const INK = '#1f2937'
const pen = (w: number, col = INK) => ({ stroke: col, 'stroke-width': w, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' })

export const handDrawn: SlideStyle = {
  key: 'hand_drawn',
  palette: { bg: '#fffdf6', title: INK, body: '#374151', muted: '#9ca3af', accent: '#ef4444', accent2: '#3b82f6', accent3: '#fbbf24', onAccent: '#ffffff' },
  fonts: { title: 'sansBlack', body: 'sans', number: 'sansBlack' },
  align: k => (k === 'end' || k === 'transition' ? 'middle' : 'start'),
  bulletIndent: 1.4,
  regions(c) {
    if (c.kind === 'end' || c.kind === 'transition') return grid(c, { heroAlign: 'middle', margin: c.narrow ? 60 : 300 })
    if (c.kind === 'content') return grid(c, { art: 0.32, left: 40, titleTop: 40 })
    if (c.kind === 'contents') return grid(c, { left: 40, art: 0.3 })
    return grid(c, { heroWidth: 0.6, left: 40 })
  },
  colors: () => ({ title: INK, body: '#374151', muted: '#9ca3af', number: '#ef4444' }),
  bullet(c, x, cy, size, i) {
    const seed = 31 + i * 7
    if (c.kind === 'contents') {
      const r = size * 0.6
      return path(wobblyEllipse(x + r, cy, r, r * 0.92, 3, seed), 'none', pen(2.5, ['#ef4444', '#3b82f6', '#10b981', '#f59e0b'][i % 4])) + badgeNumber(c, i, x + r, cy, size * 0.5, INK, 'sansBlack')
    }
    const s = size * 0.3
    return path(wobbly([[x, cy], [x + s, cy + s * 0.8], [x + s * 2.4, cy - s * 1.2]], 2, seed), 'none', pen(Math.max(2, size * 0.11), ['#ef4444', '#3b82f6', '#10b981'][i % 3]))
  },
  titleAccent(c, b, align) {
    const w = Math.min(b.w, 260)
    const x = align === 'middle' ? b.x + b.w / 2 - w / 2 : b.x
    const y = b.y + b.h + 6
    return path(wobbly([[x - 6, y], [x + w, y - 4]], 5, 7), 'none', pen(10, '#fbbf24')) + path(wobbly([[x + 10, y + 10], [x + w * 0.8, y + 8]], 4, 9), 'none', pen(3, INK))
  },
  backdrop(c) {
    const { W, H } = c
    const paper = rect(0, 0, W, H, '#fffdf6') +
      group(Array.from({ length: Math.floor(H / 36) }, (_, i) => line(0, 40 + i * 36, W, 40 + i * 36, '#bfdbfe', 1, { 'stroke-opacity': 0.55 })).join('')) +
      line(64, 0, 64, H, '#fca5a5', 1.5)
    const bulb = (x: number, y: number, s: number) => group(
      path(wobblyEllipse(0, 0, 46, 50, 3, 11), '#fef3c7', pen(3)) +
      path(wobbly([[-18, 44], [-16, 70], [16, 70], [18, 44]], 2, 12), 'none', pen(3)) +
      path(wobbly([[-14, 80], [14, 80]], 2, 13), 'none', pen(3)) +
      path(wobbly([[-10, 20], [0, -8], [10, 20]], 2, 14), 'none', pen(2.5, '#f59e0b')) +
      [[-70, -20, -90, -30], [70, -20, 90, -30], [0, -66, 0, -90], [-52, -56, -66, -72], [52, -56, 66, -72]].map(([a, b, cc, d], i) => path(wobbly([[a, b], [cc, d]], 2, 20 + i), 'none', pen(3, '#f59e0b'))).join(''),
      { transform: `translate(${x} ${y}) scale(${s})` })
    const arrow = (x1: number, y1: number, x2: number, y2: number, seed: number, col = INK) => {
      const ang = Math.atan2(y2 - y1, x2 - x1)
      const hx = (a: number) => [x2 - 22 * Math.cos(ang + a), y2 - 22 * Math.sin(ang + a)] as [number, number]
      return path(wobbly([[x1, y1], [(x1 + x2) / 2, (y1 + y2) / 2 - 30], [x2, y2]], 4, seed), 'none', pen(3, col)) +
        path(wobbly([hx(0.5), [x2, y2], hx(-0.5)], 2, seed + 1), 'none', pen(3, col))
    }
    const doodleStar = (x: number, y: number, r: number, col: string, seed: number) => {
      const d = star(x, y, r).replace(/[MLZ]/g, ' ').trim().split(/\s+/).map(Number)
      const pts: Array<[number, number]> = []
      for (let i = 0; i < d.length; i += 2) pts.push([d[i], d[i + 1]])
      pts.push(pts[0])
      return path(wobbly(pts, 3, seed), col, { ...pen(2.5), 'fill-opacity': 0.9 })
    }
    const spiral = (x: number, y: number, r: number) => {
      const pts: Array<[number, number]> = []
      for (let a = 0; a < Math.PI * 5; a += 0.35) pts.push([x + Math.cos(a) * r * a / 15, y + Math.sin(a) * r * a / 15])
      return path(wobbly(pts, 1.5, 5), 'none', pen(2.5, '#3b82f6'))
    }
    const tape = (x: number, y: number, w: number, rot: number) => rect(x, y, w, 26, '#fde68a', { 'fill-opacity': 0.8, transform: `rotate(${rot} ${x + w / 2} ${y + 13})` })
    if (isHero(c) || c.kind === 'transition') {
      const right = c.narrow ? '' : bulb(W * 0.82, H * 0.38, 1.6) + arrow(W * 0.6, H * 0.78, W * 0.74, H * 0.62, 41, '#ef4444')
      return paper + right + doodleStar(W * 0.9, H * 0.82, 26, '#fbbf24', 3) + doodleStar(120, 90, 18, '#fca5a5', 4) + spiral(W * 0.93, H * 0.12, 40) +
        path(wobblyEllipse(W * 0.5, H * 0.9, 40, 30, 4, 6), 'none', pen(2.5, '#10b981')) +
        (c.kind === 'cover' ? '' : tape(W / 2 - 70, 40, 140, -3))
    }
    const a = artBox(c, c.kind === 'content' ? 0.32 : 0.3, { top: 140 })
    const paperNote = () => rect(a.x + 10, a.y + 10, a.w - 20, a.h - 40, '#fef9c3', { transform: `rotate(2 ${a.x + a.w / 2} ${a.y + a.h / 2})` }) +
      path(wobbly([[a.x + 10, a.y + 10], [a.x + a.w - 10, a.y + 10], [a.x + a.w - 10, a.y + a.h - 30], [a.x + 10, a.y + a.h - 30], [a.x + 10, a.y + 10]], 3, 17), 'none', pen(2.5)) +
      tape(a.x + a.w / 2 - 60, a.y - 4, 120, -4)
    const noteArt = () => paperNote() + bulb(a.x + a.w / 2, a.y + a.h * 0.42, Math.min(1.1, a.w / 300)) +
      doodleStar(a.x + a.w - 40, a.y + a.h - 70, 20, '#fbbf24', 8) + arrow(a.x + 30, a.y + a.h - 50, a.x + 90, a.y + a.h * 0.62, 51, '#3b82f6')
    const note = c.narrow ? '' : c.kind === 'content' ? contentArt(c, handDrawn.palette, { x: a.x + 10, y: a.y + 10, w: a.w - 20, h: a.h - 40 }, noteArt, paperNote) : noteArt()
    return paper + note + spiral(W - 70, 60, 30) + doodleStar(W * 0.6, H - 40, 14, '#fca5a5', 12)
  },
}

export const magazineEditorial: SlideStyle = {
  key: 'magazine_editorial',
  palette: { bg: '#f4efe6', title: '#111111', body: '#3a3a3a', muted: '#8a8178', accent: '#c2410c', accent2: '#111827', accent3: '#d6cfc2', onAccent: '#ffffff' },
  fonts: { title: 'serifBold', body: 'sans', number: 'serifBold' },
  align: () => 'start',
  bulletIndent: 1.6,
  regions(c) {
    if (c.kind === 'cover' || c.kind === 'transition') return grid(c, { heroWidth: 0.66, margin: 80 })
    if (c.kind === 'end') return grid(c, { heroWidth: 0.5 })
    if (c.kind === 'content') return grid(c, { art: 0.4, titleTop: 70 })
    return grid(c, { left: c.narrow ? 0 : c.W * 0.34 - 40, titleTop: 60 })
  },
  colors: c => (c.kind === 'cover' || c.kind === 'transition'
    ? { title: '#ffffff', body: '#e7e5e4', muted: '#d6d3d1', number: '#f97316' }
    : { title: '#111111', body: '#3a3a3a', muted: '#8a8178', number: '#c2410c' }),
  bullet(c, x, cy, size, i) {
    if (c.kind === 'contents') return badgeNumber(c, i, x + size * 0.55, cy, size * 0.8, '#c2410c', 'serifBold')
    return rect(x, cy - 1.5, size * 0.9, 3, '#c2410c')
  },
  titleAccent(c, b) {
    if (c.kind === 'cover' || c.kind === 'transition') return rect(b.x, b.y - 26, 90, 8, '#c2410c')
    return rect(b.x, b.y - 18, 48, 6, '#c2410c')
  },
  backdrop(c) {
    const { W, H } = c
    // an abstract duotone "photograph": light falling across a figure-like composition
    const photo = (x: number, y: number, w: number, h: number) => {
      const [d1, g1] = linear(c, [[0, '#3b2f2a'], [0.55, '#1c1917'], [1, '#0c0a09']], 0, 0, 1, 1)
      const [d2, g2] = radial(c, [[0, '#f59e0b', 0.75], [0.5, '#c2410c', 0.35], [1, '#c2410c', 0]], 0.3, 0.3, 0.6)
      // clipping costs a full-canvas mask in resvg: only clip when the photo does not fill the slide
      const full = x <= 0 && y <= 0 && w >= c.W && h >= c.H
      const id = c.id('clip')
      return d1 + d2 + (full ? '' : `<defs><clipPath id="${id}"><rect x="${x}" y="${y}" width="${w}" height="${h}"/></clipPath></defs>`) + group(
        rect(x, y, w, h, g1) + rect(x, y, w, h, g2) +
        circle(x + w * 0.64, y + h * 0.5, Math.min(w, h) * 0.26, '#f5c98a', { 'fill-opacity': 0.85 }) +
        path(`M${x} ${y + h * 0.72} C${x + w * 0.25} ${y + h * 0.6} ${x + w * 0.45} ${y + h * 0.78} ${x + w * 0.7} ${y + h * 0.66} S${x + w} ${y + h * 0.6} ${x + w} ${y + h * 0.6} V${y + h} H${x} Z`, '#57402f', { 'fill-opacity': 0.9 }) +
        path(`M${x} ${y + h * 0.84} C${x + w * 0.3} ${y + h * 0.74} ${x + w * 0.6} ${y + h * 0.9} ${x + w} ${y + h * 0.76} V${y + h} H${x} Z`, '#1c1410') +
        line(x + w * 0.22, y + h * 0.7, x + w * 0.22, y + h * 0.5, '#1c1410', 3) + circle(x + w * 0.22, y + h * 0.48, 5, '#1c1410') +
        poly([[x, y + h * 0.1], [x + w * 0.5, y], [x + w * 0.2, y + h]], '#ffffff', { 'fill-opacity': 0.06 }),
        full ? {} : { 'clip-path': `url(#${id})` })
    }
    const quote = (x: number, y: number, s: number, col: string) => group(
      path(`M0 40 Q0 0 40 0 L40 12 Q16 14 16 40 L40 40 L40 80 L0 80 Z M52 40 Q52 0 92 0 L92 12 Q68 14 68 40 L92 40 L92 80 L52 80 Z`, col),
      { transform: `translate(${x} ${y}) scale(${s})` })
    if (c.kind === 'cover' || c.kind === 'transition') {
      const [dd, gd] = linear(c, [[0, '#0c0a09', 0], [1, '#0c0a09', 0.85]], 0, 0, 0, 1)
      return photo(0, 0, W, H) + dd + rect(0, H * 0.35, W, H * 0.65, gd) + rect(40, 40, W - 80, H - 80, 'none', { stroke: '#ffffff', 'stroke-opacity': 0.35, 'stroke-width': 1 }) +
        line(80, 84, W * 0.4, 84, '#ffffff', 1, { 'stroke-opacity': 0.7 }) + rect(80, 70, 60, 28, '#c2410c') +
        group([0, 1, 2].map(i => rect(W - 140 + i * 18, 78, 10, 10, '#ffffff', { 'fill-opacity': 0.8 - i * 0.25 })).join(''))
    }
    const paper = rect(0, 0, W, H, '#f4efe6') + line(60, 44, W - 60, 44, '#111111', 1.5) + line(60, 50, W - 60, 50, '#111111', 0.5) + line(60, H - 48, W - 60, H - 48, '#111111', 0.5)
    if (c.kind === 'end') return paper + (c.narrow ? '' : photo(W * 0.56, 50, W * 0.44, H - 98)) + quote(90, H * 0.12, 0.9, '#c2410c')
    if (c.kind === 'contents') {
      const bw = c.narrow ? 0 : W * 0.34 - 80
      return paper + (c.narrow ? '' : photo(0, 50, bw + 20, H - 98) + rect(bw + 20, 50, 6, H - 98, '#c2410c'))
    }
    const a = artBox(c, 0.4, { top: 50, bottom: 48, margin: 0 })
    return paper + (c.narrow ? '' : contentArt(c, magazineEditorial.palette, { x: a.x, y: a.y, w: W - a.x, h: a.h }, () => photo(a.x, a.y, W - a.x, a.h) + quote(a.x + 36, a.y + a.h - 110, 0.7, '#f5c98a'))) +
      line(84, 150, c.narrow ? W - 84 : a.x - 40, 150, '#111111', 0.5)
  },
}

export const dataViz: SlideStyle = {
  key: 'data_viz',
  ownArt: 'chart',
  palette: { bg: '#f8fafc', title: '#0f172a', body: '#334155', muted: '#94a3b8', accent: '#2563eb', accent2: '#22c55e', accent3: '#f59e0b', onAccent: '#ffffff' },
  fonts: { title: 'sansBold', body: 'sans', number: 'sansBlack' },
  align: () => 'start',
  bulletIndent: 1.3,
  regions(c) {
    if (c.kind === 'content') return grid(c, { art: 0.46, titleTop: 86 })
    if (c.kind === 'contents') return grid(c, { titleTop: 86, art: 0.36 })
    if (c.kind === 'transition') return grid(c, { heroWidth: 0.55 })
    return grid(c, { heroWidth: 0.5 })
  },
  colors: c => (c.kind === 'transition'
    ? { title: '#ffffff', body: '#cbd5e1', muted: '#64748b', number: '#38bdf8' }
    : { title: '#0f172a', body: '#334155', muted: '#94a3b8', number: '#2563eb' }),
  bullet(c, x, cy, size, i) {
    const col = ['#2563eb', '#22c55e', '#f59e0b', '#ec4899', '#06b6d4'][i % 5]
    if (c.kind === 'contents') {
      const s = size * 1.1
      return rect(x, cy - s / 2, s, s, col, { rx: 4 }) + badgeNumber(c, i, x + s / 2, cy, size * 0.5, '#ffffff')
    }
    const s = size * 0.14
    return rect(x, cy + s * 0.5, s * 1.3, s * 2, col, { rx: 1 }) + rect(x + s * 1.9, cy - s * 1.2, s * 1.3, s * 3.7, col, { rx: 1 }) + rect(x + s * 3.8, cy - s * 2.5, s * 1.3, s * 5, col, { rx: 1 })
  },
  titleAccent(c, b) {
    return c.kind === 'transition' ? '' : rect(b.x, b.y + b.h + 10, 36, 4, '#2563eb', { rx: 2 }) + rect(b.x + 40, b.y + b.h + 10, 18, 4, '#22c55e', { rx: 2 }) + rect(b.x + 62, b.y + b.h + 10, 10, 4, '#f59e0b', { rx: 2 })
  },
  backdrop(c) {
    const { W, H } = c
    const card = (x: number, y: number, w: number, h: number) => rect(x + 2, y + 4, w, h, '#0f172a', { 'fill-opacity': 0.05, rx: 10 }) + rect(x, y, w, h, '#ffffff', { rx: 10, stroke: '#e2e8f0', 'stroke-width': 1 })
    const bars = (x: number, y: number, w: number, h: number, vals: number[]) => {
      const bw = w / vals.length * 0.55
      return [0.25, 0.5, 0.75, 1].map(k => line(x, y + h - h * k, x + w, y + h - h * k, '#e2e8f0', 1)).join('') +
        vals.map((v, i) => rect(x + i * w / vals.length + bw * 0.4, y + h - h * v, bw, h * v, i % 3 === 2 ? '#22c55e' : '#2563eb', { rx: 3, 'fill-opacity': i % 3 === 1 ? 0.55 : 1 })).join('') + line(x, y + h, x + w, y + h, '#94a3b8', 1.5)
    }
    const trend = (x: number, y: number, w: number, h: number) => {
      const v = [0.3, 0.42, 0.38, 0.55, 0.5, 0.7, 0.66, 0.85]
      const pts = v.map((k, i) => [x + i * w / (v.length - 1), y + h - h * k] as [number, number])
      const d = 'M' + pts.map(p => p.map(q => Math.round(q)).join(' ')).join(' L')
      const [dg, g] = linear(c, [[0, '#2563eb', 0.35], [1, '#2563eb', 0]], 0, 0, 0, 1)
      return dg + path(`${d} L${x + w} ${y + h} L${x} ${y + h} Z`, g) + path(d, 'none', { stroke: '#2563eb', 'stroke-width': 3, 'stroke-linejoin': 'round' }) +
        pts.map(([px, py], i) => (i === pts.length - 1 ? circle(px, py, 7, '#ffffff', { stroke: '#2563eb', 'stroke-width': 3 }) : '')).join('')
    }
    const donut = (cx: number, cy: number, r: number) => {
      const parts = [[0.46, '#2563eb'], [0.28, '#22c55e'], [0.16, '#f59e0b'], [0.1, '#e2e8f0']] as const
      let a = -Math.PI / 2
      return parts.map(([f, col]) => {
        const b = a + f * Math.PI * 2
        const large = f > 0.5 ? 1 : 0
        const d = `M${cx + Math.cos(a) * r} ${cy + Math.sin(a) * r} A${r} ${r} 0 ${large} 1 ${cx + Math.cos(b) * r} ${cy + Math.sin(b) * r}`
        a = b
        return path(d, 'none', { stroke: col, 'stroke-width': r * 0.34 })
      }).join('') + circle(cx, cy, r * 0.5, '#ffffff')
    }
    const kpi = (x: number, y: number, w: number, col: string, k: number) => card(x, y, w, 74) + rect(x + 16, y + 18, w * 0.3, 8, '#cbd5e1', { rx: 4 }) + rect(x + 16, y + 38, w * 0.5 * k, 18, col, { rx: 4 }) +
      path(`M${x + w - 40} ${y + 50} l10 -12 l8 6 l12 -16`, 'none', { stroke: col, 'stroke-width': 3, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' })
    // the grid is one path: hundreds of separate lines under a group opacity would cost a layer and many draws
    const gridD = Array.from({ length: Math.ceil(W / 40) }, (_, i) => `M${i * 40} 0V${H}`).join('') + Array.from({ length: Math.ceil(H / 40) }, (_, i) => `M0 ${i * 40}H${W}`).join('')
    const header = rect(0, 0, W, H, '#f8fafc') + path(gridD, 'none', { stroke: '#e2e8f0', 'stroke-width': 0.6, 'stroke-opacity': 0.7 }) +
      rect(0, 0, W, 56, '#0f172a') + circle(40, 28, 6, '#ef4444') + circle(60, 28, 6, '#f59e0b') + circle(80, 28, 6, '#22c55e') + rect(110, 22, 180, 12, '#334155', { rx: 6 })
    if (c.kind === 'transition') {
      return rect(0, 0, W, H, '#0f172a') + group(Array.from({ length: 24 }, (_, i) => {
        const h = (Math.sin(i * 0.7) * 0.3 + 0.5) * H * 0.5
        return rect(W * 0.52 + i * (W * 0.46 / 24), H - 60 - h, W * 0.46 / 24 * 0.6, h, i % 5 === 4 ? '#22c55e' : '#2563eb', { 'fill-opacity': 0.35 + (i / 24) * 0.6, rx: 2 })
      }).join('')) + line(0, H - 60, W, H - 60, '#334155', 1.5) + rect(84, H * 0.1, 60, 6, '#38bdf8')
    }
    if (isHero(c)) {
      if (c.narrow) return header
      const x0 = W * 0.56
      const cw = W - 60 - x0
      // the charts are this template's illustration: through contentArt, so a slide's own text box
      // there (background mode) leaves them out
      return header + contentArt(c, dataViz.palette, { x: x0, y: 96, w: cw, h: H - 60 - 96 }, () => card(x0, 96, cw, H * 0.44) + bars(x0 + 30, 130, cw - 60, H * 0.44 - 70, [0.4, 0.55, 0.5, 0.72, 0.66, 0.9, 0.8, 0.95]) +
        card(x0, 110 + H * 0.44, cw * 0.48, H - 170 - H * 0.44) + donut(x0 + cw * 0.24, 110 + H * 0.44 + (H - 170 - H * 0.44) / 2, Math.min(cw * 0.15, (H - 170 - H * 0.44) * 0.34)) +
        card(x0 + cw * 0.52, 110 + H * 0.44, cw * 0.48, H - 170 - H * 0.44) + trend(x0 + cw * 0.52 + 20, 130 + H * 0.44, cw * 0.48 - 40, H - 220 - H * 0.44))
    }
    if (c.narrow) return header
    const a = artBox(c, c.kind === 'content' ? 0.46 : 0.36, { top: c.kind === 'content' ? 190 : 86, bottom: 40, margin: 60 })
    const half = (a.h - 16) / 2
    if (c.kind === 'contents') return header + contentArt(c, dataViz.palette, a, () => card(a.x, a.y, a.w, a.h) + donut(a.x + a.w / 2, a.y + a.h * 0.42, Math.min(a.w, a.h) * 0.28) + [0, 1, 2].map(i => rect(a.x + 40, a.y + a.h * 0.78 + i * 22, a.w * (0.6 - i * 0.12), 10, '#e2e8f0', { rx: 5 })).join(''))
    return header + contentArt(c, dataViz.palette, a, () => kpi(a.x, a.y, a.w / 2 - 8, '#2563eb', 0.8) + kpi(a.x + a.w / 2 + 8, a.y, a.w / 2 - 8, '#22c55e', 0.6) +
      card(a.x, a.y + 90, a.w, half - 45) + bars(a.x + 24, a.y + 114, a.w - 48, half - 93, [0.35, 0.6, 0.45, 0.8, 0.7, 0.95]) +
      card(a.x, a.y + 106 + half - 45, a.w * 0.42, half - 45) + donut(a.x + a.w * 0.21, a.y + 106 + half - 45 + (half - 45) / 2, Math.min(a.w * 0.13, (half - 45) * 0.36)) +
      card(a.x + a.w * 0.46, a.y + 106 + half - 45, a.w * 0.54, half - 45) + trend(a.x + a.w * 0.46 + 18, a.y + 126 + half - 45, a.w * 0.54 - 36, half - 85), () => card(a.x, a.y, a.w, a.h))
  },
}

export const kidsCartoon: SlideStyle = {
  key: 'kids_cartoon',
  palette: { bg: '#e0f2fe', title: '#1e3a8a', body: '#1f2937', muted: '#64748b', accent: '#f472b6', accent2: '#facc15', accent3: '#4ade80', onAccent: '#ffffff' },
  fonts: { title: 'sansBlack', body: 'sansBold', number: 'sansBlack' },
  align: k => (k === 'content' || k === 'contents' ? 'start' : 'middle'),
  bulletIndent: 1.5,
  regions(c) {
    if (c.kind === 'content' || c.kind === 'contents') {
      const r = grid(c, { art: 0.3, margin: 120, titleTop: 36, bottom: 130 })
      return r
    }
    return grid(c, { heroAlign: 'middle', margin: 170, bottom: 150 })
  },
  colors: () => ({ title: '#1e3a8a', body: '#1f2937', muted: '#475569', number: '#f472b6' }),
  bullet(c, x, cy, size, i) {
    const col = ['#f472b6', '#facc15', '#4ade80', '#60a5fa', '#fb923c'][i % 5]
    const r = c.kind === 'contents' ? size * 0.56 : size * 0.34
    return circle(x + r, cy, r, col, { stroke: '#ffffff', 'stroke-width': 3 }) + (c.kind === 'contents' ? badgeNumber(c, i, x + r, cy, size * 0.5, '#ffffff', 'sansBlack') : circle(x + r * 0.7, cy - r * 0.3, r * 0.22, '#ffffff', { 'fill-opacity': 0.8 }))
  },
  titleAccent(c, b, align) {
    const x = align === 'middle' ? b.x + b.w / 2 : b.x + 60
    const cols = ['#f472b6', '#facc15', '#4ade80', '#60a5fa']
    return cols.map((col, i) => circle(x - 45 + i * 30, b.y + b.h + 18, 8, col)).join('')
  },
  backdrop(c) {
    const { W, H } = c
    const [d0, g0] = linear(c, [[0, '#7dd3fc'], [0.7, '#bae6fd'], [1, '#e0f2fe']], 0, 0, 0, 1)
    const cloud = (x: number, y: number, s: number) => group(
      circle(0, 0, 34, '#ffffff') + circle(34, -14, 42, '#ffffff') + circle(74, 0, 32, '#ffffff') + rect(0, -6, 74, 38, '#ffffff', { rx: 19 }),
      { transform: `translate(${x} ${y}) scale(${s})` })
    const sun = (x: number, y: number, r: number) => group(Array.from({ length: 12 }, (_, i) => {
      const a = (i / 12) * Math.PI * 2
      return line(x + Math.cos(a) * r * 1.25, y + Math.sin(a) * r * 1.25, x + Math.cos(a) * r * 1.6, y + Math.sin(a) * r * 1.6, '#fbbf24', r * 0.16, { 'stroke-linecap': 'round' })
    }).join('')) + circle(x, y, r, '#fde047', { stroke: '#fbbf24', 'stroke-width': 4 }) + circle(x - r * 0.32, y - r * 0.1, r * 0.09, INK) + circle(x + r * 0.32, y - r * 0.1, r * 0.09, INK) +
      path(`M${x - r * 0.35} ${y + r * 0.25} Q${x} ${y + r * 0.6} ${x + r * 0.35} ${y + r * 0.25}`, 'none', pen(r * 0.09)) + circle(x - r * 0.55, y + r * 0.2, r * 0.12, '#fb7185', { 'fill-opacity': 0.6 }) + circle(x + r * 0.55, y + r * 0.2, r * 0.12, '#fb7185', { 'fill-opacity': 0.6 })
    const rainbow = (cx: number, cy: number, r: number) => ['#f87171', '#fb923c', '#facc15', '#4ade80', '#60a5fa', '#a78bfa'].map((col, i) =>
      path(`M${cx - r + i * 14} ${cy} A${r - i * 14} ${r - i * 14} 0 0 1 ${cx + r - i * 14} ${cy}`, 'none', { stroke: col, 'stroke-width': 14 })).join('')
    const hills = path(`M0 ${H - 90} Q${W * 0.2} ${H - 170} ${W * 0.42} ${H - 95} T${W} ${H - 110} V${H} H0 Z`, '#86efac') +
      path(`M0 ${H - 50} Q${W * 0.3} ${H - 120} ${W * 0.6} ${H - 55} T${W} ${H - 70} V${H} H0 Z`, '#4ade80')
    const flower = (x: number, y: number, col: string) => line(x, y, x, y + 30, '#16a34a', 4) + [0, 1, 2, 3, 4].map(i => {
      const a = (i / 5) * Math.PI * 2
      return circle(x + Math.cos(a) * 10, y + Math.sin(a) * 10, 8, col)
    }).join('') + circle(x, y, 7, '#fde047')
    const balloon = (x: number, y: number, col: string) => ellipse(x, y, 30, 36, col) + ellipse(x - 10, y - 12, 7, 10, '#ffffff', { 'fill-opacity': 0.5 }) + path(`M${x} ${y + 36} q-10 30 6 60 q10 24 -4 50`, 'none', pen(2, '#64748b'))
    const stars = [[0.3, 0.08], [0.55, 0.14], [0.7, 0.06], [0.12, 0.3]].map(([fx, fy], i) => path(star(W * fx, H * fy, 12 + (i % 2) * 6, 0.5), '#fde047', { stroke: '#f59e0b', 'stroke-width': 2, 'stroke-linejoin': 'round' })).join('')
    const sky = d0 + rect(0, 0, W, H, g0)
    if (c.kind === 'content' || c.kind === 'contents') {
      const a = artBox(c, 0.3, { margin: 90, top: 120, bottom: 150 })
      const panel = { x: 90, y: 164, w: (c.narrow ? W - 90 : a.x - 10) - 90, h: H - 164 - 135 }
      const sideStars = [[0.74, 0.06], [0.95, 0.36], [0.97, 0.62]].map(([fx, fy], i) => path(star(W * fx, H * fy, 12 + (i % 2) * 6, 0.5), '#fde047', { stroke: '#f59e0b', 'stroke-width': 2, 'stroke-linejoin': 'round' })).join('')
      return sky + sun(W - 110, 100, 46) + cloud(W * 0.78, 200, 0.7) + cloud(W * 0.66, 90, 0.5) + sideStars + hills +
        rect(panel.x - 10, panel.y - 12, panel.w + 20, panel.h + 24, '#ffffff', { rx: 30, 'fill-opacity': 0.88, stroke: '#93c5fd', 'stroke-width': 4, 'stroke-dasharray': '14 10' }) +
        (c.narrow ? '' : c.kind === 'content'
          ? contentArt(c, kidsCartoon.palette, { x: a.x + 10, y: a.y, w: a.w - 10, h: a.h }, () => balloon(a.x + a.w * 0.35, a.y + 80, '#f472b6') + balloon(a.x + a.w * 0.7, a.y + 40, '#60a5fa') + rainbow(a.x + a.w / 2 + 24, a.y + a.h + 20, a.w * 0.44))
          : balloon(a.x + a.w * 0.35, a.y + 80, '#f472b6') + balloon(a.x + a.w * 0.7, a.y + 40, '#60a5fa') + rainbow(a.x + a.w / 2 + 24, a.y + a.h + 20, a.w * 0.44)) +
        flower(W * 0.1, H - 70, '#f472b6') + flower(W * 0.52, H - 60, '#a78bfa') + flower(W * 0.9, H - 80, '#fb923c')
    }
    return sky + rainbow(W / 2, H * 0.98, Math.min(W * 0.42, H * 0.86)) + sun(W - 150, 130, 60) + cloud(80, 120, 1) + cloud(W * 0.62, 80, 0.7) + cloud(W * 0.22, H * 0.5, 0.6) + stars + hills +
      balloon(W * 0.1, H * 0.56, '#f472b6') + balloon(W * 0.9, H * 0.6, '#60a5fa') + flower(W * 0.2, H - 60, '#f472b6') + flower(W * 0.78, H - 70, '#a78bfa') + flower(W * 0.5, H - 40, '#fb923c') +
      rect(W / 2 - Math.min(W * 0.36, 480), H * 0.2, Math.min(W * 0.72, 960), H * 0.56, '#ffffff', { rx: 40, 'fill-opacity': 0.85 })
  },
}


