// Shapes shared by the slide renderer and the template styles.
import type { PageType, GenerationMode, TextBoxRect } from '../../plugin/types/api.js'
import type { FontRole, FontSet } from './fonts.js'
import type { Box } from './text.js'
import type { ArtKind } from './art.js'

export type { Box }

/** What a slide shows; the same for covers (sample slides) and previews. */
export interface SlideContent {
  pageType: PageType
  title: string
  content: string
  deckTitle: string
  pageNumber: number
  totalPages: number
  mode: GenerationMode
  language: string
  /** background mode: the slide's own text boxes (fractions of the slide, 0..1), kept free of strong decoration */
  textBoxes?: TextBoxRect[]
}

export interface Palette {
  /** main background */
  bg: string
  title: string
  body: string
  muted: string
  accent: string
  accent2: string
  accent3: string
  /** text on accent-coloured areas */
  onAccent: string
}

/** Where each piece of text goes, in design units (height 768). Missing regions draw nothing. */
export interface Regions {
  title?: Box
  subtitle?: Box
  body?: Box
  list?: Box
  number?: Box
  footer?: Box
  meta?: Box
}

export interface Ctx {
  /** design width; height is always 768 */
  W: number
  H: number
  /** narrow canvases (portrait or square) get stacked layouts */
  narrow: boolean
  kind: PageType
  fonts: FontSet
  /** unique id prefix for gradients/patterns inside one SVG */
  id(name: string): string
  /** content pages: which illustration to draw (the template's own by default) */
  art?: ArtKind
  /** set by the backdrop: where the content illustration was drawn */
  artBox?: Box
}

export interface TextColors {
  title: string
  body: string
  muted: string
  number: string
}

export interface SlideStyle {
  key: string
  palette: Palette
  fonts: { title: FontRole; body: FontRole; number: FontRole }
  /** title alignment per page type */
  align(kind: PageType): 'start' | 'middle'
  /** everything that is not text: background, motifs, illustrations, charts */
  backdrop(c: Ctx): string
  regions(c: Ctx): Regions
  /** text colours per page type (e.g. white on a dark transition page) */
  colors(c: Ctx): TextColors
  /** marker before each body paragraph / contents item, drawn at (x, y centre) */
  bullet(c: Ctx, x: number, cy: number, size: number, index: number): string
  /** width the bullet occupies, as a multiple of the body font size */
  bulletIndent: number
  /** what the template's own content illustration shows (a chart is not used for pages without numbers) */
  ownArt?: 'chart' | 'illustration'
  /** optional flourish under/around the title, drawn after the title is placed (full mode only) */
  titleAccent?(c: Ctx, bounds: Box, align: 'start' | 'middle'): string
}

export interface TextNode {
  /** heading: a sub-heading in the body; item: a bullet, numbered or contents item; cell: a table cell */
  role: 'title' | 'subtitle' | 'body' | 'item' | 'heading' | 'cell' | 'number' | 'footer' | 'meta'
  lines: string[]
  size: number
  bounds: Box
  /** the text was cut and ends with "…" */
  truncated: boolean
  /** index of the body block the text came from (content pages) */
  block?: number
  /** the number drawn in the item's badge (numbered and contents items) */
  marker?: string
  /** table cells: row (0 = header) and column */
  row?: number
  col?: number
}

export interface SlideLayout {
  /** the whole slide as one SVG document */
  svg: string
  /** the text-independent part (background and motifs) and what is drawn over it, as SVG documents */
  backdropSvg: string
  overlaySvg: string
  /** identifies the backdrop (style, page type, size): equal keys draw identical backdrops */
  backdropKey: string
  width: number
  height: number
  /** design-space size (height 768) */
  designWidth: number
  designHeight: number
  texts: TextNode[]
  /** the "PREVIEW · 预览" mark, when drawn (design units) */
  mark: Box | null
  /** some text could not be shown in full (a line ends with "…") */
  shortened: boolean
  /** the content illustration chosen, and where it was drawn (null: none) */
  art: ArtKind
  artBox: Box | null
  /** background mode: rectangles kept calm for the slide's own text (design units) */
  calm: Box[]
}
