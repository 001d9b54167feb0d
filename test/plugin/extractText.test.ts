import { describe, expect, it } from 'vitest'
import { extractSlideText, htmlToText, largestFontSize, readingOrder, slideToPageInput } from '../../plugin/host/extractText'
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

  it('chart: no textType title → the largest font wins; each series with its labels and values in the body, in reading order', () => {
    const text = extractSlideText(chartSlide)
    expect(text.title).toBe('北京月平均气温')
    expect(text.content).toBe('气温(℃): 一月 -3, 四月 14, 七月 27, 十月 13\n最低气温出现在一月\n七月最热')
  })

  it('formulas (LaTeX source), multi-series charts and named pictures reach the text; default picture names do not', () => {
    const slide: Slide = {
      id: 'f', elements: [
        { id: 't', type: 'text', textType: 'title', left: 50, top: 20, width: 900, height: 60, content: '<p>勾股定理</p>' },
        { id: 'f1', type: 'latex', latex: 'a^2 + b^2 = c^2', left: 50, top: 100, width: 400, height: 80 } as Slide['elements'][number],
        {
          id: 'c', type: 'chart', chartType: 'bar', left: 50, top: 200, width: 400, height: 200,
          data: { labels: ['A', 'B'], legends: ['2023', '2024'], series: [[1.5, 2], [3, 4]] },
        } as Slide['elements'][number],
        { id: 'p1', type: 'image', name: '直角三角形示意图', src: 'x.png', left: 500, top: 100, width: 300, height: 200 },
        { id: 'p2', type: 'image', name: 'Picture 3', src: 'y.png', left: 500, top: 320, width: 300, height: 100 },
      ],
    }
    expect(extractSlideText(slide).content.split('\n')).toEqual(['$a^2 + b^2 = c^2$', '2023: A 1.5, B 2', '2024: A 3, B 4', '[直角三角形示意图]'])
  })

  it('an empty slide gives empty strings', () => {
    const empty: Slide = { id: 'e', elements: [] }
    expect(extractSlideText(empty)).toEqual({ title: '', content: '', notes: '', titleElementIds: [] })
  })
})

describe('slideToPageInput', () => {
  it('maps to the wire page with page_type; the notes, which no prompt uses, are not sent', () => {
    expect(slideToPageInput(coverSlide)).toEqual({
      slide_id: 'cover01', page_type: 'cover', title: '有理数的大小比较', content: '七年级数学 · 第一章',
    })
    const end = slideToPageInput(endSlide)
    expect(end).toEqual({ slide_id: 'end01', page_type: 'end', title: '谢谢 聆听', content: '' })
  })

  it('trims to the proxy\'s per-page limit (title first, body the rest), however long the notes are', () => {
    const long: Slide = {
      id: 'long', remark: `<p>${'备注'.repeat(3000)}</p>`, elements: [
        { id: 't', type: 'text', textType: 'title', left: 0, top: 0, width: 900, height: 60, content: `<p>${'标题'.repeat(50)}</p>` },
        { id: 'b', type: 'text', left: 0, top: 100, width: 900, height: 400, content: `<p>${'正文'.repeat(5000)}</p>` },
      ],
    }
    const page = slideToPageInput(long, { limits: { maxPageTextChars: 2000, maxTextBoxes: 10 } })
    expect(page.notes).toBeUndefined()
    expect(page.title).toBe('标题'.repeat(50))
    expect(page.title.length + page.content.length).toBeLessThanOrEqual(2000)
    expect(page.content.endsWith('…')).toBe(true)
    expect(slideToPageInput(long).content.length + 100).toBeLessThanOrEqual(8000)
  })

  it('with the slide size, sends the text boxes (text, shapes with text, tables, charts) as fractions of the slide', () => {
    const page = slideToPageInput(chartSlide, { viewport: { width: 1000, height: 562.5 } })
    expect(page.text_boxes).toEqual([
      { x: 0.06, y: 0.818, w: 0.88, h: 0.071 },
      { x: 0.06, y: 0.053, w: 0.88, h: 0.107 },
      { x: 0.1, y: 0.196, w: 0.8, h: 0.587 },
    ])
    expect(slideToPageInput(chartSlide).text_boxes).toBeUndefined()
  })

  it('a rotated text box is sent as the upright rectangle around it (the area it covers)', () => {
    const slide: Slide = { id: 'r', elements: [textEl('v', { left: 400, top: 100, width: 200, height: 50 }, para('竖排标题')), textEl('o', { left: 100, top: 300, width: 200, height: 50 }, para('正文'))] }
    ;(slide.elements[0] as { rotate: number }).rotate = 90
    const page = slideToPageInput(slide, { viewport: { width: 1000, height: 500 } })
    // 90°: 50 wide and 200 tall about the same centre (500, 125)
    expect(page.text_boxes).toEqual([{ x: 0.475, y: 0.05, w: 0.05, h: 0.4 }, { x: 0.1, y: 0.6, w: 0.2, h: 0.1 }])
  })

  it('leaves out an unknown slide type', () => {
    const page = slideToPageInput({ ...endSlide, type: 'weird' as Slide['type'] })
    expect(page.page_type).toBeUndefined()
  })
})

// Shaped like PPTist's own templates (and the demo deck): rounded-rect shapes carrying itemNumber
// text beside item text boxes, a partNumber beside a transition title, two cards side by side.
const para = (text: string, size = 18, color = '#333333') =>
  `<p><span style="font-size: ${size}px; color: ${color};">${text}</span></p>`
