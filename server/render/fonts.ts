// Fonts for drawing slides. Text is turned into glyph outlines (SVG paths) here, so resvg never has
// to load a font: loading CJK fonts into resvg costs ~200 ms per render, far over the preview budget.
// Fonts are opened once per process with fontkit and glyphs are cached.
//
// Where the fonts come from, in order:
// 1. Noto Sans SC TTFs shipped by the npm package @expo-google-fonts/noto-sans-sc (a dependency), so
//    a fresh `npm install` always has full Simplified Chinese coverage;
// 2. system CJK fonts at well-known paths (Debian/Ubuntu fonts-noto-cjk, Fedora, Arch, macOS, Windows);
// 3. the serif faces only come from the system (Noto Serif CJK); without them serif styles use the sans.
// If no CJK font is found at all, one warning is logged and Latin-only fonts are used.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as fontkit from 'fontkit'

export type FontRole = 'sans' | 'sansBold' | 'sansBlack' | 'serif' | 'serifBold'

export interface GlyphInfo {
  /** advance in font units */
  advance: number
  /** outline in font units, y up; '' for blank glyphs */
  path: string
  /** true when the font had no glyph and .notdef is drawn */
  missing: boolean
}

export interface LoadedFont {
  role: FontRole
  source: string
  unitsPerEm: number
  ascent: number
  descent: number
  capHeight: number
  hasCjk: boolean
  glyph(codePoint: number): GlyphInfo
}

export interface FontSet {
  get(role: FontRole): LoadedFont
  /** further fonts tried, in order, for characters the role's font and the base sans lack (Hangul, symbols) */
  fallbacks(): LoadedFont[]
  /** false when no CJK font was found (Chinese would render as boxes) */
  readonly hasCjk: boolean
  readonly sources: Record<FontRole, string>
}

interface Candidate { file: string; postscriptName?: string }

const require = createRequire(import.meta.url)

function bundledNotoSansSc(weightDir: string, file: string): Candidate[] {
  try {
    const dir = dirname(require.resolve('@expo-google-fonts/noto-sans-sc/package.json'))
    return [{ file: join(dir, weightDir, file) }]
  } catch {
    return []
  }
}

