// A Deck as the proxy's batch pages, page ranges ("1-3,5") and the "too many slides" offer.
import type { PageInput, PageType } from '../../plugin/types/api.js'
import type { Deck, DeckSlide } from './deck.js'
import { LIMITS } from '../schemas.js'
import { DeckError } from './inspect.js'

/**
 * "1-3,5" → [1, 2, 3, 5] (sorted, unique), each 1…slideCount.
 * Throws DeckError `invalid_page_range` (400) naming what is wrong.
 */
export function parsePageRange(spec: string, slideCount: number): number[] {
  const pages = new Set<number>()
  for (const part of spec.split(/[,，]/).map(p => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:\s*[-–~]\s*(\d+))?$/.exec(part)
    if (!m) throw new DeckError(400, 'invalid_page_range', `"${part}" is not a page or a range like 3-7`)
    const from = Number(m[1])
    const to = m[2] ? Number(m[2]) : from
    if (from < 1 || to < from) throw new DeckError(400, 'invalid_page_range', `"${part}" is not a valid range`)
    if (to > slideCount) throw new DeckError(400, 'invalid_page_range', `The deck has ${slideCount} slides; "${part}" goes past the end`)
    for (let p = from; p <= to; p++) pages.add(p)
  }
  if (!pages.size) throw new DeckError(400, 'invalid_page_range', 'The page range is empty')
  return [...pages].sort((a, b) => a - b)
}

/** Consecutive ranges of at most `max` slides covering 1…slideCount, e.g. ["1-100", "101-130"]. */
export function suggestRanges(slideCount: number, max: number): string[] {
  const ranges: string[] = []
  for (let from = 1; from <= slideCount; from += max) ranges.push(`${from}-${Math.min(slideCount, from + max - 1)}`)
  return ranges
}

/** The 413 for a deck with more slides than one batch takes, with the ranges to send instead. */
export function tooManySlides(slideCount: number, max: number): DeckError {
  const ranges = suggestRanges(slideCount, max)
  return new DeckError(413, 'too_many_slides',
    `The deck has ${slideCount} slides; one batch takes at most ${max}. Send a page range, e.g. pages=${ranges[0]}${ranges[1] ? ` (then pages=${ranges[1]} as a second batch)` : ''}`,
    [{ field: 'pages', slide_count: slideCount, max_pages: max, suggested_ranges: ranges }])
}

const TITLE_CHARS = 300
const PAGE_CHARS = 7500

function pageType(slide: DeckSlide, deck: Deck): PageType {
  if (slide.index === 1) return 'cover'
  if (slide.index === deck.slides.length && !slide.content) return 'end'
  return 'content'
}

/** One batch page per selected slide (text clipped to the proxy's per-page limit); `text_boxes` as fractions. */
export function deckToPages(deck: Deck, slides: number[]): (PageInput & { text_boxes: { x: number; y: number; w: number; h: number }[] })[] {
  return slides.map(index => {
    const s = deck.slides[index - 1]
    const title = s.title.slice(0, TITLE_CHARS)
    const content = s.content.slice(0, PAGE_CHARS - title.length)
    const notes = s.notes.slice(0, Math.max(0, PAGE_CHARS - title.length - content.length))
    const clamp = (v: number) => Math.min(1, Math.max(0, v))
    return {
      slide_id: `slide-${index}`,
      page_type: pageType(s, deck),
      title, content,
      ...(notes ? { notes } : {}),
      text_boxes: s.textBoxes.slice(0, LIMITS.maxTextBoxes).map(b => ({ x: clamp(b.x / deck.width), y: clamp(b.y / deck.height), w: clamp(b.w / deck.width), h: clamp(b.h / deck.height) })),
    }
  })
}
