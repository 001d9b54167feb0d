// The slide data shapes of PPTist (src/types/slides.ts there), reproduced so that a deck exported
// from PPTist loads here unchanged and what the extension writes would load back into PPTist.
// Only what the demo renders is typed in detail; unknown extra fields pass through untouched.

export type TextType =
  | 'title' | 'subtitle' | 'content' | 'item' | 'itemTitle' | 'notes'
  | 'header' | 'footer' | 'partNumber' | 'itemNumber'

export type TextAlignVertical = 'top' | 'middle' | 'bottom'
export type LineStyleType = 'solid' | 'dashed' | 'dotted'

export interface GradientColor {
  pos: number
  color: string
}

export interface Gradient {
  type: 'linear' | 'radial'
  colors: GradientColor[]
  rotate: number
}

export interface ElementShadow {
  h: number
  v: number
  blur: number
  color: string
}

export interface ElementOutline {
  style?: LineStyleType
  width?: number
  color?: string
}

interface BaseElement {
  id: string
  left: number
  top: number
  width: number
  height: number
  rotate: number
  lock?: boolean
  groupId?: string
  name?: string
  link?: { type: 'web' | 'slide', target: string }
}

export interface TextElement extends BaseElement {
  type: 'text'
  content: string
  defaultFontName: string
  defaultColor: string
  outline?: ElementOutline
  fill?: string
  lineHeight?: number
  wordSpace?: number
  opacity?: number
  shadow?: ElementShadow
  paragraphSpace?: number
  vertical?: boolean
  textType?: TextType
  inset?: [number, number, number, number]
  fixedHeight?: boolean
  vAlign?: TextAlignVertical
}

export interface ImageElement extends BaseElement {
  type: 'image'
  fixedRatio: boolean
  src: string
  outline?: ElementOutline
  flipH?: boolean
  flipV?: boolean
  radius?: number
  imageType?: 'pageFigure' | 'itemFigure' | 'background'
}

export interface ShapeText {
  content: string
  defaultFontName: string
  defaultColor: string
  align: TextAlignVertical
  lineHeight?: number
  wordSpace?: number
  paragraphSpace?: number
  inset?: [number, number, number, number]
  type?: TextType
}

export interface ShapeElement extends BaseElement {
  type: 'shape'
  viewBox: [number, number]
  path: string
  fixedRatio: boolean
  fill: string
  gradient?: Gradient
  outline?: ElementOutline
  opacity?: number
  flipH?: boolean
  flipV?: boolean
  shadow?: ElementShadow
  special?: boolean
  text?: ShapeText
}

export type LinePoint = '' | 'arrow' | 'dot'

export interface LineElement extends Omit<BaseElement, 'height' | 'rotate'> {
  type: 'line'
  start: [number, number]
  end: [number, number]
  style: LineStyleType
  color: string
  points: [LinePoint, LinePoint]
  broken?: [number, number]
  curve?: [number, number]
  cubic?: [[number, number], [number, number]]
}

export interface TableCellStyle {
  bold?: boolean
  em?: boolean
  underline?: boolean
  color?: string
  backcolor?: string
  fontsize?: string
  fontname?: string
  align?: 'left' | 'center' | 'right' | 'justify'
}

export interface TableCell {
  id: string
  colspan: number
  rowspan: number
  text: string
  style?: TableCellStyle
}

export interface TableTheme {
  color: string
  rowHeader: boolean
  rowFooter: boolean
  colHeader: boolean
  colFooter: boolean
}

export interface TableElement extends BaseElement {
  type: 'table'
  outline: ElementOutline
  theme?: TableTheme
  colWidths: number[]
  cellMinHeight: number
  data: TableCell[][]
}

export interface ChartElement extends BaseElement {
  type: 'chart'
  chartType: string
  data: { labels: string[], legends: string[], series: number[][] }
  themeColors: string[]
  fill?: string
}

// Element kinds the demo does not draw (it shows a labelled placeholder box instead).
export interface OtherElement extends BaseElement {
  type: 'latex' | 'video' | 'audio'
}

export type PPTElement = TextElement | ImageElement | ShapeElement | LineElement | TableElement | ChartElement | OtherElement

export interface SlideBackground {
  type: 'solid' | 'image' | 'gradient'
  color?: string
  image?: { src: string, size: 'cover' | 'contain' | 'repeat' }
  gradient?: Gradient
}

export type SlideType = 'cover' | 'contents' | 'transition' | 'content' | 'end'

export interface Slide {
  id: string
  elements: PPTElement[]
  remark?: string
  background?: SlideBackground
  type?: SlideType
  turningMode?: string
  notes?: unknown[]
  animations?: unknown[]
  sectionTag?: { id: string, title?: string }
}

export interface SlideTheme {
  backgroundColor: string
  themeColors: string[]
  fontColor: string
  fontName: string
  outline: ElementOutline
  shadow: ElementShadow
}

// What PPTist's "export JSON" writes (useExport.ts exportJSON) and its importJSON reads.
export interface PPTistDeckFile {
  title?: string
  width?: number
  height?: number
  theme?: Partial<SlideTheme>
  slides: Slide[]
}
