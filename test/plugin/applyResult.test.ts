import { describe, expect, it } from 'vitest'
import { computeSlideUpdate, isBackgroundImage } from '../../plugin/host/applyResult'
import { chartSlide, contentsSlide, coverSlide, tableSlide } from './fixtures/deck'
import type { Slide } from '../../plugin/host/types'

const SRC = 'http://127.0.0.1:8787/api/v1/images/abc.png'
const HEADER = '— 原页面文字 —'

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
    expect(update).toEqual({ background: { type: 'image', image: { src: SRC, size: 'cover' } } })
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
