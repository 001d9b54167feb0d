// The preview's layout model tells the truth about the page: every line placed (or the page says it
// was shortened), contents numbered once, tables as cells, headings/numbered items as what they are,
// symbols drawn, the deck title only where it belongs, varied illustrations, calm text boxes.
import { describe, expect, it } from 'vitest'
import { NANO_BANANA_TEMPLATES } from '../../plugin/configs/nanoBananaTemplates.js'
import { slideToPageInput } from '../../plugin/host/extractText.js'
import type { Slide as HostSlide } from '../../plugin/host/types.js'
import type { GenerationMode, PageInput, PageType, TextBoxRect } from '../../plugin/types/api.js'
import { createSampleDeck, sampleDeckTitle } from '../../src/mocks/sampleDeck.js'
import { createPreviewProvider } from '../../server/providers/preview.js'
import { parseBlocks, parseContents } from '../../server/render/blocks.js'
import { layoutSlide } from '../../server/render/slide.js'
import { styleFor } from '../../server/render/styles/index.js'
import { emojiIn } from '../../server/render/text.js'
import { defaultFontSet } from '../../server/render/fonts.js'
import type { SlideLayout } from '../../server/render/types.js'

const fonts = defaultFontSet()
const SIZE = { width: 1376, height: 768, previewMark: true }
const deck: PageInput[] = createSampleDeck().map(s => slideToPageInput(s as unknown as HostSlide))
const pageOf = (id: string) => deck.find(p => p.slide_id === id)!

function lay(t: number, p: Pick<PageInput, 'title' | 'content'> & { page_type?: PageType }, o: { mode?: GenerationMode; deckTitle?: string; pageNumber?: number; textBoxes?: TextBoxRect[] } = {}): SlideLayout {
  return layoutSlide(styleFor(NANO_BANANA_TEMPLATES[t]), {
    pageType: p.page_type ?? 'content', title: p.title, content: p.content, deckTitle: o.deckTitle ?? sampleDeckTitle,
    pageNumber: o.pageNumber ?? 4, totalPages: 8, mode: o.mode ?? 'full', language: 'zh', ...(o.textBoxes ? { textBoxes: o.textBoxes } : {}),
  }, SIZE)
}

const squash = (s: string) => s.replace(/\s+/g, '')
/** everything the layout placed, as one string without spaces */
const placed = (l: SlideLayout) => l.texts.map(t => squash(t.lines.join(''))).join('\n')
/** what a reader must find of an input line: its words without list markers; a table row's cells */
function expectedPieces(line: string): string[] {
  if (line.includes(' | ')) return line.split(' | ').map(squash)
  return [squash(line.replace(/^\s*(?:\d{1,2}[.、)]?\s+|[①-⑳]\s*|[-*•]\s+)/, ''))]
}

function expectEveryLine(l: SlideLayout, p: Pick<PageInput, 'title' | 'content'>, label: string) {
  const all = placed(l)
  const missing = [p.title, ...p.content.split('\n')].filter(Boolean).flatMap(expectedPieces).filter(piece => piece && !all.includes(piece))
  if (l.shortened) {
    expect(l.texts.some(t => t.truncated), `${label}: shortened but no node says so`).toBe(true)
  } else {
    expect(missing, `${label}: lines not placed`).toEqual([])
  }
}

