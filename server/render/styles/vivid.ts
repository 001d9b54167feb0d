// 教育清新绿 / 营销活力橙 / 国潮红金 / 莫兰迪柔和: colour-led styles with illustrated motifs.
import { circle, ellipse, group, line, linear, path, poly, radial, rect, star, waves, xiangyun } from '../svg.js'
import type { Ctx, SlideStyle } from '../types.js'
import { badgeNumber } from './business.js'
import { artBox, grid, isHero } from './common.js'
import { contentArt } from '../art.js'

/** A leaf: pointed ellipse rotated around its base. */
function leaf(x: number, y: number, len: number, angle: number, fill: string, vein = '#ffffff'): string {
  const w = len * 0.42
  return group(
    path(`M0 0 Q${w} ${-len * 0.5} 0 ${-len} Q${-w} ${-len * 0.5} 0 0 Z`, fill) +
    path(`M0 -2 L0 ${-len * 0.85}`, 'none', { stroke: vein, 'stroke-width': 1.5, 'stroke-opacity': 0.6 }),
    { transform: `translate(${x} ${y}) rotate(${angle})` })
}

function branch(x: number, y: number, s: number, flip = 1): string {
  const stem = path(`M${x} ${y} q${40 * s * flip} ${-60 * s} ${20 * s * flip} ${-170 * s}`, 'none', { stroke: '#15803d', 'stroke-width': 3 * s, 'stroke-linecap': 'round' })
  const leaves = [
    leaf(x + 8 * s * flip, y - 40 * s, 60 * s, -55 * flip, '#22c55e'),
    leaf(x + 22 * s * flip, y - 70 * s, 64 * s, 50 * flip, '#4ade80'),
    leaf(x + 28 * s * flip, y - 110 * s, 58 * s, -40 * flip, '#16a34a'),
    leaf(x + 24 * s * flip, y - 140 * s, 54 * s, 35 * flip, '#86efac'),
    leaf(x + 20 * s * flip, y - 168 * s, 44 * s, 5 * flip, '#22c55e'),
  ]
  return stem + leaves.join('')
}