const SYSTEM_SANS_REGULAR: Candidate[] = [
  { file: '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc', postscriptName: 'NotoSansCJKsc-Regular' },
  { file: '/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc', postscriptName: 'NotoSansCJKsc-Regular' },
  { file: '/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc', postscriptName: 'NotoSansCJKsc-Regular' },
  { file: '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc' },
  { file: '/System/Library/Fonts/PingFang.ttc', postscriptName: 'PingFangSC-Regular' },
  { file: 'C:\\Windows\\Fonts\\msyh.ttc', postscriptName: 'MicrosoftYaHei' },
]
const SYSTEM_SANS_BOLD: Candidate[] = [
  { file: '/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc', postscriptName: 'NotoSansCJKsc-Bold' },
  { file: '/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc', postscriptName: 'NotoSansCJKsc-Bold' },
  { file: '/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc', postscriptName: 'NotoSansCJKsc-Bold' },
  { file: '/System/Library/Fonts/PingFang.ttc', postscriptName: 'PingFangSC-Semibold' },
  { file: 'C:\\Windows\\Fonts\\msyhbd.ttc', postscriptName: 'MicrosoftYaHei-Bold' },
]
const SYSTEM_SERIF_REGULAR: Candidate[] = [
  { file: '/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc', postscriptName: 'NotoSerifCJKsc-Regular' },
  { file: '/usr/share/fonts/noto-cjk/NotoSerifCJK-Regular.ttc', postscriptName: 'NotoSerifCJKsc-Regular' },
  { file: '/usr/share/fonts/google-noto-cjk/NotoSerifCJK-Regular.ttc', postscriptName: 'NotoSerifCJKsc-Regular' },
]
const SYSTEM_SERIF_BOLD: Candidate[] = [
  { file: '/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc', postscriptName: 'NotoSerifCJKsc-Bold' },
  { file: '/usr/share/fonts/noto-cjk/NotoSerifCJK-Bold.ttc', postscriptName: 'NotoSerifCJKsc-Bold' },
  { file: '/usr/share/fonts/google-noto-cjk/NotoSerifCJK-Bold.ttc', postscriptName: 'NotoSerifCJKsc-Bold' },
]
const LATIN_LAST_RESORT: Candidate[] = [
  { file: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf' },
  { file: '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf' },
  { file: '/Library/Fonts/Arial.ttf' },
  { file: 'C:\\Windows\\Fonts\\arial.ttf' },
]

const CANDIDATES: Record<FontRole, Candidate[]> = {
  sans: [...bundledNotoSansSc('400Regular', 'NotoSansSC_400Regular.ttf'), ...SYSTEM_SANS_REGULAR],
  sansBold: [...bundledNotoSansSc('700Bold', 'NotoSansSC_700Bold.ttf'), ...SYSTEM_SANS_BOLD],
  sansBlack: [...bundledNotoSansSc('900Black', 'NotoSansSC_900Black.ttf'), ...bundledNotoSansSc('700Bold', 'NotoSansSC_700Bold.ttf'), ...SYSTEM_SANS_BOLD],
  serif: SYSTEM_SERIF_REGULAR,
  serifBold: SYSTEM_SERIF_BOLD,
}

/** what a role falls back to when none of its own candidates exist */
const ROLE_FALLBACK: Record<FontRole, FontRole | null> = {
  sans: null,
  sansBold: 'sans',
  sansBlack: 'sansBold',
  serif: 'sans',
  serifBold: 'sansBold',
}

const round1 = (s: string) => s.replace(/-?\d+\.\d+/g, n => String(Math.round(Number(n) * 10) / 10))

function openCandidate(c: Candidate): fontkit.Font | null {
  if (!existsSync(c.file)) return null
  try {
    const opened = fontkit.openSync(c.file, c.postscriptName)
    if ('fonts' in opened) {
      // a collection without a matching name: take its first face
      return (opened as fontkit.FontCollection).fonts[0] ?? null
    }
    return opened as fontkit.Font
  } catch {
    return null
  }
}

function wrapFont(role: FontRole, source: string, font: fontkit.Font): LoadedFont {
  const cache = new Map<number, GlyphInfo>()
  const hasCjk = font.hasGlyphForCodePoint(0x4e2d) && font.hasGlyphForCodePoint(0x6587)
  return {
    role,
    source,
    unitsPerEm: font.unitsPerEm,
    ascent: font.ascent,
    descent: font.descent,
    capHeight: font.capHeight || font.ascent * 0.7,
    hasCjk,
    glyph(codePoint: number): GlyphInfo {
      let g = cache.get(codePoint)
      if (!g) {
        const missing = !font.hasGlyphForCodePoint(codePoint)
        const glyph = font.glyphForCodePoint(codePoint)
        g = { advance: glyph.advanceWidth, path: round1(glyph.path.toSVG()), missing }
        cache.set(codePoint, g)
      }
      return g
    },
  }
}

/** per-character fallbacks: the system CJK faces cover Hangul and more; DejaVu covers many symbols */
const FALLBACKS: Candidate[] = [SYSTEM_SANS_REGULAR[0], SYSTEM_SANS_REGULAR[1], SYSTEM_SANS_REGULAR[2], ...LATIN_LAST_RESORT.slice(0, 1)]

export interface FontSearchOptions {
  /** replaces the built-in candidate lists (tests use this to simulate a machine without CJK fonts) */
  candidates?: Partial<Record<FontRole, Candidate[]>>
  /** replaces the per-character fallback list */
  fallbackCandidates?: Candidate[]
  warn?: (message: string) => void
}

export function loadFontSet(opts: FontSearchOptions = {}): FontSet {
  const candidates = { ...CANDIDATES, ...opts.candidates }
  const warn = opts.warn ?? ((m: string) => console.warn(m))
  const loaded = new Map<FontRole, LoadedFont>()
  const sources = {} as Record<FontRole, string>

  const load = (role: FontRole): LoadedFont => {
    const hit = loaded.get(role)
    if (hit) return hit
    let result: LoadedFont | null = null
    for (const c of candidates[role]) {
      const f = openCandidate(c)
      if (f) { result = wrapFont(role, c.postscriptName ? `${c.file}#${c.postscriptName}` : c.file, f); break }
    }
    if (!result) {
      const fb = ROLE_FALLBACK[role]
      if (fb) result = { ...load(fb), role }
    }
    if (!result) {
      for (const c of LATIN_LAST_RESORT) {
        const f = openCandidate(c)
        if (f) { result = wrapFont(role, c.file, f); break }
      }
    }
    if (!result) throw new Error('no usable font found for the preview renderer (install fonts-noto-cjk or run npm install)')
    loaded.set(role, result)
    sources[role] = result.source
    return result
  }

  const base = load('sans')
  if (!base.hasCjk) {
    warn('[render] no CJK font found: Chinese text in previews and covers will show as boxes. ' +
      'Run `npm install` (ships Noto Sans SC) or install fonts-noto-cjk.')
  }
  let extra: LoadedFont[] | null = null
  const fallbacks = (): LoadedFont[] => {
    if (extra) return extra
    const used = new Set(Object.values(sources))
    extra = []
    for (const c of opts.fallbackCandidates ?? FALLBACKS) {
      const key = c.postscriptName ? `${c.file}#${c.postscriptName}` : c.file
      if (used.has(key)) continue
      const f = openCandidate(c)
      if (f) { extra.push(wrapFont('sans', key, f)); used.add(key) }
    }
    return extra
  }
  return {
    get: load,
    fallbacks,
    get hasCjk() { return base.hasCjk },
    get sources() { return sources },
  }
}

let shared: FontSet | null = null

/** The process-wide font set, opened on first use. */
export function defaultFontSet(): FontSet {
  if (!shared) shared = loadFontSet()
  return shared
}