describe('layout model', () => {
  it('places every line of the sample deck in every template, none shortened', () => {
    for (let t = 0; t < NANO_BANANA_TEMPLATES.length; t++) {
      for (const p of deck) {
        const l = lay(t, p)
        const label = `${NANO_BANANA_TEMPLATES[t].id} ${p.slide_id}`
        expect(l.shortened, label).toBe(false)
        expectEveryLine(l, { title: p.page_type === 'transition' ? p.title.replace(/^01\s*/, '') : p.title, content: p.content.replace(/^CONTENTS$/m, '') }, label)
      }
    }
  })

  it('a cover keeps all four paragraphs, with © and ✨ drawn', () => {
    const cover = { page_type: 'cover' as const, title: 'PPTist', content: '基于 Vue 3.x + TypeScript 的在线演示文稿应用\n还原了大部分 Office PowerPoint 常用功能 ✨\n支持 文字、图片、形状、线条、图表、表格\n© 2026 pipipi-pikachu · AGPL-3.0' }
    for (let t = 0; t < NANO_BANANA_TEMPLATES.length; t++) {
      const l = lay(t, cover)
      expect(l.shortened).toBe(false)
      expectEveryLine(l, cover, NANO_BANANA_TEMPLATES[t].id)
      const sub = l.texts.find(x => x.role === 'subtitle')!
      expect(sub.lines.join('')).toContain('©')
      expect(sub.lines.flatMap(line => emojiIn(fonts, 'sans', line))).toEqual(['✨'])
    }
  })

  it('too much text flows into two columns before anything is cut; only beyond that is the page shortened', () => {
    const twelve = { title: '十六条要点', content: Array.from({ length: 16 }, (_, i) => `第 ${i + 1} 条：要点的内容写得稍微长一些，需要换行显示`).join('\n') }
    for (let t = 0; t < NANO_BANANA_TEMPLATES.length; t++) {
      const l = lay(t, twelve)
      expect(l.shortened, NANO_BANANA_TEMPLATES[t].id).toBe(false)
      expectEveryLine(l, twelve, NANO_BANANA_TEMPLATES[t].id)
      const xs = new Set(l.texts.filter(x => x.role === 'item').map(x => Math.round(x.bounds.x)))
      expect(xs.size, `${NANO_BANANA_TEMPLATES[t].id}: two columns`).toBe(2)
    }
    const huge = { title: '太多了', content: Array.from({ length: 60 }, (_, i) => `第 ${i + 1} 条：${'很长的内容，'.repeat(8)}`).join('\n') }
    const l = lay(0, huge)
    expect(l.shortened).toBe(true)
    const last = l.texts.filter(x => x.role === 'item').at(-1)!
    expect(last.truncated).toBe(true)
    expect(last.lines.at(-1)!.endsWith('…')).toBe(true)
  })

  it('the preview provider reports a shortened page, and only then', async () => {
    const provider = createPreviewProvider()
    const req = (content: string) => ({
      prompt: '', references: [], aspectRatio: '16:9' as const, resolution: '1K' as const, signal: new AbortController().signal,
      page: { template: NANO_BANANA_TEMPLATES[0], deckTitle: 'd', pageType: 'content' as const, pageNumber: 2, totalPages: 3, title: 't', content, mode: 'full' as const, language: 'zh' },
    })
    expect((await provider.generate(req(pageOf('nb-rules').content))).shortened).toBeUndefined()
    expect((await provider.generate(req(Array.from({ length: 60 }, () => '很长的内容，'.repeat(10)).join('\n')))).shortened).toBe(true)
  })
})

describe('contents', () => {
  it('the heading is a heading, "CONTENTS" its caption, and each item carries one number: its own', () => {
    const p = pageOf('nb-contents')
    for (let t = 0; t < NANO_BANANA_TEMPLATES.length; t++) {
      const l = lay(t, p)
      expect(l.texts.find(x => x.role === 'title')!.lines).toEqual(['目录'])
      expect(l.texts.find(x => x.role === 'subtitle')!.lines).toEqual(['CONTENTS'])
      const items = l.texts.filter(x => x.role === 'item')
      expect(items.map(i => i.lines.join(''))).toEqual(['从数轴看大小', '正数、0 与负数', '两个负数比大小', '课堂练习'])
      expect(items.map(i => i.marker)).toEqual(['01', '02', '03', '04'])
    }
  })

  it('unnumbered items get ours; items that bring their own keep them; mixed get ours without theirs', () => {
    expect(parseContents('', '市场\n产品\n团队', '目录')).toMatchObject({ heading: '目录', ownNumbers: false, items: [{ text: '市场', number: 1 }, { text: '产品', number: 2 }, { text: '团队', number: 3 }] })
    expect(parseContents('Agenda', 'Part 3: Roadmap\nPart 4: Budget', 'Contents')).toMatchObject({ heading: 'Agenda', ownNumbers: true, items: [{ text: 'Roadmap', number: 3 }, { text: 'Budget', number: 4 }] })
    expect(parseContents('目录', '一、背景\n二、方案', '目录').items).toEqual([{ text: '背景', number: 1 }, { text: '方案', number: 2 }])
    expect(parseContents('目录', '01 背景\n方案', '目录').items).toEqual([{ text: '背景', number: 1 }, { text: '方案', number: 2 }])
    const l = lay(0, { page_type: 'contents', title: '', content: 'CONTENTS\n03 财务\n05 风险' })
    expect(l.texts.find(x => x.role === 'title')!.lines).toEqual(['CONTENTS'])
    expect(l.texts.filter(x => x.role === 'item').map(i => [i.marker, i.lines.join('')])).toEqual([['03', '财务'], ['05', '风险']])
  })
})

