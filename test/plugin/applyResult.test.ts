import { describe, expect, it } from 'vitest'
import { computeSlideUpdate, isBackgroundImage, restoreSlideUpdate } from '../../plugin/host/applyResult'
import { readSlideText, slideToPageInput } from '../../plugin/host/extractText'
import { htmlToText } from '../../plugin/host/html'
import { chartSlide, contentsSlide, coverSlide, tableSlide } from './fixtures/deck'
import type { Slide, SlideElement, TextElement } from '../../plugin/host/types'
import { readableOnBackground, type Rgb } from '../../plugin/host/readableText'
import { withRunChanges } from '../../plugin/host/slideSource'

const SRC = 'http://127.0.0.1:8787/api/v1/images/abc.png'
const HEADER = '— Nano Banana：原页面文字（整页生成前）—'

function apply(slide: Slide, mode: 'full' | 'background'): Slide {
  return { ...slide, ...computeSlideUpdate(slide, { mode, src: SRC, remarkHeader: HEADER }) }
}

describe('computeSlideUpdate — full mode', () => {
  it('sets the image background, removes all elements and appends their text to the notes', () => {
    const result = apply(coverSlide, 'full')
    expect(result.background).toEqual({ type: 'image', image: { src: SRC, size: 'cover' } })
    expect(result.elements).toEqual([])
    expect(result.animations).toEqual([])
    // existing notes first, untouched; then the slide's text
    expect(result.remark).toBe(
      '<p>开场：先问同学们<strong>温度</strong>怎么比较。</p>'
      + `<p>${HEADER}</p><p>有理数的大小比较</p><p>七年级数学 · 第一章</p>`,
    )
  })

  it('escapes text going into the notes HTML (tables included)', () => {
    const result = apply(tableSlide, 'full')
    expect(result.remark).toContain('<p>正数与负数 | 正数 &gt; 0 &gt; 负数</p>')
    expect(result.remark!.startsWith(tableSlide.remark!)).toBe(true)
  })

  it('applied twice (a retried page) does not append the text twice', () => {
    const once = apply(coverSlide, 'full')
    const twice = { ...once, ...computeSlideUpdate(once, { mode: 'full', src: SRC + '?2', remarkHeader: HEADER }) }
    expect(twice.remark).toBe(once.remark)
    expect(twice.background!.image!.src).toBe(SRC + '?2')
  })
})

describe('computeSlideUpdate — background mode', () => {
  it('keeps text elements, drops the background image, decoration shapes and lines', () => {
    const result = apply(coverSlide, 'background')
    expect(result.elements.map(el => el.id)).toEqual(['title1', 'sub1', 'foot1'])
    expect(result.animations!.map(a => a.id)).toEqual(['anim1'])
    expect(result.remark).toBe(coverSlide.remark)
  })

  it('keeps shapes with text, drops a bare decorative dot', () => {
    const result = apply(contentsSlide, 'background')
    expect(result.elements.map(el => el.id)).toEqual(['ct-title', 'ct-item0', 'ct-item1', 'ct-item2'])
  })

  it('keeps content: tables, charts and small figures', () => {
    expect(apply(tableSlide, 'background').elements).toHaveLength(2)
    expect(apply(chartSlide, 'background').elements.map(el => el.id)).toEqual(['ch-note', 'ch-head', 'ch', 'ch-pic'])
  })

  it('does not touch elements when nothing is removed', () => {
    const update = computeSlideUpdate(tableSlide, { mode: 'background', src: SRC, remarkHeader: HEADER })
    expect(update.elements).toBeUndefined()
    expect(update.background).toEqual({ type: 'image', image: { src: SRC, size: 'cover' } })
  })
})

// A slide as PPTist would hold it after the update: a JSON round trip, as snapshots and export do.
function roundTrip(slide: Slide): Slide {
  return JSON.parse(JSON.stringify(slide)) as Slide
}