export const eduFresh: SlideStyle = {
  key: 'edu_fresh',
  palette: { bg: '#f4fbf2', title: '#14532d', body: '#365314', muted: '#84a98c', accent: '#16a34a', accent2: '#86efac', accent3: '#facc15', onAccent: '#ffffff' },
  fonts: { title: 'sansBold', body: 'sans', number: 'sansBlack' },
  align: () => 'start',
  bulletIndent: 1.45,
  regions(c) {
    if (c.kind === 'content') return grid(c, { art: 0.33, margin: 110, titleTop: 40 })
    if (c.kind === 'contents') return grid(c, { margin: 110 })
    return grid(c, { heroWidth: 0.6 })
  },
  colors: c => (c.kind === 'transition'
    ? { title: '#ffffff', body: '#dcfce7', muted: '#bbf7d0', number: '#fde047' }
    : { title: '#14532d', body: '#3f4f2a', muted: '#84a98c', number: '#16a34a' }),
  bullet(c, x, cy, size, i) {
    if (c.kind === 'contents') {
      const r = size * 0.56
      return circle(x + r, cy, r, ['#16a34a', '#22c55e', '#65a30d'][i % 3]) + badgeNumber(c, i, x + r, cy, size * 0.5, '#ffffff')
    }
    const r = size * 0.36
    return circle(x + r, cy, r, '#22c55e') + path(`M${x + r * 0.5} ${cy} l${r * 0.35} ${r * 0.4} l${r * 0.7} ${-r * 0.8}`, 'none', { stroke: '#ffffff', 'stroke-width': Math.max(1.5, r * 0.28), 'stroke-linecap': 'round', 'stroke-linejoin': 'round' })
  },
  titleAccent(c, b, align) {
    if (c.kind === 'transition') return ''
    const w = Math.min(b.w, 180)
    const x = align === 'middle' ? b.x + b.w / 2 - w / 2 : b.x
    return path(`M${x} ${b.y + b.h + 12} q${w / 4} -8 ${w / 2} 0 t${w / 2} 0`, 'none', { stroke: '#facc15', 'stroke-width': 6, 'stroke-linecap': 'round' })
  },
  backdrop(c) {
    const { W, H } = c
    const [d0, g0] = linear(c, [[0, '#f7fdf4'], [1, '#e8f7e4']], 0, 0, 0, 1)
    const dots = group(Array.from({ length: 48 }, (_, i) => circle(W - 330 + (i % 8) * 18, 40 + Math.floor(i / 8) * 18, 2.2, '#86efac')).join(''))
    const base = d0 + rect(0, 0, W, H, g0)
    if (c.kind === 'transition') {
      const [d1, g1] = linear(c, [[0, '#15803d'], [1, '#16a34a']], 0, 0, 1, 1)
      return d1 + rect(0, 0, W, H, g1) + circle(W * 0.86, H * 0.2, 220, '#22c55e', { 'fill-opacity': 0.45 }) + circle(W * 0.95, H * 0.9, 260, '#14532d', { 'fill-opacity': 0.35 }) +
        (c.narrow ? '' : branch(W * 0.8, H * 0.95, 2.2, -1) + branch(W * 0.88, H, 1.6, 1)) +
        rect(84, H * 0.1, 60, 6, '#fde047', { rx: 3 })
    }
    if (isHero(c)) {
      const book = (x: number, y: number, s: number) => group(
        path(`M${x} ${y} q${60 * s} ${-22 * s} ${120 * s} 0 v${110 * s} q${-60 * s} ${-22 * s} ${-120 * s} 0 Z`, '#ffffff', { stroke: '#15803d', 'stroke-width': 3 }) +
        path(`M${x + 120 * s} ${y} q${60 * s} ${-22 * s} ${120 * s} 0 v${110 * s} q${-60 * s} ${-22 * s} ${-120 * s} 0 Z`, '#ffffff', { stroke: '#15803d', 'stroke-width': 3 }) +
        [0, 1, 2].map(i => line(x + 20 * s, y + (24 + i * 24) * s, x + 100 * s, y + (18 + i * 24) * s, '#86efac', 4 * s, { 'stroke-linecap': 'round' }) + line(x + 140 * s, y + (18 + i * 24) * s, x + 220 * s, y + (24 + i * 24) * s, '#86efac', 4 * s, { 'stroke-linecap': 'round' })).join(''))
      const pencil = (x: number, y: number, s: number) => group(
        rect(0, 0, 200 * s, 30 * s, '#facc15', { rx: 4 }) + rect(0, 0, 30 * s, 30 * s, '#f472b6', { rx: 4 }) + rect(26 * s, 0, 10 * s, 30 * s, '#a3a3a3') +
        poly([[200 * s, 0], [240 * s, 15 * s], [200 * s, 30 * s]], '#fde68a') + poly([[228 * s, 10 * s], [240 * s, 15 * s], [228 * s, 20 * s]], '#374151'),
        { transform: `translate(${x} ${y}) rotate(-30)` })
      return base + dots + (c.narrow ? '' :
        path(`M${W * 0.62} ${H} C${W * 0.6} ${H * 0.55} ${W * 0.78} ${H * 0.18} ${W} ${H * 0.12} V${H} Z`, '#bbf7d0', { 'fill-opacity': 0.8 }) +
        path(`M${W * 0.7} ${H} C${W * 0.72} ${H * 0.7} ${W * 0.85} ${H * 0.45} ${W} ${H * 0.42} V${H} Z`, '#86efac', { 'fill-opacity': 0.7 }) +
        circle(W * 0.8, H * 0.38, 118, '#ffffff') + circle(W * 0.8, H * 0.38, 118, 'none', { stroke: '#22c55e', 'stroke-width': 3, 'stroke-dasharray': '2 10', 'stroke-linecap': 'round' }) +
        book(W * 0.8 - 120, H * 0.38 - 40, 1) + pencil(W * 0.66, H * 0.8, 1) + branch(W * 0.95, H * 0.98, 1.6, -1)) +
        circle(-40, H + 40, 200, '#bbf7d0', { 'fill-opacity': 0.7 }) + leaf(60, H - 20, 80, 30, '#4ade80') + leaf(90, H - 10, 60, 70, '#22c55e')
    }
    const card = c.kind === 'content' && !c.narrow ? (() => {
      const a = artBox(c, 0.33, { margin: 110 })
      return contentArt(c, eduFresh.palette, a, () => eduArt(a), () => circle(a.x + a.w / 2, a.y + a.h / 2, Math.min(a.w, a.h) * 0.46, '#dcfce7'))
    })() : ''
    function eduArt(a: { x: number; y: number; w: number; h: number }): string {
      const cx = a.x + a.w / 2
      const cy = a.y + a.h / 2
      // a stack of books under a graduation cap
      const bk = (y: number, w: number, col: string, dx: number) => rect(cx - w / 2 + dx, y, w, 34, col, { rx: 6, stroke: '#15803d', 'stroke-width': 3 }) +
        rect(cx - w / 2 + dx + 14, y + 8, w - 40, 6, '#ffffff', { rx: 3, 'fill-opacity': 0.7 }) + rect(cx + w / 2 + dx - 18, y, 8, 34, '#15803d', { 'fill-opacity': 0.25 })
      const capY = cy - 20
      return circle(cx, cy, Math.min(a.w, a.h) * 0.46, '#dcfce7') +
        bk(cy + 76, 200, '#22c55e', 0) + bk(cy + 42, 180, '#facc15', 12) + bk(cy + 8, 190, '#86efac', -8) +
        path(`M${cx - 60} ${capY + 6} v34 q60 26 120 0 v-34`, '#14532d') +
        poly([[cx, capY - 40], [cx + 110, capY], [cx, capY + 40], [cx - 110, capY]], '#166534') +
        path(`M${cx} ${capY} L${cx + 80} ${capY + 12} v44`, 'none', { stroke: '#facc15', 'stroke-width': 4, 'stroke-linecap': 'round' }) + circle(cx + 80, capY + 60, 8, '#facc15') +
        branch(a.x + a.w - 20, a.y + a.h, 1.1, -1) + leaf(a.x + 30, a.y + a.h - 10, 70, -30, '#4ade80')
    }
    return base + dots + rect(0, 0, 28, H, '#22c55e') + rect(28, 0, 6, H, '#bbf7d0') + card +
      leaf(W - 60, H - 10, 70, -20, '#86efac') + leaf(W - 30, H - 10, 56, 25, '#4ade80')
  },
}

