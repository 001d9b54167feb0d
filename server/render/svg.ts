// Small SVG builders shared by the template styles (strings in, strings out).
import type { Ctx } from './types.js'

const n = (v: number) => String(Math.round(v * 10) / 10)

type Attrs = Record<string, string | number | undefined>

function attrs(a: Attrs): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? n(v) : v}"`)
    .join('')
}

export const rect = (x: number, y: number, w: number, h: number, fill: string, a: Attrs = {}) =>
  `<rect${attrs({ x, y, width: Math.max(0, w), height: Math.max(0, h), fill, ...a })}/>`

export const circle = (cx: number, cy: number, r: number, fill: string, a: Attrs = {}) =>
  `<circle${attrs({ cx, cy, r: Math.max(0, r), fill, ...a })}/>`

export const ellipse = (cx: number, cy: number, rx: number, ry: number, fill: string, a: Attrs = {}) =>
  `<ellipse${attrs({ cx, cy, rx, ry, fill, ...a })}/>`

export const path = (d: string, fill: string, a: Attrs = {}) => `<path${attrs({ d, fill, ...a })}/>`

export const line = (x1: number, y1: number, x2: number, y2: number, stroke: string, width: number, a: Attrs = {}) =>
  `<line${attrs({ x1, y1, x2, y2, stroke, 'stroke-width': width, ...a })}/>`

export const poly = (pts: Array<[number, number]>, fill: string, a: Attrs = {}) =>
  `<polygon${attrs({ points: pts.map(([x, y]) => `${n(x)},${n(y)}`).join(' '), fill, ...a })}/>`

export const group = (content: string, a: Attrs = {}) => `<g${attrs(a)}>${content}</g>`

/** Linear gradient definition; returns [defs, url(#id)] */
export function linear(c: Ctx, stops: Array<[number, string, number?]>, x1 = 0, y1 = 0, x2 = 1, y2 = 1): [string, string] {
  const id = c.id('lg')
  const s = stops.map(([o, col, op]) => `<stop offset="${o}" stop-color="${col}"${op !== undefined ? ` stop-opacity="${op}"` : ''}/>`).join('')
  return [`<defs><linearGradient id="${id}" x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}">${s}</linearGradient></defs>`, `url(#${id})`]
}

export function radial(c: Ctx, stops: Array<[number, string, number?]>, cx = 0.5, cy = 0.5, r = 0.5): [string, string] {
  const id = c.id('rg')
  const s = stops.map(([o, col, op]) => `<stop offset="${o}" stop-color="${col}"${op !== undefined ? ` stop-opacity="${op}"` : ''}/>`).join('')
  return [`<defs><radialGradient id="${id}" cx="${cx}" cy="${cy}" r="${r}">${s}</radialGradient></defs>`, `url(#${id})`]
}

/** Deterministic pseudo-random numbers (mulberry32) so covers rebuild byte-identically. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A hand-drawn looking polyline through points: jittered, drawn as a smooth quadratic path. */
export function wobbly(points: Array<[number, number]>, jitter: number, seed: number): string {
  const r = rng(seed)
  const pts: Array<[number, number]> = []
  for (let i = 0; i < points.length - 1; i++) {
    const [x1, y1] = points[i]
    const [x2, y2] = points[i + 1]
    const len = Math.hypot(x2 - x1, y2 - y1)
    const steps = Math.max(2, Math.round(len / 40))
    for (let s = 0; s < steps; s++) {
      const t = s / steps
      pts.push([x1 + (x2 - x1) * t + (r() - 0.5) * jitter, y1 + (y2 - y1) * t + (r() - 0.5) * jitter])
    }
  }
  const last = points[points.length - 1]
  pts.push([last[0] + (r() - 0.5) * jitter, last[1] + (r() - 0.5) * jitter])
  let d = `M${n(pts[0][0])} ${n(pts[0][1])}`
  for (let i = 1; i < pts.length - 1; i++) {
    const mx = (pts[i][0] + pts[i + 1][0]) / 2
    const my = (pts[i][1] + pts[i + 1][1]) / 2
    d += ` Q${n(pts[i][0])} ${n(pts[i][1])} ${n(mx)} ${n(my)}`
  }
  d += ` L${n(last[0])} ${n(last[1])}`
  return d
}