describe('the slide keeps its source', () => {
  it('full mode keeps the original elements, background and notes on the slide (and through JSON)', () => {
    const after = roundTrip(apply(coverSlide, 'full'))
    expect(after.elements).toEqual([])
    expect(after.nanoBananaSource!.mode).toBe('full')
    expect(after.nanoBananaSource!.elements).toEqual(coverSlide.elements)
    expect(after.nanoBananaSource!.background).toEqual(coverSlide.background)
    expect(after.nanoBananaSource!.remark).toBe(coverSlide.remark)
  })

  it('a second run reads the original text, not the empty slide, and does not repeat the notes block', () => {
    const first = roundTrip(apply(coverSlide, 'full'))
    expect(slideToPageInput(first)).toEqual(slideToPageInput(coverSlide))
    const second = roundTrip({ ...first, ...computeSlideUpdate(first, { mode: 'full', src: SRC + '?2', remarkHeader: HEADER }) })
    expect(second.remark).toBe(first.remark)
    expect(second.nanoBananaSource!.elements).toEqual(coverSlide.elements)
    expect(slideToPageInput(second)).toEqual(slideToPageInput(coverSlide))
  })

  it('a background run after a full run brings the text boxes back and takes the copy out of the notes', () => {
    const first = roundTrip(apply(coverSlide, 'full'))
    const second = roundTrip(apply(first, 'background'))
    expect(second.elements.map(el => el.id)).toEqual(['title1', 'sub1', 'foot1'])
    expect(second.remark).toBe(coverSlide.remark)
    expect(slideToPageInput(second)).toEqual(slideToPageInput(coverSlide))
  })

  it('a slide emptied by a run with no kept source (re-imported PPTX) is read back from the notes block', () => {
    const first = roundTrip(apply(coverSlide, 'full'))
    const imported: Slide = { id: first.id, type: first.type, elements: [], remark: first.remark }
    const page = slideToPageInput(imported)
    expect(page.title).toBe('有理数的大小比较')
    expect(page.content).toBe('七年级数学 · 第一章')
    expect(readSlideText(imported).notes).toBe('开场：先问同学们温度怎么比较。')
    // through PPTist 2.0.0's own PPTX export (notes as plain text, one line per paragraph) and its
    // import, as seen in a real PPTist: one paragraph, lines joined by CRLF, entities escaped
    const viaPptx: Slide = { id: first.id, elements: [], remark: `<p style="text-align:left;">${htmlToText(first.remark).split('\n').join('\r\n')}</p>` }
    expect(readSlideText(viaPptx)).toMatchObject({ title: '有理数的大小比较', content: '七年级数学 · 第一章', notes: '开场：先问同学们温度怎么比较。' })
    // a run on it writes the block once, not a second copy after the imported one; a third run too
    const again = roundTrip(apply(viaPptx, 'full'))
    expect(htmlToText(again.remark).split('\n').filter(line => line.includes('Nano Banana'))).toHaveLength(1)
    expect(readSlideText(again)).toMatchObject({ title: '有理数的大小比较', content: '七年级数学 · 第一章' })
    expect(apply(again, 'full').remark).toBe(viaPptx.remark)
    // restore gives the slide back as imported: its text stays in the notes, the only copy of it
    const restored = { ...again, ...restoreSlideUpdate(again, HEADER) }
    expect(restored.remark).toBe(viaPptx.remark)
    expect(readSlideText(restored)).toMatchObject({ title: '有理数的大小比较', content: '七年级数学 · 第一章' })
    // the same block in English, written by an English editor
    const en: Slide = { id: 'x', elements: [], remark: '<p>Intro</p><p>— Nano Banana: original slide text (before full-slide generation) —</p><p>Title</p><p>Line 1</p><p>Line 2</p>' }
    expect(readSlideText(en)).toMatchObject({ title: 'Title', content: 'Line 1\nLine 2', notes: 'Intro' })
  })

  it('restore puts the original elements, background and notes back, keeps what the user added since', () => {
    const first = roundTrip(apply(coverSlide, 'full'))
    const logo = { id: 'logo', type: 'image' as const, src: 'logo.png', left: 900, top: 10, width: 80, height: 40 }
    const edited = { ...first, elements: [logo], remark: first.remark + '<p>my later note</p>' }
    const restored = roundTrip({ ...edited, ...restoreSlideUpdate(edited, HEADER)! })
    expect(restored.elements).toEqual([...coverSlide.elements, logo])
    expect(restored.background).toEqual(coverSlide.background)
    expect(restored.animations).toEqual(coverSlide.animations)
    expect(restored.remark).toBe(coverSlide.remark + '<p>my later note</p>')
    expect(restored.nanoBananaSource).toBeUndefined()
    expect(restoreSlideUpdate(restored, HEADER)).toBeNull()
  })

  it('restore gives a slide that had no notes none back, not an empty string', () => {
    const noNotes: Slide = { ...coverSlide }
    delete noNotes.remark
    const first = roundTrip(apply(noNotes, 'full'))
    expect(first.remark).toContain('Nano Banana')
    const restored = roundTrip({ ...first, ...restoreSlideUpdate(first, HEADER)! })
    expect(restored).toEqual(roundTrip(noNotes))
  })

  it('restore after a background run brings back the decoration and the old background', () => {
    const after = roundTrip(apply(coverSlide, 'background'))
    const restored = roundTrip({ ...after, ...restoreSlideUpdate(after, HEADER)! })
    expect(restored.elements).toEqual(coverSlide.elements)
    expect(restored.background).toEqual(coverSlide.background)
    expect(restored.remark).toBe(coverSlide.remark)
  })
})

