import { describe, expect, it } from 'vitest'
import { extractSlideText, htmlToText, largestFontSize, slideToPageInput } from '../../plugin/host/extractText'
import { chartSlide, contentsSlide, coverSlide, endSlide, tableSlide } from './fixtures/deck'
import type { Slide } from '../../plugin/host/types'

describe('htmlToText', () => {
  it('keeps paragraphs, list items and <br> as lines and decodes entities', () => {
    const html = '<p>第一段&nbsp;文字</p><ul><li><p>要点 &lt;一&gt;</p></li><li><p>A &amp; B</p></li></ul><p>行一<br>行二</p><p>&#x4e2d;&#25991;</p>'
    expect(htmlToText(html)).toBe('第一段 文字\n要点 <一>\nA & B\n行一\n行二\n中文')
  })

  it('drops empty paragraphs and collapses spaces', () => {
    expect(htmlToText('<p>  a   b  </p><p></p><p><br></p>')).toBe('a b')
    expect(htmlToText(undefined)).toBe('')
  })
})

describe('largestFontSize', () => {
  it('reads the largest inline font-size, converting pt', () => {
    expect(largestFontSize('<span style="font-size: 18px">a</span><span style="font-size:30px">b</span>')).toBe(30)
    expect(largestFontSize('<span style="font-size: 30pt">a</span>')).toBe(40)
    expect(largestFontSize('<p>plain</p>')).toBe(16)
  })
})

describe('extractSlideText on PPTist slides', () => {
  it('cover: title by textType, subtitle in the body, footer ignored, notes as text', () => {
    const text = extractSlideText(coverSlide)
    expect(text.title).toBe('有理数的大小比较')
    expect(text.content).toBe('七年级数学 · 第一章')
    expect(text.content).not.toContain('某某中学')
    expect(text.notes).toBe('开场：先问同学们温度怎么比较。')
    expect(text.titleElementIds).toEqual(['title1'])
  })

  it('contents: shapes with text become body lines in reading order; shapes without text are ignored', () => {
    const text = extractSlideText(contentsSlide)
    expect(text.title).toBe('目录')
    expect(text.content.split('\n')).toEqual(['01 数轴比较法', '02 法则比较法', '03 课堂练习'])
  })

  it('table: one line per row, cells joined, entities decoded', () => {
    const text = extractSlideText(tableSlide)
    expect(text.title).toBe('比较法则一览')
    expect(text.content).toBe('情形 | 结论\n正数与负数 | 正数 > 0 > 负数\n两个负数 | 绝对值大的反而小')
    expect(text.notes).toBe('强调：负数绝对值大的反而小。\n举例 −3 < −2。')
  })

  it('chart: no textType title → the largest font wins; legends and labels in the body, in reading order', () => {
    const text = extractSlideText(chartSlide)
    expect(text.title).toBe('北京月平均气温')
    expect(text.content).toBe('气温(℃): 一月, 四月, 七月, 十月\n最低气温出现在一月\n七月最热')
  })

  it('an empty slide gives empty strings', () => {
    const empty: Slide = { id: 'e', elements: [] }
    expect(extractSlideText(empty)).toEqual({ title: '', content: '', notes: '', titleElementIds: [] })
  })
})

describe('slideToPageInput', () => {
  it('maps to the wire page with page_type and notes', () => {
    expect(slideToPageInput(coverSlide)).toEqual({
      slide_id: 'cover01', page_type: 'cover', title: '有理数的大小比较', content: '七年级数学 · 第一章',
      notes: '开场：先问同学们温度怎么比较。',
    })
    const end = slideToPageInput(endSlide)
    expect(end).toEqual({ slide_id: 'end01', page_type: 'end', title: '谢谢 聆听', content: '' })
  })

  it('leaves out an unknown slide type', () => {
    const page = slideToPageInput({ ...endSlide, type: 'weird' as Slide['type'] })
    expect(page.page_type).toBeUndefined()
  })
})
