// Colour emoji for the preview renderer, drawn as SVG: Twemoji (CC-BY 4.0, by Twitter/X and
// contributors) from the npm package @iconify-json/twemoji, ~4,000 emoji on a 36×36 grid.
// The 11 MB JSON is read on the first emoji only. A picture character no font or emoji set has is
// drawn as a clean rounded outline box (never dropped silently).
import { createRequire } from 'node:module'

interface IconSet {
  icons: Record<string, { body: string }>
  aliases?: Record<string, { parent: string }>
  width?: number
  height?: number
}

const require = createRequire(import.meta.url)
let set: { icons: IconSet; chars: Record<string, string> } | null | undefined

function load(): typeof set {
  if (set !== undefined) return set
  try {
    set = { icons: require('@iconify-json/twemoji/icons.json') as IconSet, chars: require('@iconify-json/twemoji/chars.json') as Record<string, string> }
  } catch {
    set = null
  }
  return set
}

/** A grapheme that should be drawn as an emoji picture rather than a text glyph. */
export const EMOJI_LIKE = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3|\ufe0f/u
/** Emoji that are pictures by default (no text glyph should be preferred even if a font has one). */
const EMOJI_PRESENTATION = /\p{Emoji_Presentation}|\ufe0f|\u20e3|\p{Regional_Indicator}/u

/** Whether the grapheme asks to be drawn as a picture (Emoji_Presentation, VS16, keycap, flag, ZWJ sequence). */
export function prefersEmoji(grapheme: string): boolean {
  return EMOJI_PRESENTATION.test(grapheme) || grapheme.includes('\u200d')
}

function key(grapheme: string): string {
  return [...grapheme].map(ch => ch.codePointAt(0)!).filter(cp => cp !== 0xfe0f).map(cp => cp.toString(16).padStart(cp < 0x100 ? 4 : 0, '0')).join('-')
}

const cache = new Map<string, string | null>()

/**
 * SVG body of a grapheme's emoji on a 36×36 grid, or null when the set has none.
 * Source of the code point keys: the icon set's chars.json (hex code points joined by '-', VS16 left out).
 */
export function emojiBody(grapheme: string): string | null {
  const hit = cache.get(grapheme)
  if (hit !== undefined) return hit
  const s = load()
  let body: string | null = null
  if (s) {
    const k = key(grapheme)
    let name: string | undefined = s.chars[k] ?? s.chars[k.replace(/^0+/, '')]
    for (let i = 0; name && i < 4 && !s.icons.icons[name]; i++) name = s.icons.aliases?.[name]?.parent
    body = name ? s.icons.icons[name]?.body ?? null : null
  }
  cache.set(grapheme, body)
  return body
}

/** An emoji (or the outline box) at pen position x, baseline y, font size in design units. */
export function emojiSvg(grapheme: string, x: number, baseline: number, size: number): string {
  const body = emojiBody(grapheme)
  const s = size * 0.92
  const top = baseline - size * 0.8
  const r = (v: number) => Math.round(v * 100) / 100
  if (body) return `<g transform="translate(${r(x + size * 0.06)} ${r(top)}) scale(${(s / 36).toPrecision(5)})">${body}</g>`
  return `<rect x="${r(x + size * 0.12)}" y="${r(top + size * 0.06)}" width="${r(size * 0.76)}" height="${r(size * 0.76)}" rx="${r(size * 0.14)}" fill="none" stroke="#9ca3af" stroke-width="${r(size * 0.07)}"/>`
}

/** Advance of an emoji grapheme, as a multiple of the font size. */
export const EMOJI_ADVANCE = 1.04
