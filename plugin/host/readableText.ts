// Background mode keeps the slide's text on top of the generated image. Measured, not guessed: each
// text box's runs (host/richTextRuns.ts) are judged by WCAG contrast against the image's pixels the
// box covers, region by region (the caller samples a grid of mean colours), by the WORST region;
// a run with a background of its own (a `code` span, a highlight) against that background. A colour
// that does not reach AA (4.5:1 body, 3:1 large) is replaced by near-black, white or black (the
// template's colour stays when it passes); where no colour reaches it over the whole box (a busy
// image), the box gets a quiet scrim — a semi-transparent fill, the least opaque that passes — and
// is judged again. A rotated box is judged over the image under its whole rotated outline; a box
// with an opacity below 1 (PPTist's element `opacity`, which fades text and fill together over the
// image) by the colours actually drawn, its opacity raised (up to opaque) when no colour or scrim
// reaches AA through it; a faint watermark (opacity ≤ 0.3) is decoration and left alone. Pure functions; the image sampling lives in composables/useImageLuminance.ts.
import { uprightBounds, type Box } from './extractText'
import type { SlideElement, TextElement } from './types'
import {
  AA_LARGE, blend, contrastOf, contrastRatio, parseCssColor, parseCssRgba, relativeLuminance, requiredContrast, toHex,
  worstContrast, type Rgb,
} from './contrast'
import { DEFAULT_FONT_PX, recolorTags, textRuns, type ColorOwner, type TextRun } from './richTextRuns'

export { contrastRatio, parseCssColor, relativeLuminance, type Rgb } from './contrast'

export const DARK_TEXT = '#1f1f1f'
export const LIGHT_TEXT = '#ffffff'
/** pure black reaches 4.5:1 on any solid colour (near-black does not on mid tones) */
const BLACK_TEXT = '#000000'
/** kept for callers that judge by one mean luminance (server/pptx/write.ts) */
export const MIN_CONTRAST = AA_LARGE
// PPTist's text colour when an element names none (its default theme font colour).
const FALLBACK_TEXT_COLOR = '#333333'
/**
 * Decisions aim this much above the AA minimum, so that re-sampling the rendered slide (another
 * scale, another crop of the grid) still measures at or above it.
 */
export const SAFETY = 1.06
/** an element this transparent or more is a watermark: not judged */
const DECORATIVE_OPACITY = 0.3
/** element opacities tried, least first, when text does not read through the element's own */
const RAISED_OPACITIES = [0.6, 0.8, 1]
/** scrim opacities tried, least first; 1 always passes (dark text on white: 16:1) */
const SCRIM_ALPHAS = [0.3, 0.45, 0.6, 0.72, 0.84, 0.92, 1]
const SCRIMS: { tone: Rgb; css: string }[] = [
  { tone: [255, 255, 255], css: '255, 255, 255' },
  { tone: [16, 18, 22], css: '16, 18, 22' },
]

/** The mean colours of a grid of regions of the image under a box; null when unknown. */
export type SampleRegions = (box: Box) => Rgb[] | null

/** How one run reads: its colour, the contrast it reaches (worst region) and the AA minimum it needs. */
export interface RunMeasure {
  text: string
  color: string
  contrast: number
  required: number
}

interface Ground {
  /**
   * the colours text is drawn on, per region, inside the element (image under the box, through the
   * box's fill), as if the element were opaque
   */
  regions: Rgb[]
  /** the image's own colours, region for region (what an element with opacity < 1 shows through) */
  image: Rgb[]
  /** the element's opacity: text, fill and span backgrounds are composited over the image with it */
  alpha: number
}

/** The element's box; for a rotated one the upright box around its rotated outline (the pixels it covers). */
function boxOf(el: SlideElement): Box {
  return uprightBounds({ left: el.left, top: el.top, width: el.width, height: el.height ?? 0 }, el.rotate)
}

/** PPTist's element opacity, 0..1 (absent: opaque). */
function opacityOf(el: TextElement): number {
  const alpha = typeof el.opacity === 'number' && Number.isFinite(el.opacity) ? el.opacity : 1
  return Math.min(1, Math.max(0, alpha))
}

/** The image regions as seen through a fill (CSS, possibly semi-transparent), in an element of opacity `alpha`. */
function throughFill(regions: Rgb[], fill: string | undefined, alpha = 1): Ground {
  const parsed = parseCssRgba(fill)
  if (!parsed || parsed.alpha <= 0) return { regions, image: regions, alpha }
  if (parsed.alpha >= 1) return { regions: alpha >= 1 ? [parsed.rgb] : regions.map(() => parsed.rgb), image: regions, alpha }
  return { regions: regions.map(r => blend(parsed.rgb, parsed.alpha, r)), image: regions, alpha }
}

/** What a run is drawn on: its own background (over the ground) or the ground itself (the same array). */
function backgroundsOf(run: TextRun, ground: Ground): Rgb[] {
  const own = run.background ? parseCssRgba(run.background) : null
  if (!own || own.alpha <= 0) return ground.regions
  if (own.alpha >= 1) return ground.alpha >= 1 ? [own.rgb] : ground.regions.map(() => own.rgb)
  return ground.regions.map(r => blend(own.rgb, own.alpha, r))
}

