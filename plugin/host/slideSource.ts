// The slide keeps its source. Full mode replaces a slide's elements with the image; what was there
// is kept on the slide object itself (`nanoBananaSource`, an extra field PPTist's updateSlide merges
// in and its snapshots, undo/redo and JSON export carry along), so that
//   - a later run on that slide (another template, say) reads the original text, not an empty slide;
//   - "restore the editable slide" puts the original elements back and removes the image.
// A slide without a kept source but with the notes block full mode wrote (a deck re-imported from an
// exported PPTX, or made before this field existed) is read back from that block.
import { htmlToText } from './html'
import { recolorTags, textRuns } from './richTextRuns'
import type { RunChange, Slide, SlideElement, SlideSource, TextElement } from './types'

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

// A background run keeps the text boxes on the slide, where the user goes on editing them. What the
// run changed on a box (colours, a scrim fill, a raised opacity) is kept as before/after, so that
// restore and a later run can take the run's changes off the box as the user has it now — a box
// edited since keeps the edit (its text, its size, its place), not the text it had before the run.

function sameElement(a: SlideElement, b: SlideElement): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/**
 * The colours a run wrote into a box, each mapped back to the one it replaced. A colour that also
 * stood for another (or was already there) is ambiguous and left out: it stays as it is.
 */
function colorsBack(before: TextElement, after: TextElement): Map<string, string> {
  const was = textRuns(before.content, before.defaultColor ?? null)
  const now = textRuns(after.content, after.defaultColor ?? null)
  const origins = new Map<string, Set<string | null>>()
  now.forEach((run, i) => {
    if (typeof run.owner !== 'number' || !run.color) return
    const set = origins.get(run.color) ?? new Set<string | null>()
    set.add(was[i]?.color ?? null)
    origins.set(run.color, set)
  })
  const back = new Map<string, string>()
  for (const [color, from] of origins) {
    const [only] = [...from]
    if (from.size === 1 && only && only !== color) back.set(color, only)
  }
  return back
}

/** `field` of `el` as it was before the run when it is still what the run set. */
function revertField<K extends 'fill' | 'opacity' | 'defaultColor'>(el: TextElement, before: TextElement, after: TextElement, field: K) {
  if (el[field] !== after[field] || after[field] === before[field]) return
  if (before[field] === undefined) delete el[field]
  else el[field] = before[field]
}

/**
 * The box without what the run did to it: exactly as before the run when the user has not touched
 * it since; else the user's box with the run's fill, opacity and colours taken back where they are
 * still the ones the run set (text the user typed in the run's colour gets the original colour).
 */
export function withoutRunChange(current: SlideElement, change: RunChange): SlideElement {
  if (sameElement(current, change.after)) return change.before
  const { before, after } = change
  if (current.type !== 'text' || before.type !== 'text' || after.type !== 'text') return current
  const el: TextElement = { ...current }
  revertField(el, before, after, 'fill')
  revertField(el, before, after, 'opacity')
  revertField(el, before, after, 'defaultColor')
  const back = colorsBack(before, after)
  if (back.size) {
    const tags = new Map<number, string>()
    for (const run of textRuns(el.content, el.defaultColor ?? null)) {
      const original = typeof run.owner === 'number' && run.color ? back.get(run.color) : undefined
      if (original && typeof run.owner === 'number') tags.set(run.owner, original)
    }
    el.content = recolorTags(el.content, tags)
  }
  return el
}

/**
 * The slide's elements as the user would have them without our runs: the kept elements (those a
 * background run left on the slide as the user has them now, minus the run's changes; those the
 * run took away as they were), then the ones the user added since. A kept element the user deleted
 * after a background run stays deleted. Full mode: the kept elements, then the added ones.
 */
export function editableElements(slide: Slide, source: SlideSource): SlideElement[] {
  const current = new Map(slide.elements.map(el => [el.id, el]))
  const changes = new Map((source.changes ?? []).map(change => [change.after.id, change]))
  // a source kept before `removed` existed: every kept element missing from the slide was the run's doing
  const removed = source.removed ? new Set(source.removed) : null
  const kept = new Set(source.elements.map(el => el.id))
  const userVersion = (el: SlideElement) => {
    const change = changes.get(el.id)
    return change ? withoutRunChange(el, change) : el
  }
  const elements: SlideElement[] = []
  for (const original of source.elements) {
    const now = current.get(original.id)
    if (now) elements.push(userVersion(now))
    else if (!removed || removed.has(original.id)) elements.push(original)
  }
  return [...elements, ...slide.elements.filter(el => !kept.has(el.id)).map(userVersion)]
}

/** The source with the changes a background run made (`result`, index for index with `base`). */
export function withRunChanges(source: SlideSource, base: SlideElement[], result: SlideElement[]): SlideSource {
  const changes = result.flatMap((after, i) => after !== base[i] && base[i] ? [{ before: base[i], after }] : [])
  return { ...source, changes }
}

const BLANK_BACKGROUND = { type: 'solid' as const, color: '#ffffff' }

/**
 * The update that makes a slide editable again: its kept elements back (editableElements: edits the
 * user made after a background run stay, elements the user added since stay, on top), its own
 * background instead of the image, its notes without our block, and no kept source any more. Null
 * when the slide has nothing kept. `exactBlock` null: notes left as they are.
 */
export function restoreUpdate(slide: Slide, exactBlock?: string | null): Partial<Slide> | null {
  const source = keptSource(slide)
  if (!source) return null
  const update: Partial<Slide> = {
    elements: editableElements(slide, source),
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