describe('isBackgroundImage', () => {
  it('recognises tagged images and untagged images covering the slide', () => {
    const untaggedFull = { id: 'x', type: 'image' as const, src: 'a.png', left: 0, top: 0, width: 1000, height: 560 }
    const small = { ...untaggedFull, width: 200, height: 100 }
    expect(isBackgroundImage(untaggedFull)).toBe(true)
    expect(isBackgroundImage(small)).toBe(false)
    expect(isBackgroundImage({ ...small, imageType: 'background' })).toBe(true)
  })
})

// A background run as useBatchGeneration does it: the update, then the text made readable over the
// image (here one flat colour), the colour changes kept in the source.
function backgroundRun(slide: Slide, image: Rgb): Slide {
  const update = computeSlideUpdate(slide, { mode: 'background', src: SRC, remarkHeader: HEADER })
  const base = update.elements ?? slide.elements
  const readable = readableOnBackground(base, () => [image])
  if (readable) {
    update.elements = readable
    update.nanoBananaSource = withRunChanges(update.nanoBananaSource!, base, readable)
  }
  return roundTrip({ ...slide, ...update })
}

const DARK: Rgb = [40, 90, 150]
const WHITE: Rgb = [250, 250, 250]
const BLUE = '#2f6fb0'
const blueTitle: Slide = {
  ...coverSlide,
  elements: coverSlide.elements.map(el => el.id === 'title1'
    ? { ...el, content: `<p style="text-align: center;"><strong><span style="color: ${BLUE}; font-size: 48px;">有理数的大小比较</span></strong></p>` } as SlideElement
    : el),
}
const text = (slide: Slide, id: string) => slide.elements.find(el => el.id === id) as TextElement
/** what PPTist's editor does when the user types: the box's HTML changes, its colours stay */
function typeInto(slide: Slide, id: string, from: string, to: string): Slide {
  return roundTrip({ ...slide, elements: slide.elements.map(el => el.id === id ? { ...el, content: (el as TextElement).content.replace(from, to) } as SlideElement : el) })
}

