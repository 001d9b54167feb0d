// The parts of PPTist's slide data the extension reads and writes, typed from PPTist's
// public JSON shape (src/types/slides.ts there). Elements keep any other fields untouched.
// No index signatures: PPTist's own interfaces must stay assignable to these.

export type SlideType = 'cover' | 'contents' | 'transition' | 'content' | 'end'
export type TextType =
  | 'title' | 'subtitle' | 'content' | 'item' | 'itemTitle' | 'notes'
  | 'header' | 'footer' | 'partNumber' | 'itemNumber'

interface BaseElement {
  id: string
  left: number
  top: number
  width: number
  height?: number
  rotate?: number
  groupId?: string
}

export interface TextElement extends BaseElement {
  type: 'text'
  content: string
  textType?: TextType
  defaultFontName?: string
  defaultColor?: string
  /** a fill of its own behind the text */
  fill?: string
  /** 0..1, text and fill together (absent: opaque) */
  opacity?: number
}

export interface ShapeElement extends BaseElement {
  type: 'shape'
  path?: string
  fill?: string
  text?: { content: string; type?: TextType; defaultFontName?: string; defaultColor?: string; align?: string }
}

export interface ImageElement extends BaseElement {
  type: 'image'
  src: string
  /** PPTist's element name (selection panel); a PPTX import puts the picture's name or description here */
  name?: string
  imageType?: 'pageFigure' | 'itemFigure' | 'background'
}

export interface LineElement extends BaseElement {
  type: 'line'
  start: [number, number]
  end: [number, number]
}

export interface TableCell {
  id: string
  colspan: number
  rowspan: number
  text: string
}

export interface TableElement extends BaseElement {
  type: 'table'
  data: TableCell[][]
}

export interface ChartElement extends BaseElement {
  type: 'chart'
  chartType?: string
  data: { labels: string[]; legends: string[]; series: number[][] }
}

/** A formula: PPTist keeps its LaTeX source and draws it as an SVG path. */
export interface LatexElement extends BaseElement {
  type: 'latex'
  latex: string
}

export interface OtherElement extends BaseElement {
  type: 'video' | 'audio'
}

export type SlideElement = TextElement | ShapeElement | ImageElement | LineElement | TableElement | ChartElement | LatexElement | OtherElement

export interface SlideBackground {
  type: 'solid' | 'image' | 'gradient'
  color?: string
  image?: { src: string; size: 'cover' | 'contain' | 'repeat' }
  gradient?: unknown
}

export interface SlideAnimation {
  id: string
  elId: string
  effect?: string
  type?: string
  duration?: number
  trigger?: string
}

/**
 * What a slide looked like before 🍌 replaced it (kept on the slide object itself, so it travels
 * with PPTist's snapshots, undo/redo and JSON export). See host/slideSource.ts.
 */
export interface SlideSource {
  /** the mode of the run that kept it: 'full' emptied the slide, 'background' kept its text */
  mode: 'full' | 'background'
  elements: SlideElement[]
  background?: SlideBackground
  animations?: SlideAnimation[]
  /** the speaker notes before the run */
  remark?: string
  /** background mode: ids of the elements the run took off the slide (decoration) */
  removed?: string[]
  /** background mode: the text boxes the last run changed (colours, scrim, opacity), as before and after */
  changes?: RunChange[]
}

/** One text box as a background run found it and as the run left it. */
export interface RunChange {
  before: SlideElement
  after: SlideElement
}

export interface Slide {
  id: string
  elements: SlideElement[]
  remark?: string
  background?: SlideBackground
  animations?: SlideAnimation[]
  type?: SlideType
  /** the slide's own elements, kept when 🍌 replaced them (an extra field PPTist carries along) */
  nanoBananaSource?: SlideSource
}