export const marketingVibrant: SlideStyle = {
  key: 'marketing_vibrant',
  palette: { bg: '#fff7ed', title: '#1c1917', body: '#44403c', muted: '#a8a29e', accent: '#f97316', accent2: '#ea580c', accent3: '#fde047', onAccent: '#ffffff' },
  fonts: { title: 'sansBlack', body: 'sans', number: 'sansBlack' },
  align: () => 'start',
  bulletIndent: 1.35,
  regions(c) {
    if (c.kind === 'content') return grid(c, { art: 0.34 })
    if (c.kind === 'contents') return grid(c, { left: c.narrow ? 0 : 20 })
    return grid(c, { heroWidth: 0.58 })
  },
  colors: c => (c.kind === 'transition' || c.kind === 'end'
    ? { title: '#ffffff', body: '#ffedd5', muted: '#fed7aa', number: '#1c1917' }
    : { title: '#1c1917', body: '#44403c', muted: '#a8a29e', number: '#f97316' }),
  bullet(c, x, cy, size, i) {
    if (c.kind === 'contents') {
      const s = size * 1.1
      return rect(x, cy - s / 2, s, s, i % 2 ? '#1c1917' : '#f97316', { rx: s * 0.18 }) + badgeNumber(c, i, x + s / 2, cy, size * 0.5, '#ffffff', 'sansBlack')
    }
    const s = size * 0.34
    return path(`M${x} ${cy - s} l${s} ${s} l${-s} ${s} M${x + s * 0.9} ${cy - s} l${s} ${s} l${-s} ${s}`, 'none', { stroke: '#f97316', 'stroke-width': Math.max(2, size * 0.12), 'stroke-linecap': 'round', 'stroke-linejoin': 'round' })
  },
  titleAccent(c, b) {
    if (c.kind === 'transition' || c.kind === 'end') return rect(b.x, b.y + b.h + 10, 120, 10, '#fde047')
    return rect(b.x, b.y + b.h + 8, Math.min(b.w, 200), 10, '#fde047') + rect(b.x, b.y + b.h + 8, 40, 10, '#f97316')
  },
  backdrop(c) {
    const { W, H } = c
    const burst = (cx: number, cy: number, r: number, fill: string) => path(star(cx, cy, r, 0.78, 14), fill)
    const chevrons = (x: number, y: number, col: string) => group([0, 1, 2].map(i => path(`M${x + i * 26} ${y} l18 18 l-18 18`, 'none', { stroke: col, 'stroke-width': 7, 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'stroke-opacity': 1 - i * 0.25 })).join(''))
    const megaphone = (x: number, y: number, s: number) => group(
      poly([[0, 30 * s], [90 * s, 0], [90 * s, 120 * s], [0, 90 * s]], '#ffffff') + rect(-30 * s, 30 * s, 34 * s, 60 * s, '#1c1917', { rx: 6 }) +
      rect(90 * s, -6 * s, 16 * s, 132 * s, '#1c1917', { rx: 6 }) + rect(-14 * s, 88 * s, 26 * s, 50 * s, '#1c1917', { rx: 6, transform: `rotate(-12 0 ${90 * s})` }) +
      [0, 1, 2].map(i => line(125 * s, (30 + i * 30) * s, 165 * s, (14 + i * 36) * s, '#1c1917', 7 * s, { 'stroke-linecap': 'round' })).join(''),
      { transform: `translate(${x} ${y})` })
    if (c.kind === 'transition' || c.kind === 'end') {
      return rect(0, 0, W, H, '#f97316') + poly([[W * 0.55, 0], [W, 0], [W, H], [W * 0.35, H]], '#ea580c') +
        circle(W * 0.85, H * 0.3, 170, '#fb923c') + burst(W * 0.85, H * 0.3, 120, '#fde047') + circle(W * 0.85, H * 0.3, 84, '#f97316') + megaphone(W * 0.85 - 52, H * 0.3 - 52, 0.75) +
        chevrons(W * 0.7, H * 0.82, '#ffffff') + rect(0, H - 14, W, 14, '#1c1917') +
        group(Array.from({ length: 30 }, (_, i) => circle(60 + (i % 10) * 20, 48 + Math.floor(i / 10) * 20, 3, '#ffffff', { 'fill-opacity': 0.6 })).join(''))
    }
    const base = rect(0, 0, W, H, '#fff7ed')
    if (c.kind === 'cover') {
      return base + (c.narrow
        ? circle(W, H, 320, '#f97316')
        : poly([[W * 0.62, 0], [W, 0], [W, H], [W * 0.5, H]], '#f97316') + poly([[W * 0.8, 0], [W, 0], [W, H * 0.45]], '#ea580c') +
          circle(W * 0.8, H * 0.52, 190, '#fb923c') + burst(W * 0.8, H * 0.52, 150, '#fde047') + circle(W * 0.8, H * 0.52, 112, '#f97316') +
          megaphone(W * 0.8 - 60, H * 0.52 - 60, 1) + chevrons(W * 0.55, H * 0.86, '#1c1917')) +
        rect(84, H * 0.12, 14, 14, '#f97316') + rect(106, H * 0.12, 14, 14, '#1c1917') + rect(128, H * 0.12, 14, 14, '#fde047') +
        circle(-30, H + 20, 120, '#fed7aa')
    }
    const a = artBox(c, 0.34, { top: 130 })
    return base + poly([[0, 0], [W * 0.18, 0], [0, H * 0.14]], '#f97316') + rect(0, H - 12, W, 12, '#f97316') + rect(0, H - 12, W * 0.3, 12, '#1c1917') +
      (c.kind === 'content' && !c.narrow
        ? contentArt(c, marketingVibrant.palette, a, () => rect(a.x + 20, a.y + 20, a.w - 20, a.h - 20, '#1c1917', { rx: 22 }) + rect(a.x, a.y, a.w - 20, a.h - 20, '#f97316', { rx: 22 }) +
          burst(a.x + a.w / 2 - 10, a.y + a.h / 2 - 10, Math.min(a.w, a.h) * 0.34, '#fde047') + circle(a.x + a.w / 2 - 10, a.y + a.h / 2 - 10, Math.min(a.w, a.h) * 0.25, '#fb923c') +
          megaphone(a.x + a.w / 2 - 70, a.y + a.h / 2 - 70, 0.85) + chevrons(a.x + 30, a.y + a.h - 80, '#ffffff'))
        : circle(W + 40, H * 0.5, 220, '#fed7aa') + circle(W + 40, H * 0.5, 150, '#fdba74') + chevrons(W - 150, H - 90, '#f97316'))
  },
}