describe('background mode — edits after the run', () => {
  it('the run recolours the blue title to white on a dark image (the case below depends on it)', () => {
    const after = backgroundRun(blueTitle, DARK)
    expect(text(after, 'title1').content).toContain('color: #ffffff')
    expect(after.nanoBananaSource!.changes!.map(c => c.after.id)).toContain('title1')
  })

  it('restore without edits gives the slide back exactly (recoloured boxes included)', () => {
    const after = backgroundRun(blueTitle, DARK)
    const restored = roundTrip({ ...after, ...restoreSlideUpdate(after, HEADER)! })
    expect(restored.elements).toEqual(roundTrip(blueTitle).elements)
    expect(restored.background).toEqual(blueTitle.background)
  })

  it('restore keeps text the user edited after the run, with the deck\'s own colours back', () => {
    const after = backgroundRun(blueTitle, DARK)
    const edited = typeInto(after, 'title1', '有理数的大小比较', '有理数的大小比较（修订版）')
    const restored = roundTrip({ ...edited, ...restoreSlideUpdate(edited, HEADER)! })
    const title = text(restored, 'title1')
    expect(htmlToText(title.content)).toBe('有理数的大小比较（修订版）')
    expect(title.content).toContain(`color: ${BLUE}`)
    expect(title.content).not.toContain('#ffffff')
    expect(title.defaultColor).toBe('#333')
    // what the run did is undone: decoration and background back, other boxes as they were
    expect(restored.elements.map(el => el.id)).toEqual(coverSlide.elements.map(el => el.id))
    expect(text(restored, 'sub1')).toEqual(text(roundTrip(blueTitle), 'sub1'))
    expect(restored.background).toEqual(blueTitle.background)
    expect(restored.nanoBananaSource).toBeUndefined()
  })

  it('restore leaves a box the user deleted after the run deleted, and a box the user moved where it is', () => {
    const after = backgroundRun(blueTitle, DARK)
    const moved = roundTrip({ ...after, elements: after.elements.filter(el => el.id !== 'foot1').map(el => el.id === 'sub1' ? { ...el, top: 400 } : el) })
    const restored = roundTrip({ ...moved, ...restoreSlideUpdate(moved, HEADER)! })
    expect(restored.elements.map(el => el.id)).toEqual(['bgimg', 'deco1', 'line1', 'title1', 'sub1'])
    expect(text(restored, 'sub1').top).toBe(400)
    expect(text(restored, 'sub1').defaultColor).toBe('#666')
  })

  it('a second background run judges the deck\'s own colours, not the first run\'s, and keeps the edit', () => {
    const first = backgroundRun(blueTitle, DARK)
    const edited = typeInto(first, 'title1', '有理数的大小比较', '有理数的大小比较（修订版）')
    const second = backgroundRun(edited, WHITE)
    const title = text(second, 'title1')
    // blue reads on white: it comes back instead of drifting white → near-black
    expect(title.content).toContain(`color: ${BLUE}`)
    expect(htmlToText(title.content)).toBe('有理数的大小比较（修订版）')
    // and restore after both runs still keeps the edit, in the deck's colours
    const restored = roundTrip({ ...second, ...restoreSlideUpdate(second, HEADER)! })
    expect(text(restored, 'title1').content).toContain(`color: ${BLUE}`)
    expect(htmlToText(text(restored, 'title1').content)).toBe('有理数的大小比较（修订版）')
    expect(restored.elements.map(el => el.id)).toEqual(coverSlide.elements.map(el => el.id))
  })

  it('full mode after an edited background run keeps the edit for restore', () => {
    const first = backgroundRun(blueTitle, DARK)
    const edited = typeInto(first, 'title1', '有理数的大小比较', '新标题')
    const full = apply(edited, 'full')
    expect(full.elements).toEqual([])
    const restored = roundTrip({ ...full, ...restoreSlideUpdate(roundTrip(full), HEADER)! })
    expect(htmlToText(text(restored, 'title1').content)).toBe('新标题')
    expect(text(restored, 'title1').content).toContain(`color: ${BLUE}`)
    expect(restored.remark).toBe(coverSlide.remark)
  })
})
