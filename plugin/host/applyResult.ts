// What a finished page does to its slide, as a pure function: slide in, props for updateSlide out.
import type { GenerationMode } from '../types/api'
import { extractSlideText, htmlToText } from './extractText'
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

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
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

/** The text of the slide as notes HTML, so full mode loses nothing (appended, never replacing). */
function preservedTextHtml(slide: Slide, header: string): string {
  const { title, content } = extractSlideText(slide)
  const lines = [title, ...content.split('\n')].filter(Boolean)
  if (!lines.length) return ''
  return [header, ...lines].map(line => `<p>${escapeHtml(line)}</p>`).join('')
}

export function computeSlideUpdate(slide: Slide, options: ApplyOptions): Partial<Slide> {
  const background = { type: 'image' as const, image: { src: options.src, size: 'cover' as const } }
  let elements: SlideElement[]
  const update: Partial<Slide> = { background }
  if (options.mode === 'full') {
    elements = []
    const preserved = preservedTextHtml(slide, options.remarkHeader)
    if (preserved) update.remark = (slide.remark || '') + preserved
  }
  else {
    elements = slide.elements.filter(el => keepInBackgroundMode(el, options.viewportWidth, options.viewportRatio))
  }
  if (elements.length !== slide.elements.length) {
    update.elements = elements
    if (slide.animations) {
      const kept = new Set(elements.map(el => el.id))
      update.animations = slide.animations.filter(a => kept.has(a.elId))
    }
  }
  return update
}