export const guochao: SlideStyle = {
  key: 'guochao_red_gold',
  palette: { bg: '#8f1d1d', title: '#fde68a', body: '#fef3c7', muted: '#e9b872', accent: '#d4a24c', accent2: '#b91c1c', accent3: '#1f2937', onAccent: '#7f1d1d' },
  fonts: { title: 'serifBold', body: 'serif', number: 'serifBold' },
  align: k => (k === 'content' || k === 'contents' ? 'start' : 'middle'),
  bulletIndent: 1.35,
  regions(c) {
    // the footer sits above the sea-wave band, inside the frame, not on the waves
    const footer = { x: c.W - 170 - 360, y: c.H - 112, w: 360, h: 22 }
    if (c.kind === 'content') return { ...grid(c, { art: 0.3, margin: 110, titleTop: 56, bottom: 90 }), footer }
    if (c.kind === 'contents') return { ...grid(c, { margin: 120, titleTop: 56, bottom: 90 }), footer }
    return grid(c, { heroAlign: 'middle', margin: 160, bottom: 100 })
  },
  colors: () => ({ title: '#fde68a', body: '#fef3c7', muted: '#e9b872', number: '#f5d08a' }),
  bullet(c, x, cy, size, i) {
    const s = size * 0.3
    if (c.kind === 'contents') {
      const r = size * 0.55
      return circle(x + r, cy, r, '#d4a24c') + circle(x + r, cy, r - 4, 'none', { stroke: '#8f1d1d', 'stroke-width': 1.5 }) + badgeNumber(c, i, x + r, cy, size * 0.48, '#7f1d1d', 'serifBold')
    }
    return rect(x + s * 0.4, cy - s / 2, s, s, '#e9b872', { transform: `rotate(45 ${x + s * 0.9} ${cy})` }) + circle(x + s * 0.9, cy, s * 1.05, 'none', { stroke: '#e9b872', 'stroke-width': 1.2 })
  },
  titleAccent(c, b, align) {
    const y = b.y + b.h + 16
    if (align === 'middle') {
      const cx = b.x + b.w / 2
      return line(cx - 150, y, cx - 24, y, '#d4a24c', 2) + line(cx + 24, y, cx + 150, y, '#d4a24c', 2) + rect(cx - 8, y - 8, 16, 16, '#d4a24c', { transform: `rotate(45 ${cx} ${y})` })
    }
    return line(b.x, y - 4, b.x + 120, y - 4, '#d4a24c', 2) + circle(b.x + 132, y - 4, 5, '#d4a24c')
  },
  backdrop(c) {
    const { W, H } = c
    const [d0, g0] = radial(c, [[0, '#b4232a'], [1, '#6e1010']], 0.5, 0.4, 0.85)
    const [dg, gold] = linear(c, [[0, '#f7dc9c'], [0.5, '#d4a24c'], [1, '#a87a2e']], 0, 0, 1, 1)
    const frame = rect(28, 28, W - 56, H - 56, 'none', { stroke: '#d4a24c', 'stroke-width': 3 }) + rect(40, 40, W - 80, H - 80, 'none', { stroke: '#d4a24c', 'stroke-width': 1, 'stroke-opacity': 0.7 }) +
      [[28, 28, 1, 1], [W - 28, 28, -1, 1], [28, H - 28, 1, -1], [W - 28, H - 28, -1, -1]].map(([x, y, sx, sy]) =>
        path(`M${x} ${y + 60 * sy} V${y} H${x + 60 * sx} M${x + 14 * sx} ${y + 40 * sy} V${y + 14 * sy} H${x + 40 * sx}`, 'none', { stroke: '#f5d08a', 'stroke-width': 4 })).join('')
    const clouds = (x: number, y: number, w: number, op = 1) => path(xiangyun(x, y, w), gold, { 'fill-opacity': op, 'fill-rule': 'evenodd' })
    const sea = waves(0, H - 110, W, 2, 34, '#d4a24c', '#8f1d1d')
    const mountains = path(`M0 ${H - 100} L${W * 0.14} ${H * 0.62} L${W * 0.24} ${H * 0.74} L${W * 0.36} ${H * 0.56} L${W * 0.5} ${H - 100} Z`, '#7a1616') +
      path(`M${W * 0.5} ${H - 100} L${W * 0.66} ${H * 0.6} L${W * 0.76} ${H * 0.72} L${W * 0.88} ${H * 0.54} L${W} ${H * 0.7} V${H - 100} Z`, '#7a1616')
    // a seal stamp with an abstract knot, not a character (the model must not copy stray text)
    const seal = (x: number, y: number, s: number) => rect(x, y, s, s, '#c81e1e', { rx: 4, stroke: '#fde68a', 'stroke-width': 2 }) +
      rect(x + s * 0.2, y + s * 0.2, s * 0.6, s * 0.6, 'none', { stroke: '#fde68a', 'stroke-width': s * 0.06, rx: s * 0.08 }) +
      circle(x + s / 2, y + s / 2, s * 0.12, '#fde68a')
    const base = d0 + dg + rect(0, 0, W, H, g0)
    if (c.kind === 'content' || c.kind === 'contents') {
      const a = artBox(c, 0.3, { margin: 110, top: 150, bottom: 120 })
      const art = c.kind === 'content' && !c.narrow
        ? contentArt(c, guochao.palette, a, () => circle(a.x + a.w / 2, a.y + a.h * 0.42, Math.min(a.w, a.h) * 0.38, gold) + circle(a.x + a.w / 2, a.y + a.h * 0.42, Math.min(a.w, a.h) * 0.38 - 10, 'none', { stroke: '#8f1d1d', 'stroke-width': 2, 'stroke-opacity': 0.5 }) +
          clouds(a.x - 10, a.y + a.h * 0.62, a.w * 0.7) + clouds(a.x + a.w * 0.4, a.y + a.h * 0.78, a.w * 0.6, 0.9) +
          path(`M${a.x} ${a.y + a.h} L${a.x + a.w * 0.3} ${a.y + a.h * 0.7} L${a.x + a.w * 0.5} ${a.y + a.h * 0.85} L${a.x + a.w * 0.75} ${a.y + a.h * 0.6} L${a.x + a.w} ${a.y + a.h} Z`, '#6e1010', { stroke: '#d4a24c', 'stroke-width': 2 }))
        : ''
      return base + waves(0, H - 78, W, 1, 26, '#b56637', '#8f1d1d') + frame + art + clouds(W - 260, 118, 150, 0.5) + seal(W - 150, H - 150, 46)
    }
    return base + mountains + sea + frame +
      circle(W * 0.8, H * 0.26, 92, gold) + circle(W * 0.8, H * 0.26, 110, 'none', { stroke: '#d4a24c', 'stroke-width': 1.5, 'stroke-dasharray': '4 8' }) +
      clouds(W * 0.68, H * 0.36, 200) + clouds(W * 0.06, H * 0.3, 220, 0.85) + clouds(W * 0.2, H * 0.16, 120, 0.6) +
      (c.kind === 'transition' ? '' : seal(W * 0.5 - 23, H * 0.1, 46))
  },
}