/** A wobbly closed loop around an ellipse (hand-drawn circle), slightly overshooting its start. */
export function wobblyEllipse(cx: number, cy: number, rx: number, ry: number, jitter: number, seed: number): string {
  const pts: Array<[number, number]> = []
  const steps = 28
  for (let i = 0; i <= steps + 3; i++) {
    const a = -Math.PI / 2 + (i / steps) * Math.PI * 2
    pts.push([cx + Math.cos(a) * rx, cy + Math.sin(a) * ry])
  }
  return wobbly(pts, jitter, seed)
}

/** Five-pointed star path. */
export function star(cx: number, cy: number, r: number, inner = 0.45, points = 5): string {
  let d = ''
  for (let i = 0; i < points * 2; i++) {
    const rr = i % 2 === 0 ? r : r * inner
    const a = -Math.PI / 2 + (i * Math.PI) / points
    d += `${i === 0 ? 'M' : 'L'}${n(cx + Math.cos(a) * rr)} ${n(cy + Math.sin(a) * rr)} `
  }
  return d + 'Z'
}

/** Auspicious cloud (祥云): a row of spiral-topped lobes on a flat base, width w at (x, y base). */
export function xiangyun(x: number, y: number, w: number): string {
  const u = w / 10
  return [
    `M${n(x)} ${n(y)}`,
    `C${n(x)} ${n(y - 1.6 * u)} ${n(x + 2 * u)} ${n(y - 2 * u)} ${n(x + 2.6 * u)} ${n(y - 1.1 * u)}`,
    `C${n(x + 2.8 * u)} ${n(y - 3.4 * u)} ${n(x + 5.6 * u)} ${n(y - 3.8 * u)} ${n(x + 6.2 * u)} ${n(y - 1.6 * u)}`,
    `C${n(x + 7.4 * u)} ${n(y - 2.6 * u)} ${n(x + 9.6 * u)} ${n(y - 1.8 * u)} ${n(x + 10 * u)} ${n(y)}`,
    'Z',
    // inner spirals
    `M${n(x + 4.4 * u)} ${n(y - 1.2 * u)} m${n(-0.9 * u)} 0 a${n(0.9 * u)} ${n(0.9 * u)} 0 1 1 ${n(1.8 * u)} 0 a${n(0.5 * u)} ${n(0.5 * u)} 0 1 1 ${n(-1 * u)} 0`,
  ].join(' ')
}

/** Sea-wave band (海水纹): rows of nested semicircles, running past both side edges. */
export function waves(x: number, y: number, w: number, rows: number, r: number, stroke: string, fill: string): string {
  const out: string[] = []
  for (let row = 0; row < rows; row++) {
    const yy = y + row * r * 0.9
    const off = row % 2 ? r : 0
    for (let xx = x - r * 2 + off; xx < x + w + r * 2; xx += r * 2) {
      out.push(`<circle cx="${n(xx)}" cy="${n(yy + r)}" r="${n(r)}" fill="${fill}" stroke="${stroke}" stroke-width="${n(r * 0.09)}"/>`)
      out.push(`<circle cx="${n(xx)}" cy="${n(yy + r)}" r="${n(r * 0.66)}" fill="none" stroke="${stroke}" stroke-width="${n(r * 0.07)}"/>`)
      out.push(`<circle cx="${n(xx)}" cy="${n(yy + r)}" r="${n(r * 0.33)}" fill="none" stroke="${stroke}" stroke-width="${n(r * 0.07)}"/>`)
    }
  }
  // no clip path: a clip costs a full-canvas mask layer in resvg; the band runs off the slide's edges instead
  return `<g>${out.join('')}</g>`
}
