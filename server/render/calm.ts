// Background mode: the slide's own text boxes (sent by the extension as fractions of the slide) stay
// readable over the template's decoration. Each box gets a soft veil in the page's ground colour, and
// the content illustration is left out when a box meets it (slide.ts).
import type { TextBoxRect } from '../../plugin/types/api.js'
import { rect } from './svg.js'
import type { Box, Ctx, TextColors } from './types.js'

export interface CalmZone {
  /** the text box in design units */
  box: Box
  svg: string
}

/** Relative luminance of a #rrggbb colour, 0 (black) … 1 (white). */
function luminance(hex: string): number {
  const m = hex.match(/^#([0-9a-f]{6})$/i)
  if (!m) return 0
  const n = parseInt(m[1], 16)
  const ch = (v: number) => { const c = v / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4 }
  return 0.2126 * ch(n >> 16) + 0.7152 * ch((n >> 8) & 255) + 0.0722 * ch(n & 255)
}

/**
 * Veils for the slide's text boxes, in design units. Light text (a dark page) gets a dark veil,
 * dark text a light one, so decoration under the box is muted and the slide's text stays legible.
 */
export function calmZones(c: Ctx, colors: TextColors, textBoxes: TextBoxRect[] | undefined): CalmZone[] {
  if (!textBoxes?.length) return []
  const darkPage = luminance(colors.title) > 0.5
  const fill = darkPage ? '#000000' : '#ffffff'
  const opacity = darkPage ? 0.45 : 0.82
  const pad = 10
  return textBoxes
    .filter(b => b.w > 0 && b.h > 0)
    .map(b => {
      const box = { x: b.x * c.W, y: b.y * c.H, w: b.w * c.W, h: b.h * c.H }
      const x = Math.max(0, box.x - pad)
      const y = Math.max(0, box.y - pad)
      const w = Math.min(c.W, box.x + box.w + pad) - x
      const h = Math.min(c.H, box.y + box.h + pad) - y
      return { box, svg: rect(x, y, w, h, fill, { rx: 14, 'fill-opacity': opacity }) }
    })
}