export const morandiSoft: SlideStyle = {
  key: 'morandi_soft',
  palette: { bg: '#efe9e1', title: '#4a423c', body: '#5f5750', muted: '#a39a91', accent: '#a3b1a6', accent2: '#b8a9a0', accent3: '#8e9aaf', onAccent: '#ffffff' },
  fonts: { title: 'sansBold', body: 'sans', number: 'serif' },
  align: k => (k === 'end' ? 'middle' : 'start'),
  bulletIndent: 1.3,
  regions(c) {
    if (c.kind === 'end') return grid(c, { heroAlign: 'middle', margin: 140 })
    if (c.kind === 'content') return grid(c, { art: 0.36, margin: 100, titleTop: 50 })
    if (c.kind === 'contents') return grid(c, { margin: 100, art: 0.36, titleTop: 50 })
    return grid(c, { heroWidth: 0.56, margin: 100 })
  },
  colors: c => (c.kind === 'transition'
    ? { title: '#3f3934', body: '#4f4842', muted: '#6b625b', number: '#efe9e1' }
    : { title: '#4a423c', body: '#5f5750', muted: '#a39a91', number: '#b8a9a0' }),
  bullet(c, x, cy, size, i) {
    const cols = ['#a3b1a6', '#c9a99a', '#8e9aaf', '#d6c2a8']
    if (c.kind === 'contents') {
      const r = size * 0.55
      return circle(x + r, cy, r, cols[i % 4]) + badgeNumber(c, i, x + r, cy, size * 0.46, '#ffffff')
    }
    return circle(x + size * 0.25, cy, size * 0.18, cols[i % 4])
  },
  titleAccent(c, b, align) {
    const x = align === 'middle' ? b.x + b.w / 2 - 30 : b.x
    return line(x, b.y + b.h + 14, x + 60, b.y + b.h + 14, '#b8a9a0', 2, { 'stroke-linecap': 'round' })
  },
  backdrop(c) {
    const { W, H } = c
    const arch = (x: number, y: number, w: number, h: number, fill: string) => path(`M${x} ${y + h} V${y + w / 2} A${w / 2} ${w / 2} 0 0 1 ${x + w} ${y + w / 2} V${y + h} Z`, fill)
    const sprig = (x: number, y: number, s: number) => path(`M${x} ${y} q${-10 * s} ${-80 * s} ${20 * s} ${-160 * s}`, 'none', { stroke: '#7d8a7f', 'stroke-width': 2.5, 'stroke-linecap': 'round' }) +
      [0.2, 0.4, 0.6, 0.8].map((t, i) => {
        const px = x + (-10 * s) * t * 2 * (1 - t) + 20 * s * t * t
        const py = y - 160 * s * t
        return ellipse(px + (i % 2 ? 16 : -16) * s, py, 20 * s, 8 * s, '#a3b1a6', { transform: `rotate(${i % 2 ? -30 : 30} ${px} ${py})` })
      }).join('')
    const comp = (x: number, y: number, w: number, h: number) =>
      arch(x + w * 0.08, y + h * 0.12, w * 0.5, h * 0.88, '#d6c7b9') + arch(x + w * 0.42, y + h * 0.34, w * 0.46, h * 0.66, '#a3b1a6') +
      circle(x + w * 0.7, y + h * 0.2, w * 0.12, '#c9a99a') + rect(x, y + h - 8, w, 8, '#b8a9a0', { rx: 4 }) +
      circle(x + w * 0.3, y + h * 0.5, w * 0.2, 'none', { stroke: '#8e9aaf', 'stroke-width': 2 }) + sprig(x + w * 0.86, y + h - 8, h / 420)
    const base = rect(0, 0, W, H, '#efe9e1') + circle(W * 0.06, H * 0.9, 160, '#e4dbd0') + circle(W * 0.94, H * 0.06, 120, '#e6ddd3')
    const dots = group(Array.from({ length: 5 }, (_, i) => circle(100 + i * 16, 36, 3, ['#a3b1a6', '#c9a99a', '#8e9aaf', '#d6c2a8', '#b8a9a0'][i])).join(''))
    if (c.kind === 'transition') {
      return rect(0, 0, W, H, '#a3b1a6') + (c.narrow ? '' : arch(W * 0.62, H * 0.18, W * 0.26, H * 0.82, '#bcc7be') + arch(W * 0.74, H * 0.42, W * 0.2, H * 0.58, '#d6c7b9') + circle(W * 0.62, H * 0.24, 56, '#efe9e1')) +
        rect(0, H - 16, W, 16, '#8e9aaf', { 'fill-opacity': 0.6 })
    }
    if (c.narrow) return base + dots
    if (c.kind === 'cover') return base + dots + comp(W * 0.6, H * 0.14, W * 0.34, H * 0.72)
    if (c.kind === 'end') return base + dots + arch(W * 0.08, H * 0.5, 120, H * 0.5, '#d6c7b9') + arch(W * 0.82, H * 0.44, 140, H * 0.56, '#a3b1a6') + circle(W * 0.86, H * 0.36, 34, '#c9a99a')
    const a = artBox(c, 0.36, { margin: 100, top: 130 })
    return base + dots + contentArt(c, morandiSoft.palette, { x: a.x + 20, y: a.y, w: a.w - 20, h: a.h }, () => comp(a.x + 20, a.y, a.w - 20, a.h))
  },
}




