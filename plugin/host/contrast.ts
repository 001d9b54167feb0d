// WCAG 2.x colour maths, pure: CSS colours in, relative luminance, contrast ratios, alpha blending
// and the AA thresholds by text size. Sources: WCAG 2.2 "relative luminance" and "contrast ratio"
// definitions (https://www.w3.org/TR/WCAG22/#dfn-relative-luminance), success criterion 1.4.3
// (4.5:1 for text, 3:1 for large text: at least 18 pt, or 14 pt bold; 1 pt = 4/3 CSS px).

export type Rgb = [number, number, number]

/** A parsed CSS colour with its alpha (0 … 1). */
export interface Rgba {
  rgb: Rgb
  alpha: number
}

/** AA minimum for normal text */
export const AA_BODY = 4.5
/** AA minimum for large text */
export const AA_LARGE = 3
/** 18 pt in CSS px */
export const LARGE_PX = 24
/** 14 pt in CSS px, for bold text */
export const LARGE_BOLD_PX = 18.66

const NAMED: Record<string, Rgb> = {
  black: [0, 0, 0], white: [255, 255, 255], red: [255, 0, 0], green: [0, 128, 0], blue: [0, 0, 255],
  gray: [128, 128, 128], grey: [128, 128, 128], yellow: [255, 255, 0], orange: [255, 165, 0],
  navy: [0, 0, 128], silver: [192, 192, 192], gold: [255, 215, 0],
}

/**
 * #rgb, #rgba, #rrggbb, #rrggbbaa, rgb()/rgba() (commas or spaces, alpha as number or %), a few
 * names and `transparent`; null for anything else (var(), currentColor, gradients…).
 */
export function parseCssRgba(css: string | undefined | null): Rgba | null {
  if (!css) return null
  const value = css.trim().toLowerCase()
  if (value === 'transparent') return { rgb: [0, 0, 0], alpha: 0 }
  if (value in NAMED) return { rgb: NAMED[value], alpha: 1 }
  const hex = /^#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/.exec(value)
  if (hex) {
    const short = hex[1].length <= 4
    const digits = short ? [...hex[1]].map(d => d + d) : [0, 2, 4, 6].map(i => hex[1].slice(i, i + 2)).filter(Boolean)
    const [r, g, b, a] = digits.map(d => parseInt(d, 16))
    return { rgb: [r, g, b], alpha: a === undefined ? 1 : a / 255 }
  }
  const fn = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:\s*[,/]\s*([\d.]+)(%?))?\s*\)$/.exec(value)
  if (fn) {
    const rgb = [1, 2, 3].map(i => Math.min(255, Math.round(parseFloat(fn[i])))) as Rgb
    const alpha = fn[4] === undefined ? 1 : Math.min(1, parseFloat(fn[4]) / (fn[5] ? 100 : 1))
    return { rgb, alpha }
  }
  return null
}

/** The colour without its alpha (null when not understood). */
export function parseCssColor(css: string | undefined | null): Rgb | null {
  return parseCssRgba(css)?.rgb ?? null
}

/** WCAG relative luminance of an sRGB colour, 0 (black) … 1 (white). */
export function relativeLuminance([r, g, b]: Rgb): number {
  const linear = (channel: number) => {
    const c = channel / 255
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  }
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

/** WCAG contrast ratio of two relative luminances, 1 … 21 (order does not matter). */
export function contrastRatio(luminanceA: number, luminanceB: number): number {
  const [light, dark] = luminanceA > luminanceB ? [luminanceA, luminanceB] : [luminanceB, luminanceA]
  return (light + 0.05) / (dark + 0.05)
}

/** Contrast ratio of two colours. */
export function contrastOf(a: Rgb, b: Rgb): number {
  return contrastRatio(relativeLuminance(a), relativeLuminance(b))
}

/** `top` at `alpha` over `bottom`, as browsers composite (in sRGB values). */
export function blend(top: Rgb, alpha: number, bottom: Rgb): Rgb {
  return [0, 1, 2].map(i => top[i] * alpha + bottom[i] * (1 - alpha)) as Rgb
}

/**
 * WCAG large text: ≥ 24 px, or ≥ 18.66 px when bold (font-weight ≥ 700). `sizePx` is the size in
 * PPTist slide units at its 1000-unit-wide viewport (what the rich-text HTML says), the size the
 * slide is designed at.
 */
export function isLargeText(sizePx: number, bold: boolean): boolean {
  return sizePx >= LARGE_PX || (bold && sizePx >= LARGE_BOLD_PX)
}

/** The AA minimum for text of that size and weight. */
export function requiredContrast(sizePx: number, bold: boolean): number {
  return isLargeText(sizePx, bold) ? AA_LARGE : AA_BODY
}

/** The smallest contrast of `text` against any of the backgrounds (the worst region); Infinity for none. */
export function worstContrast(text: Rgb, backgrounds: Rgb[]): number {
  const lt = relativeLuminance(text)
  let worst = Infinity
  for (const bg of backgrounds) worst = Math.min(worst, contrastRatio(lt, relativeLuminance(bg)))
  return worst
}

export function toHex([r, g, b]: Rgb): string {
  return '#' + [r, g, b].map(c => Math.round(c).toString(16).padStart(2, '0')).join('')
}
