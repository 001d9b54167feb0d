// Background mode keeps the slide's text on top of the generated image. Text that was white on the
// old template's dark shape may now sit on a light image: decide, per text colour, whether it still
// reads (WCAG contrast ≥ 3, the large-text threshold) and if not, switch it to near-black or white.
// Pure functions; the image sampling lives in composables/useImageLuminance.ts.
import type { Box } from './extractText'
import type { SlideElement, TextElement } from './types'

export type Rgb = [number, number, number]

export const DARK_TEXT = '#1f1f1f'
export const LIGHT_TEXT = '#ffffff'
export const MIN_CONTRAST = 3
// PPTist's text colour when an element names none (its default theme font colour).
const FALLBACK_TEXT_COLOR = '#333333'

const NAMED: Record<string, Rgb> = {
  black: [0, 0, 0], white: [255, 255, 255], red: [255, 0, 0], green: [0, 128, 0], blue: [0, 0, 255],
  gray: [128, 128, 128], grey: [128, 128, 128], yellow: [255, 255, 0], orange: [255, 165, 0],
}

/** #rgb, #rgba, #rrggbb, #rrggbbaa, rgb()/rgba() and a few names; null for anything else. */
export function parseCssColor(css: string | undefined | null): Rgb | null {
  if (!css) return null
  const value = css.trim().toLowerCase()
  if (value in NAMED) return NAMED[value]
  const hex = /^#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/.exec(value)
  if (hex) {
    const digits = hex[1].length <= 4 ? [...hex[1].slice(0, 3)].map(d => d + d) : [0, 2, 4].map(i => hex[1].slice(i, i + 2))
    return digits.map(d => parseInt(d, 16)) as Rgb
  }
  const rgb = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/.exec(value)
  if (rgb) return [1, 2, 3].map(i => Math.min(255, Math.round(parseFloat(rgb[i])))) as Rgb
  return null
}

/** Transparent fills (`transparent`, alpha 0) do not hide the background. */
function isTransparent(css: string): boolean {
  const value = css.trim().toLowerCase()
  if (value === 'transparent' || value === 'none') return true
  const hexAlpha = /^#(?:[0-9a-f]{3}([0-9a-f])|[0-9a-f]{6}([0-9a-f]{2}))$/.exec(value)
  if (hexAlpha) return parseInt(hexAlpha[1] ? hexAlpha[1] + hexAlpha[1] : hexAlpha[2], 16) === 0
  const rgba = /^rgba\([^)]*[\s,/]\s*([\d.]+)\s*\)$/.exec(value)
  return !!rgba && parseFloat(rgba[1]) === 0
}

/** WCAG relative luminance of an sRGB colour, 0 (black) … 1 (white). */
export function relativeLuminance([r, g, b]: Rgb): number {
  const linear = (channel: number) => {
    const c = channel / 255
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  }
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

export function contrastRatio(luminanceA: number, luminanceB: number): number {
  const [light, dark] = luminanceA > luminanceB ? [luminanceA, luminanceB] : [luminanceB, luminanceA]
  return (light + 0.05) / (dark + 0.05)
}

/**
 * The colour text should switch to on a background of `bgLuminance`, or null when `currentColor`
 * already reads (contrast ≥ 3) or is not a colour we understand.
 */
export function pickReadableTextColor(bgLuminance: number, currentColor: string): string | null {
  const rgb = parseCssColor(currentColor)
  if (!rgb) return null
  if (contrastRatio(bgLuminance, relativeLuminance(rgb)) >= MIN_CONTRAST) return null
  const dark = contrastRatio(bgLuminance, relativeLuminance(parseCssColor(DARK_TEXT) as Rgb))
  const light = contrastRatio(bgLuminance, 1)
  return dark >= light ? DARK_TEXT : LIGHT_TEXT
}

// Only inside style attributes (never the text itself); `color:`, not `background-color:`.
const STYLE_ATTR = /(\sstyle\s*=\s*)("[^"]*"|'[^']*')/gi
const INLINE_COLOR = /(^|[;\s"'])color\s*:\s*([^;"']+)/gi

/** `replace` applied to every `color:` declaration in the HTML's style attributes. */
function mapInlineColors(html: string, replace: (color: string) => string | null): string {
  return html.replace(STYLE_ATTR, (attr, lead: string, quoted: string) => lead + quoted.replace(INLINE_COLOR, (decl, before: string, color: string) => {
    const replacement = replace(color.trim())
    return replacement ? `${before}color: ${replacement}` : decl
  }))
}

/** Colours an element's text is drawn in: its default colour and every inline `color:`. */
export function textColorsOf(el: TextElement): string[] {
  const colors = [el.defaultColor || FALLBACK_TEXT_COLOR]
  mapInlineColors(el.content, color => {
    colors.push(color)
    return null
  })
  return colors
}

/** The element with unreadable colours replaced (readable ones, e.g. accents, stay); null if none changed. */
export function recolorForBackground(el: TextElement, bgLuminance: number): TextElement | null {
  let changed = false
  const defaultColor = el.defaultColor || FALLBACK_TEXT_COLOR
  const newDefault = pickReadableTextColor(bgLuminance, defaultColor)
  if (newDefault) changed = true
  const content = mapInlineColors(el.content, color => {
    const replacement = pickReadableTextColor(bgLuminance, color)
    if (replacement) changed = true
    return replacement
  })
  if (!changed) return null
  return { ...el, defaultColor: newDefault ?? el.defaultColor, content }
}

/** Text elements drawn straight on the background (no opaque fill of their own). */
function onBackground(el: SlideElement): el is TextElement {
  if (el.type !== 'text') return false
  return !el.fill || isTransparent(el.fill)
}

/**
 * Every text element made readable against the background under its box (`luminanceUnder` gives
 * the image's mean luminance there, or null when unknown). Returns the new element list, or null
 * when nothing needed to change.
 */
export function readableOnBackground(elements: SlideElement[], luminanceUnder: (box: Box) => number | null): SlideElement[] | null {
  let changed = false
  const result = elements.map(el => {
    if (!onBackground(el)) return el
    const luminance = luminanceUnder({ left: el.left, top: el.top, width: el.width, height: el.height ?? 0 })
    if (luminance === null) return el
    const recolored = recolorForBackground(el, luminance)
    if (!recolored) return el
    changed = true
    return recolored
  })
  return changed ? result : null
}