/**
 * The worst contrast of `text` over `backgrounds` (colours inside the element, region for region
 * with ground.image): for an element with opacity < 1 both are composited over the image first.
 */
function groundContrast(text: Rgb, backgrounds: Rgb[], ground: Ground): number {
  if (ground.alpha >= 1) return worstContrast(text, backgrounds)
  let worst = Infinity
  backgrounds.forEach((under, i) => {
    const image = ground.image[i]
    worst = Math.min(worst, contrastOf(blend(text, ground.alpha, image), blend(under, ground.alpha, image)))
  })
  return worst
}

/** Contrast of every run of the element against the ground (WCAG, worst region; its opacity included). */
export function measureRuns(el: TextElement, ground: Rgb[]): RunMeasure[] {
  const g = throughFill(ground, el.fill, opacityOf(el))
  const defaultColor = el.defaultColor || FALLBACK_TEXT_COLOR
  return textRuns(el.content, defaultColor, DEFAULT_FONT_PX).map(run => {
    const color = run.color ?? defaultColor
    const rgb = parseCssColor(color)
    return {
      text: run.text,
      color,
      contrast: rgb ? groundContrast(rgb, backgroundsOf(run, g), g) : NaN,
      required: requiredContrast(run.sizePx, run.bold),
    }
  })
}

interface Choice {
  colors: Map<ColorOwner, string>
  /** owners given another colour than they had */
  changed: number
  passes: boolean
}

/** For each colour owner, its colour if every run it draws passes, else the first replacement that does. */
function chooseColors(runs: TextRun[], ground: Ground, defaultColor: string): Choice {
  const byOwner = new Map<ColorOwner, TextRun[]>()
  for (const run of runs) byOwner.set(run.owner, [...(byOwner.get(run.owner) ?? []), run])
  const colors = new Map<ColorOwner, string>()
  let changed = 0
  let passes = true
  for (const [owner, owned] of byOwner) {
    const current = owned[0].color ?? defaultColor
    // how far the worst run of this owner gets, as a share of what it needs
    // (a solid background of the run's own is exact: no safety margin needed there)
    const margin = (rgb: Rgb) => Math.min(...owned.map(run => {
      const backgrounds = backgroundsOf(run, ground)
      const aim = requiredContrast(run.sizePx, run.bold) * (backgrounds === ground.regions ? SAFETY : 1)
      return groundContrast(rgb, backgrounds, ground) / aim
    }))
    const currentRgb = parseCssColor(current)
    // a colour we do not understand, or one that already passes: left alone
    if (!currentRgb || margin(currentRgb) >= 1) {
      colors.set(owner, current)
      continue
    }
    let best = current
    let bestMargin = margin(currentRgb)
    for (const candidate of [DARK_TEXT, LIGHT_TEXT, BLACK_TEXT]) {
      const m = margin(parseCssColor(candidate) as Rgb)
      if (m > bestMargin + 1e-9) {
        best = candidate
        bestMargin = m
      }
      if (m >= 1) break
    }
    colors.set(owner, best)
    if (best !== current) changed++
    if (bestMargin < 1) passes = false
  }
  return { colors, changed, passes }
}

/**
 * The element with the chosen colours written into defaultColor and the HTML (null when nothing
 * changes). A default colour no run uses (every word in a coloured span) still follows, judged as
 * body text on the same ground: it is what new text typed into the box will get.
 */
function applyColors(el: TextElement, runs: TextRun[], choice: Choice, defaultColor: string, ground: Ground): TextElement | null {
  if (!choice.colors.has('default')) {
    const unused: TextRun = { text: '', color: defaultColor, owner: 'default', inherited: false, background: null, sizePx: DEFAULT_FONT_PX, bold: false }
    const own = chooseColors([unused], ground, defaultColor).colors.get('default')
    if (own) choice.colors.set('default', own)
  }
  const tags = new Map<number, string>()
  let newDefault: string | undefined
  for (const [owner, color] of choice.colors) {
    const current = owner === 'default' ? defaultColor : runs.find(r => r.owner === owner)?.color ?? defaultColor
    if (color === current) continue
    if (owner === 'default') newDefault = color
    else tags.set(owner, color)
  }
  if (newDefault === undefined && !tags.size) return null
  // spans with a background of their own that inherit their colour keep it explicitly (it read there)
  for (const run of runs) {
    if (run.inherited && typeof run.owner === 'number' && !tags.has(run.owner)) tags.set(run.owner, choice.colors.get(run.owner) ?? run.color ?? defaultColor)
  }
  return { ...el, defaultColor: newDefault ?? el.defaultColor, content: recolorTags(el.content, tags) }
}

