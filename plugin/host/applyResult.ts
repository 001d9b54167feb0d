// What a finished page does to its slide, as a pure function: slide in, props for updateSlide out.
import type { GenerationMode } from '../types/api'
import { readSlideText, readsFromNotesBlock } from './extractText'
import { htmlToText } from './html'
import { editableElements, notesBlockHtml, removeNotesBlock, restoreUpdate, slideForReading, sourceToKeep } from './slideSource'
import type { Slide, SlideElement } from './types'

export interface ApplyOptions {
  mode: GenerationMode
  /** image source to set as the background (absolute URL or JPEG data URL) */
  src: string
  /** first line of the block appended to the notes in full mode */
  remarkHeader: string
  /** slide width in PPTist units (viewportSize) and height ratio, to spot full-slide images */
  viewportWidth?: number
  viewportRatio?: number
}

function hasText(el: SlideElement): boolean {
  if (el.type === 'text') return !!htmlToText(el.content)
  if (el.type === 'shape') return !!el.text && !!htmlToText(el.text.content)
  return false
}

/** An image that works as a background: tagged so, or covering most of the slide. */
export function isBackgroundImage(el: SlideElement, viewportWidth = 1000, viewportRatio = 0.5625): boolean {
  if (el.type !== 'image') return false
  if (el.imageType === 'background') return true
  const slideArea = viewportWidth * viewportWidth * viewportRatio
  const area = el.width * (el.height ?? 0)
  return slideArea > 0 && area >= slideArea * 0.8
}

/** Elements kept in background mode: text, shapes with text, content (tables, charts, figures, media). */
function keepInBackgroundMode(el: SlideElement, viewportWidth?: number, viewportRatio?: number): boolean {
  if (el.type === 'text') return true
  if (el.type === 'shape') return hasText(el)
  if (el.type === 'line') return false
  if (el.type === 'image') return !isBackgroundImage(el, viewportWidth, viewportRatio)
  return true
}

/** The slide's text as our notes block (title first), so full mode loses nothing. */
function preservedTextHtml(slide: Slide, header: string): string {
  const { title, content } = readSlideText(slide)
  return notesBlockHtml(header, [title, ...content.split('\n')].filter(Boolean))
}

/**
 * What a finished page does to its slide (props for PPTist's updateSlide). The slide's elements as
 * they were are kept in `nanoBananaSource` (host/slideSource.ts); a slide that already has a kept
 * source is read from it, so a second run (another template) uses the original text.
 */
export function computeSlideUpdate(slide: Slide, options: ApplyOptions): Partial<Slide> {
  const background = { type: 'image' as const, image: { src: options.src, size: 'cover' as const } }
  const reading = slideForReading(slide)
  let source = sourceToKeep(slide, options.mode)
  // after a background run: the boxes as the user has them now, without that run's colours (a later
  // run judges the deck's own colours, and keeps the user's edits), what it took away as it was
  if (source.mode === 'background') source = { ...source, elements: editableElements(slide, source), removed: undefined, changes: undefined }
  const added = slide.elements.filter(el => !source.elements.some(kept => kept.id === el.id))
  let elements: SlideElement[]
  const update: Partial<Slide> = { background }
  if (options.mode === 'full') {
    elements = []
    // elements the user added after an earlier full run are kept too
    if (source.mode === 'full' && added.length) source = { ...source, elements: [...source.elements, ...added] }
    source = { ...source, mode: 'full' }
    // text read back from the notes block (a re-imported deck) is in the notes already: a PPTX
    // import writes the block in its own shape (one paragraph, CRLF lines), so it is not rewritten
    if (!readsFromNotesBlock(slide)) {
      const preserved = preservedTextHtml(slide, options.remarkHeader)
      const notes = removeNotesBlock(slide.remark, preserved)
      const remark = notes + preserved
      if (remark !== (slide.remark ?? '')) update.remark = remark
    }
  }
  else {
    const base = slide.nanoBananaSource?.mode === 'background' ? source.elements : reading.elements
    elements = base.filter(el => keepInBackgroundMode(el, options.viewportWidth, options.viewportRatio))
    if (source.mode === 'full') {
      // back from a full-mode run: the text boxes return, the notes lose the copy of their text
      source = { ...source, elements: [...source.elements, ...added], mode: 'background' }
      const notes = removeNotesBlock(slide.remark, preservedTextHtml(slide, options.remarkHeader))
      if (notes !== (slide.remark ?? '')) update.remark = notes
    }
    // what this run takes away; its colour changes are added by the caller (withRunChanges)
    source = { ...source, removed: base.filter(el => !elements.includes(el)).map(el => el.id) }
  }
  update.nanoBananaSource = source
  const current = slide.elements
  if (elements.length !== current.length || elements.some((el, i) => el !== current[i])) {
    update.elements = elements
    const animations = source.animations ?? slide.animations
    if (animations) {
      const kept = new Set(elements.map(el => el.id))
      update.animations = animations.filter(a => kept.has(a.elId))
    }
  }
  return update
}

/** The update that makes a slide editable again (host/slideSource.ts restoreUpdate); null when nothing is kept. */
export function restoreSlideUpdate(slide: Slide, remarkHeader: string): Partial<Slide> | null {
  const source = slide.nanoBananaSource
  if (!source) return null
  const original: Slide = { ...slide, elements: source.elements, remark: source.remark, nanoBananaSource: undefined }
  // a slide whose text was only in the notes block (re-imported) gets it back there: notes untouched
  if (source.mode === 'full' && readsFromNotesBlock(original)) return restoreUpdate(slide, null)
  const exact = source.mode === 'full' ? preservedTextHtml({ ...slide, elements: source.elements, nanoBananaSource: undefined }, remarkHeader) : undefined
  return restoreUpdate(slide, exact)
}