describe('content blocks', () => {
  it('a table is drawn as cells in a grid with a header row', () => {
    const p = pageOf('nb-negative')
    for (let t = 0; t < NANO_BANANA_TEMPLATES.length; t++) {
      const l = lay(t, p)
      const cells = l.texts.filter(x => x.role === 'cell')
      expect(cells, NANO_BANANA_TEMPLATES[t].id).toHaveLength(15)
      expect(cells.filter(c => c.row === 0).map(c => c.lines.join(''))).toEqual(['两个数', '绝对值', '结论'])
      expect(cells.find(c => c.row === 1 && c.col === 2)!.lines.join('')).toBe('-5 < -3')
      for (let r = 0; r < 5; r++) {
        const row = cells.filter(c => c.row === r)
        expect(new Set(row.map(c => c.bounds.y)).size).toBe(1)
        for (let k = 1; k < 3; k++) expect(row[k].bounds.x).toBeCloseTo(row[k - 1].bounds.x + row[k - 1].bounds.w, 5)
      }
      // no cell text is a bullet line "a | b | c"
      expect(placed(l)).not.toContain('|')
    }
  })

  it('sub-headings are headings; numbered items show their number once', () => {
    const l = lay(1, pageOf('nb-negative'))
    expect(l.texts.filter(x => x.role === 'heading').map(x => x.lines.join(''))).toEqual(['三步走'])
    const numbered = l.texts.filter(x => x.marker)
    expect(numbered.map(x => [x.marker, x.lines.join('')])).toEqual([['1', '分别求出两个负数的绝对值'], ['2', '比较两个绝对值的大小'], ['3', '绝对值大的负数反而小']])
    expect(parseBlocks(pageOf('nb-practice').content).map(b => b.kind)).toEqual(['numbered', 'numbered', 'numbered'])
    expect(parseBlocks(pageOf('nb-rules').content).map(b => b.kind)).toEqual(['bullet', 'bullet', 'bullet', 'bullet', 'heading', 'bullet', 'bullet'])
    // a comparison of two headed sections is laid out in two columns, one section each
    const cols = lay(2, pageOf('nb-columns'))
    const heads = cols.texts.filter(x => x.role === 'heading')
    expect(heads.map(h => h.lines.join(''))).toEqual(['方法一：数轴法', '方法二：法则法'])
    expect(heads[1].bounds.x).toBeGreaterThan(heads[0].bounds.x + 200)
    expect(heads[1].bounds.y).toBeCloseTo(heads[0].bounds.y, 5)
  })
})