type El = Slide['elements'][number]
const textEl = (id: string, box: { left: number; top: number; width: number; height: number }, content: string, textType?: string): El =>
  ({ id, type: 'text', rotate: 0, ...box, content, defaultFontName: '', defaultColor: '#333333', ...(textType ? { textType } : {}) }) as El
const numberShape = (id: string, box: { left: number; top: number; width: number; height: number }, label: string): El =>
  ({
    id, type: 'shape', rotate: 0, ...box, viewBox: [200, 200], path: 'M 0 0 L 200 0 L 200 200 L 0 200 Z', fill: '#1f5fa8', fixedRatio: false,
    text: { content: para(label, 24, '#ffffff'), defaultFontName: '', defaultColor: '#ffffff', align: 'middle', type: 'itemNumber' },
  }) as El

describe('number labels (itemNumber / partNumber)', () => {
  it('contents: each number joins the item on its row instead of standing on its own line', () => {
    const items = ['从数轴看大小', '正数、0 与负数', '两个负数比大小', '课堂练习']
    const slide: Slide = {
      id: 'contents', type: 'contents',
      elements: [
        textEl('title', { left: 40, top: 200, width: 240, height: 80 }, para('目录', 44, '#ffffff'), 'title'),
        ...items.flatMap((item, i) => [
          numberShape(`num-${i + 1}`, { left: 380, top: 90 + i * 100, width: 64, height: 64 }, `0${i + 1}`),
          textEl(`item-${i + 1}`, { left: 470, top: 96 + i * 100, width: 440, height: 52 }, para(item, 26), 'item'),
        ]),
      ],
    }
    expect(extractSlideText(slide).content.split('\n')).toEqual(['01 从数轴看大小', '02 正数、0 与负数', '03 两个负数比大小', '04 课堂练习'])
  })

  it('transition: the part number goes with the title beside it', () => {
    const slide: Slide = {
      id: 'transition', type: 'transition',
      elements: [
        textEl('part', { left: 110, top: 215, width: 200, height: 120 }, para('01', 88), 'partNumber'),
        textEl('title', { left: 380, top: 210, width: 560, height: 72 }, para('从数轴看大小', 44), 'title'),
        textEl('sub', { left: 380, top: 305, width: 560, height: 48 }, para('右边的点表示的数总比左边的大', 20), 'content'),
      ],
    }
    const text = extractSlideText(slide)
    expect(text.title).toBe('01 从数轴看大小')
    expect(text.content).toBe('右边的点表示的数总比左边的大')
  })

  it('an untagged pure number label joins too; a number with nothing beside it is kept', () => {
    const slide: Slide = {
      id: 'practice', type: 'content',
      elements: [
        textEl('head', { left: 60, top: 40, width: 880, height: 60 }, para('课堂练习', 32), 'title'),
        textEl('n1', { left: 70, top: 160, width: 36, height: 36 }, para('1.')),
        textEl('q1', { left: 120, top: 156, width: 780, height: 48 }, para('比较 -2.5 与 -2 的大小', 22), 'item'),
        textEl('lone', { left: 900, top: 480, width: 60, height: 40 }, para('99', 14), 'itemNumber'),
      ],
    }
    expect(extractSlideText(slide).content.split('\n')).toEqual(['1. 比较 -2.5 与 -2 的大小', '99'])
  })
})

describe('reading order', () => {
  it('two columns read column by column, after the full-width heading', () => {
    const slide: Slide = {
      id: 'columns', type: 'content',
      elements: [
        textEl('right-title', { left: 540, top: 155, width: 380, height: 50 }, para('方法二：法则法', 24), 'itemTitle'),
        textEl('left-body', { left: 80, top: 210, width: 380, height: 200 }, para('把数在数轴上表示出来') + para('适合：数比较少'), 'item'),
        textEl('title', { left: 60, top: 40, width: 880, height: 60 }, para('两种比较方法', 32), 'title'),
        textEl('intro', { left: 60, top: 100, width: 880, height: 40 }, para('两种方法各有所长', 16), 'content'),
        textEl('left-title', { left: 80, top: 155, width: 380, height: 50 }, para('方法一：数轴法', 24), 'itemTitle'),
        textEl('right-body', { left: 540, top: 210, width: 380, height: 200 }, para('先判断正负') + para('适合：数较多'), 'item'),
        textEl('note', { left: 60, top: 460, width: 880, height: 40 }, para('注意：分数先通分', 16), 'notes'),
      ],
    }
    expect(extractSlideText(slide).content.split('\n')).toEqual([
      '两种方法各有所长',
      '方法一：数轴法', '把数在数轴上表示出来', '适合：数比较少',
      '方法二：法则法', '先判断正负', '适合：数较多',
      '注意：分数先通分',
    ])
  })

  it('readingOrder: a single column stays top to bottom; overlapping boxes fall back to top, then left', () => {
    const boxes = [
      { id: 'c', left: 0, top: 200, width: 500, height: 50 },
      { id: 'a', left: 0, top: 0, width: 500, height: 50 },
      { id: 'b', left: 100, top: 100, width: 300, height: 50 },
    ]
    expect(readingOrder(boxes).map(b => b.id)).toEqual(['a', 'b', 'c'])
    const overlapping = [
      { id: 'y', left: 200, top: 10, width: 300, height: 100 },
      { id: 'x', left: 0, top: 10, width: 300, height: 100 },
      { id: 'w', left: 100, top: 0, width: 300, height: 100 },
    ]
    expect(readingOrder(overlapping).map(b => b.id)).toEqual(['w', 'x', 'y'])
  })
})
