// The read model of a .pptx deck, shared by the reader, the writer, the /decks routes and the CLI.
// Lengths are PowerPoint points (1/72 inch), as pptxtojson reports them; colours are `#rrggbb`.

/** A run of text with one look. */
export interface DeckRun {
  text: string
  bold?: boolean
  italic?: boolean
  underline?: boolean
  /** `#rrggbb` */
  color?: string
  /** points */
  fontSize?: number
  fontFace?: string
}

export interface DeckParagraph {
  align?: 'left' | 'center' | 'right' | 'justify'
  bullet?: boolean
  runs: DeckRun[]
}

/** A text box (or a shape with text) on a slide; groups are flattened to slide coordinates. */
export interface DeckTextBox {
  x: number
  y: number
  w: number
  h: number
  rotate: number
  /** plain text, one line per paragraph */
  text: string
  paragraphs: DeckParagraph[]
  /** largest font size in the box, points */
  fontSize: number
  /** the colour most of the text is drawn in, `#rrggbb` */
  color: string
  valign: 'top' | 'middle' | 'bottom'
  /** the box has an opaque fill of its own (`#rrggbb`), so its text does not sit on the background */
  fill?: string
  /** a title placeholder, or (none on the slide) the text in the largest font */
  isTitle: boolean
}

export interface DeckTable {
  x: number
  y: number
  w: number
  h: number
  /** rows of cell texts */
  rows: string[][]
}

export interface DeckChart {
  x: number
  y: number
  w: number
  h: number
  type: string
  title: string
  /** category labels (x axis) */
  labels: string[]
  series: { name: string; values: number[] }[]
}

export interface DeckPicture {
  x: number
  y: number
  w: number
  h: number
  /** `data:image/…;base64,…` */
  data: string
}

export interface DeckSlide {
  /** 1-based position in the deck */
  index: number
  title: string
  /** body in reading order: text, table rows (`a | b`), chart lines, formulas */
  content: string
  notes: string
  textBoxes: DeckTextBox[]
  tables: DeckTable[]
  charts: DeckChart[]
  /** formulas (LaTeX where the file has it, else their text) */
  formulas: string[]
  pictures: DeckPicture[]
  /** the slide's own background: a colour or a picture (`data:` URL) */
  background: { color?: string; image?: string }
}

export interface Deck {
  /** slide size, points */
  width: number
  height: number
  /** nearest supported ratio, e.g. `16:9`, `4:3` */
  aspectRatio: string
  slides: DeckSlide[]
}