/**
 * The element made readable over `regions` (mean colours of the image under its box): colours that
 * miss AA replaced, and where no colour reaches it, a scrim fill (rgba) — the least opaque of the
 * light and dark ones, preferring the one that keeps more of the template's colours. Null when
 * everything already passes. Runs on a solid background of their own never need the scrim.
 */
export function readableElement(el: TextElement, regions: Rgb[]): TextElement | null {
  const defaultColor = el.defaultColor || FALLBACK_TEXT_COLOR
  const runs = textRuns(el.content, defaultColor, DEFAULT_FONT_PX)
  if (!runs.length || !regions.length) return null
  const opacity = opacityOf(el)
  // a faint box is a watermark, decoration (WCAG's "incidental" text): left as designed
  if (opacity <= DECORATIVE_OPACITY) return null
  const faded = readableAt(el, runs, regions, defaultColor, opacity)
  if (faded.passes || opacity >= 1) return faded.element
  // nothing reads through the element's transparency: the least raised opacity that does
  for (const raised of RAISED_OPACITIES) {
    if (raised <= opacity) continue
    const result = readableAt(el, runs, regions, defaultColor, raised)
    if (result.passes || raised >= 1) return { ...(result.element ?? el), opacity: raised }
  }
  return faded.element
}

/** readableElement for an element of opacity `opacity`: the new element (null: unchanged) and whether it reaches AA. */
function readableAt(el: TextElement, runs: TextRun[], regions: Rgb[], defaultColor: string, opacity: number): { element: TextElement | null, passes: boolean } {
  const ground = throughFill(regions, el.fill, opacity)
  const plain = chooseColors(runs, ground, defaultColor)
  if (plain.passes) return { element: applyColors(el, runs, plain, defaultColor, ground), passes: true }
  const fill = parseCssRgba(el.fill)
  // an opaque fill of its own: no scrim can help, the colours are the best there is
  if (fill && fill.alpha >= 1) return { element: applyColors(el, runs, plain, defaultColor, ground), passes: false }
  for (const alpha of SCRIM_ALPHAS) {
    if (fill && fill.alpha >= alpha) continue
    const options = SCRIMS.map(scrim => {
      const scrimmed = { regions: regions.map(r => blend(scrim.tone, alpha, r)), image: regions, alpha: opacity }
      return { scrim, scrimmed, choice: chooseColors(runs, scrimmed, defaultColor) }
    }).filter(o => o.choice.passes).sort((a, b) => a.choice.changed - b.choice.changed)
    if (options.length) {
      const { scrim, scrimmed, choice } = options[0]
      const recolored = applyColors(el, runs, choice, defaultColor, scrimmed) ?? el
      return { element: { ...recolored, fill: `rgba(${scrim.css}, ${alpha})` }, passes: true }
    }
  }
  return { element: applyColors(el, runs, plain, defaultColor, ground), passes: false }
}

/** Text elements judged against the image: those without an opaque fill of their own. */
function onBackground(el: SlideElement): el is TextElement {
  if (el.type !== 'text') return false
  const fill = parseCssRgba(el.fill)
  return !fill || fill.alpha < 1
}

/**
 * Every text element made readable against the image under its box (`sampleRegions` gives the
 * regions' mean colours, or null when unknown). Returns the new element list, or null when
 * nothing needed to change.
 */
export function readableOnBackground(elements: SlideElement[], sampleRegions: SampleRegions): SlideElement[] | null {
  let changed = false
  const result = elements.map(el => {
    if (!onBackground(el)) return el
    const regions = sampleRegions(boxOf(el))
    if (!regions?.length) return el
    const readable = readableElement(el, regions)
    if (!readable) return el
    changed = true
    return readable
  })
  return changed ? result : null
}

/**
 * The colour a run of `sizePx` (bold or not) should be drawn in over `regions` (colours from
 * regionsUnder): `color` when it reaches WCAG AA against the worst region, else whichever of
 * near-black, white and black gets furthest (no scrim: for callers that cannot add one, e.g. the
 * PPTX export). A colour that is not understood is returned as it is.
 */
export function readableColorOver(regions: Rgb[], color: string, sizePx: number, bold: boolean): string {
  const run: TextRun = { text: '', color, owner: 'default', inherited: false, background: null, sizePx, bold }
  return chooseColors([run], { regions, image: regions, alpha: 1 }, color).colors.get('default') ?? color
}

/**
 * The colour text should switch to on a background of one mean luminance (≥ 3:1), or null when
 * `currentColor` already reads or is not understood. For callers without regions (PPTX export).
 */
export function pickReadableTextColor(bgLuminance: number, currentColor: string): string | null {
  const rgb = parseCssColor(currentColor)
  if (!rgb) return null
  if (contrastRatio(bgLuminance, relativeLuminance(rgb)) >= MIN_CONTRAST) return null
  const dark = contrastRatio(bgLuminance, relativeLuminance(parseCssColor(DARK_TEXT) as Rgb))
  const light = contrastRatio(bgLuminance, 1)
  return dark >= light ? DARK_TEXT : LIGHT_TEXT
}

export { toHex }
