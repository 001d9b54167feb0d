// The slide keeps its source. Full mode replaces a slide's elements with the image; what was there
// is kept on the slide object itself (`nanoBananaSource`, an extra field PPTist's updateSlide merges
// in and its snapshots, undo/redo and JSON export carry along), so that
//   - a later run on that slide (another template, say) reads the original text, not an empty slide;
//   - "restore the editable slide" puts the original elements back and removes the image.
// A slide without a kept source but with the notes block full mode wrote (a deck re-imported from an
// exported PPTX, or made before this field existed) is read back from that block.
import { htmlToText } from './html'
import type { Slide, SlideElement, SlideSource } from './types'

// Both locales' headers and any future wording: "— Nano Banana: …" / "— Nano Banana：…".
const BLOCK_HEADER_TEXT = /^[—–-]+\s*Nano Banana\s*[:：]/
const BLOCK_HEADER_HTML = /<p[^>]*>\s*(?:<[^>]+>\s*)*[—–-]+\s*Nano Banana\s*[:：][\s\S]*?<\/p>/

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** The notes block full mode appends: the header, then one paragraph per line of the slide's text. */
export function notesBlockHtml(header: string, lines: string[]): string {
  if (!lines.length) return ''
  return [header, ...lines].map(line => `<p>${escapeHtml(line)}</p>`).join('')
}

function isHeaderLine(line: string, header?: string): boolean {
  return (!!header && line === header.trim()) || BLOCK_HEADER_TEXT.test(line)
}

/**
 * The notes split around our block: `before` (the user's own notes, as text) and the block's lines
 * (title first). `lines` is null when the notes hold no block of ours.
 */
export function readNotesBlock(remark: string | undefined, header?: string): { before: string; lines: string[] | null } {
  const all = htmlToText(remark).split('\n').filter(Boolean)
  const at = all.findIndex(line => isHeaderLine(line, header))
  if (at < 0) return { before: all.join('\n'), lines: null }
  return { before: all.slice(0, at).join('\n'), lines: all.slice(at + 1) }
}

/**
 * The notes HTML without our block: the exact block when it is still as we wrote it (what the user
 * added after it stays), else everything from our header on.
 */
export function removeNotesBlock(remark: string | undefined, exactBlock?: string): string {
  const html = remark ?? ''
  if (exactBlock && html.includes(exactBlock)) return html.replace(exactBlock, '')
  const match = BLOCK_HEADER_HTML.exec(html)
  return match ? html.slice(0, match.index) : html
}

export function keptSource(slide: Slide): SlideSource | null {
  const source = slide.nanoBananaSource
  return source && Array.isArray(source.elements) ? source : null
}

/**
 * The slide as it should be read for a prompt: after a full-mode run its kept elements (plus any the
 * user added since) and its notes without our block. Other slides as they are.
 */
export function slideForReading(slide: Slide): Slide {
  const source = keptSource(slide)
  if (source?.mode === 'full') {
    const ids = new Set(source.elements.map(el => el.id))
    return {
      ...slide,
      elements: [...source.elements, ...slide.elements.filter(el => !ids.has(el.id))],
      remark: removeNotesBlock(slide.remark),
    }
  }
  return slide
}

/** The source to keep when a run replaces the slide: the first one kept wins (it is the original). */
export function sourceToKeep(slide: Slide, mode: 'full' | 'background'): SlideSource {
  const existing = keptSource(slide)
  if (existing) return existing
  const source: SlideSource = { mode, elements: slide.elements }
  if (slide.background) source.background = slide.background
  if (slide.animations) source.animations = slide.animations
  if (slide.remark !== undefined) source.remark = slide.remark
  return source
}

const BLANK_BACKGROUND = { type: 'solid' as const, color: '#ffffff' }

/**
 * The update that makes a slide editable again: its kept elements back (elements the user added
 * since stay, on top), its own background instead of the image, its notes without our block, and
 * no kept source any more. Null when the slide has nothing kept. `exactBlock` null: notes left as they are.
 */
export function restoreUpdate(slide: Slide, exactBlock?: string | null): Partial<Slide> | null {
  const source = keptSource(slide)
  if (!source) return null
  const kept = new Set(source.elements.map(el => el.id))
  const added: SlideElement[] = slide.elements.filter(el => !kept.has(el.id))
  const update: Partial<Slide> = {
    elements: [...source.elements, ...added],
    background: source.background ?? BLANK_BACKGROUND,
    nanoBananaSource: undefined,
  }
  if (source.animations) update.animations = source.animations
  if (source.mode === 'full' && exactBlock !== null) {
    const remark = removeNotesBlock(slide.remark, exactBlock)
    // a slide that had no notes gets none back (not an empty string)
    update.remark = remark === '' && source.remark === undefined ? undefined : remark
  }
  return update
}
