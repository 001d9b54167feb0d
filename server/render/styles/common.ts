// Shared geometry for the template styles: a standard grid most styles start from.
import type { Box, Ctx, Regions } from '../types.js'

export interface GridOptions {
  /** outer margin (design units); default ~6% of the width, at most 84 */
  margin?: number
  /** title/text alignment on cover, transition and end pages */
  heroAlign?: 'start' | 'middle'
  /** the content page keeps this fraction of the width on the right for an illustration */
  art?: number
  /** cover/end text stays left of this fraction of the width (a panel sits right of it) */
  heroWidth?: number
  /** top of the content title band */
  titleTop?: number
  /** shift every region right (a band or panel on the left) */
  left?: number
  /** keep this much free at the bottom (decorations) */
  bottom?: number
}

export function grid(c: Ctx, o: GridOptions = {}): Regions {
  const { W, H } = c
  const m = c.narrow ? Math.min(o.margin ?? 84, Math.round(W * 0.08)) : o.margin ?? Math.min(84, Math.round(W * 0.06))
  const L = m + (c.narrow ? 0 : o.left ?? 0)
  const R = W - m
  const bottom = H - (o.bottom ?? 64)
  const center = o.heroAlign === 'middle'
  const heroR = o.heroWidth && !c.narrow ? Math.min(R, W * o.heroWidth) : R
  const heroBox = (y: number, h: number): Box => center ? { x: L, y, w: R - L, h } : { x: L, y, w: heroR - L, h }
  switch (c.kind) {
    case 'cover':
      return {
        title: heroBox(H * 0.2, H * 0.36),
        subtitle: heroBox(H * 0.615, H * 0.16),
        meta: heroBox(H * 0.8, 30),
      }
    case 'end':
      return {
        title: heroBox(H * 0.26, H * 0.28),
        subtitle: heroBox(H * 0.58, H * 0.16),
      }
    case 'transition':
      return {
        number: heroBox(H * 0.16, H * 0.24),
        title: heroBox(H * 0.42, H * 0.2),
        subtitle: heroBox(H * 0.64, H * 0.14),
        footer: { x: R - 200, y: H - 46, w: 200, h: 24 },
      }
    case 'contents': {
      const top = o.titleTop ?? 48
      return {
        title: { x: L, y: top, w: R - L, h: 84 },
        list: { x: L, y: top + 120, w: (o.art && !c.narrow ? W * (1 - o.art) - 24 : R) - L, h: bottom - top - 130 },
        footer: { x: R - 200, y: H - 46, w: 200, h: 24 },
      }
    }
    case 'content':
    default: {
      const top = o.titleTop ?? 44
      const bodyTop = top + 124
      const bodyR = o.art && !c.narrow ? W * (1 - o.art) - 24 : R
      return {
        title: { x: L, y: top, w: (c.narrow ? R : Math.max(bodyR, W * 0.7)) - L, h: 92 },
        body: { x: L, y: bodyTop, w: bodyR - L, h: bottom - bodyTop - (c.narrow && o.art ? H * 0.25 : 0) },
        footer: { x: R - 200, y: H - 46, w: 200, h: 24 },
      }
    }
  }
}

/** The illustration area of a content page (right side; bottom strip on narrow canvases). */
export function artBox(c: Ctx, frac: number, o: { margin?: number; top?: number; bottom?: number } = {}): Box {
  const m = c.narrow ? Math.min(o.margin ?? 84, Math.round(c.W * 0.08)) : o.margin ?? Math.min(84, Math.round(c.W * 0.06))
  const top = o.top ?? 150
  const bottom = c.H - (o.bottom ?? 70)
  if (c.narrow) return { x: m, y: c.H * 0.72, w: c.W - 2 * m, h: c.H * 0.2 }
  const x = c.W * (1 - frac)
  return { x, y: top, w: c.W - m - x, h: bottom - top }
}

export const isHero = (c: Ctx) => c.kind === 'cover' || c.kind === 'end'