describe('deck title and illustrations', () => {
  it('a cover with its own title does not print the deck title; a placeholder deck name is never printed', () => {
    for (let t = 0; t < NANO_BANANA_TEMPLATES.length; t++) {
      const cover = lay(t, pageOf('nb-cover'), { deckTitle: '数学课件合集' })
      expect(placed(cover)).not.toContain('数学课件合集')
      const untitled = lay(t, { page_type: 'cover', title: '', content: '' }, { deckTitle: '未命名演示文稿' })
      expect(placed(untitled)).not.toContain('未命名')
      const content = lay(t, pageOf('nb-rules'), { deckTitle: '未命名演示文稿' })
      expect(placed(content)).not.toContain('未命名')
    }
    // where a template has a footer, the deck's real name sits there, small
    const l = lay(0, pageOf('nb-rules'), { deckTitle: '数学课件合集' })
    const meta = l.texts.find(x => x.role === 'meta')!
    expect(meta.lines).toEqual(['数学课件合集'])
    expect(meta.bounds.y).toBeGreaterThan(l.designHeight * 0.85)
  })

  it('content pages of one deck get different illustrations, by topic and position', () => {
    for (let t = 0; t < NANO_BANANA_TEMPLATES.length; t++) {
      const arts = deck.filter(p => p.page_type === 'content').map((p, i) => lay(t, p, { pageNumber: 4 + i }).art)
      expect(new Set(arts).size, `${NANO_BANANA_TEMPLATES[t].id}: ${arts}`).toBeGreaterThanOrEqual(2)
      // the table page uses the illustration's space for the table
      expect(arts[1]).toBe('none')
      // steps → a flow
      expect(lay(t, pageOf('nb-practice')).art).toBe('flow')
      // figures → a chart (the template's own when its own illustration is one)
      const numbers = lay(t, { title: '业绩', content: '营收增长 35%\n利润率 18%\n海外占比 40%' }).art
      expect(['chart', 'illustration']).toContain(numbers)
      if (styleFor(NANO_BANANA_TEMPLATES[t]).ownArt !== 'chart') expect(numbers).toBe('chart')
    }
    // a maths lesson without figures does not get the business template's bar chart
    expect(lay(0, pageOf('nb-rules')).art).not.toBe('illustration')
  })
})

describe('background mode', () => {
  const overlaps = (a: { x: number; y: number; w: number; h: number }, b: typeof a) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h

  it('keeps the sent text boxes calm: each is veiled, and no illustration is drawn into one', () => {
    // a title across the top and a text box over the right half, where most templates draw their illustration
    const boxes: TextBoxRect[] = [{ x: 0.05, y: 0.06, w: 0.9, h: 0.14 }, { x: 0.5, y: 0.3, w: 0.45, h: 0.55 }]
    for (let t = 0; t < NANO_BANANA_TEMPLATES.length; t++) {
      for (const pt of ['cover', 'contents', 'transition', 'content', 'end'] as PageType[]) {
        const l = lay(t, { page_type: pt, title: '标题', content: '要点一\n要点二' }, { mode: 'background', textBoxes: boxes })
        const label = `${NANO_BANANA_TEMPLATES[t].id} ${pt}`
        expect(l.texts, label).toEqual([])
        expect(l.calm, label).toHaveLength(2)
        l.calm.forEach((z, i) => {
          expect(z.x).toBeCloseTo(boxes[i].x * l.designWidth, 5)
          expect(z.w).toBeCloseTo(boxes[i].w * l.designWidth, 5)
        })
        if (l.artBox) for (const z of l.calm) expect(overlaps(l.artBox, z), label).toBe(false)
      }
    }
    // a text box away from the illustration leaves it in place
    const l = lay(0, { title: 't', content: 'a\nb' }, { mode: 'background', textBoxes: [{ x: 0.05, y: 0.3, w: 0.4, h: 0.5 }] })
    expect(l.artBox).not.toBeNull()
    expect(overlaps(l.artBox!, l.calm[0])).toBe(false)
  })

  it('leaves out the data template\'s charts (contents donut, cover dashboards) where the slide has a text box', () => {
    // the donut's arcs are the only arcs that template draws (found by the fresh tester under a contents page's boxes)
    const arc = /A[\d.]+ [\d.]+ 0 [01] 1/
    const t = NANO_BANANA_TEMPLATES.findIndex(x => x.name === '数据可视化')
    const right: TextBoxRect[] = [{ x: 0.47, y: 0.22, w: 0.44, h: 0.36 }]
    for (const pt of ['contents', 'cover'] as PageType[]) {
      expect(lay(t, { page_type: pt, title: '目录', content: '一\n二' }, { mode: 'background', textBoxes: [{ x: 0.05, y: 0.3, w: 0.3, h: 0.3 }] }).backdropSvg, pt).toMatch(arc)
      const l = lay(t, { page_type: pt, title: '目录', content: '一\n二' }, { mode: 'background', textBoxes: right })
      expect(l.backdropSvg, pt).not.toMatch(arc)
      expect(l.art, pt).toBe('none')
    }
  })
})
