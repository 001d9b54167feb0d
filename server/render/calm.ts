// Background mode: the slide's own text boxes (sent by the extension as fractions of the slide) stay
// readable over the template's decoration. The content illustration is left out when a box meets it
// (slide.ts), and each box gets a card in the dominant colour of the backdrop under it (drawn when
// rasterising, from the backdrop's pixels), so motifs under the text fade into the page's own tone.
import type { TextBoxRect } from '../../plugin/types/api.js'
import type { Box, Ctx } from './types.js'

/** how much of the decoration under a text box the veil hides */
export const VEIL_OPACITY = 0.88
const PAD = 10

/** The slide's text boxes in design units (boxes without area are ignored). */
export function calmZones(c: Pick<Ctx, 'W' | 'H'>, textBoxes: TextBoxRect[] | undefined): Box[] {
  return (textBoxes ?? []).filter(b => b.w > 0 && b.h > 0).map(b => ({ x: b.x * c.W, y: b.y * c.H, w: b.w * c.W, h: b.h * c.H }))
}

/**
 * Veils for the zones as SVG (design units): a rounded card in the most common colour of the backdrop
 * under each zone (the ground's dominant tone, not a muddy mix of ground and motifs), mostly opaque, so
 * the decoration under the slide's text fades out. `pixels` is the backdrop as RGBA, `scale` px per unit.
 */
export function veilsSvg(zones: Box[], pixels: Buffer, width: number, height: number, scale: number, designW: number, designH: number): string {
  return zones.map(z => {
    const x = Math.max(0, z.x - PAD)
    const y = Math.max(0, z.y - PAD)
    const w = Math.min(designW, z.x + z.w + PAD) - x
    const h = Math.min(designH, z.y + z.h + PAD) - y
    const x0 = Math.max(0, Math.floor(x * scale))
    const y0 = Math.max(0, Math.floor(y * scale))
    const x1 = Math.min(width, Math.ceil((x + w) * scale))
    const y1 = Math.min(height, Math.ceil((y + h) * scale))
    // the most common colour (12-bit bins, then the mean of that bin) of every other pixel in both directions
    const bins = new Uint32Array(4096)
    const sums = new Float64Array(4096 * 3)
    for (let py = y0; py < y1; py += 2) {
      for (let px = x0, i = (py * width + x0) * 4; px < x1; px += 2, i += 8) {
        const k = ((pixels[i] >> 4) << 8) | ((pixels[i + 1] >> 4) << 4) | (pixels[i + 2] >> 4)
        bins[k]++
        sums[k * 3] += pixels[i]; sums[k * 3 + 1] += pixels[i + 1]; sums[k * 3 + 2] += pixels[i + 2]
      }
    }
    let best = -1
    for (let k = 0; k < 4096; k++) if (bins[k] && (best < 0 || bins[k] > bins[best])) best = k
    if (best < 0) return ''
    const hex = '#' + [0, 1, 2].map(ch => Math.round(sums[best * 3 + ch] / bins[best]).toString(16).padStart(2, '0')).join('')
    return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" rx="14" fill="${hex}" fill-opacity="${VEIL_OPACITY}"/>`
  }).join('')
}
