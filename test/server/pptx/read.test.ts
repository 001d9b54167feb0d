import JSZip from 'jszip'
import { describe, expect, it } from 'vitest'
import { readDeck, nearestAspectRatio } from '../../../server/pptx/read.js'
import { fixture, makeDeck } from './helpers.js'

describe('readDeck: pptxgenjs decks', () => {
  it('reads titles, body in reading order, tables, charts, notes, pictures, size and text boxes', async () => {
    const deck = await readDeck(await makeDeck(4))
    expect(deck.aspectRatio).toBe('16:9')
    expect(deck.width).toBe(720)
    expect(deck.height).toBe(405)
    expect(deck.slides).toHaveLength(4)
    const [cover, columns, table, chart] = deck.slides
    expect(cover.title).toBe('封面 Cover 1')
    expect(cover.content).toBe('副标题 subtitle')
    expect(cover.notes).toBe('Notes for slide 1 备注')
    expect(cover.background.color).toBe('#102040')
    const title = cover.textBoxes.find(b => b.isTitle)!
    expect(title).toMatchObject({ text: '封面 Cover 1', fontSize: 40, color: '#ffffff', x: 36, y: 108, w: 648, h: 86.4 })
    expect(title.paragraphs[0].runs[0]).toMatchObject({ bold: true, color: '#ffffff', fontSize: 40 })

    expect(columns.title).toBe('Two columns 2')
    expect(columns.content).toBe('Left column 左\nRight column 右')
    const left = columns.textBoxes.find(b => b.text.startsWith('Left'))!
    expect(left.paragraphs[0].runs.map(r => [r.text, r.bold ?? false, r.color])).toEqual([['Left ', true, '#333333'], ['column 左', false, '#c00000']])
    expect(columns.pictures).toHaveLength(1)
    expect(columns.pictures[0].data).toMatch(/^data:image\/png;base64,/)

    expect(table.tables[0].rows).toEqual([['Name', '分数'], ['Ann', '90']])
    expect(table.content).toBe('Name | 分数\nAnn | 90')
    expect(chart.charts[0]).toMatchObject({ title: 'Growth 增长', labels: ['Jan', 'Feb'], series: [{ name: 'Users', values: [5, 8] }] })
    expect(chart.content).toBe('Growth 增长\nUsers: Jan 5, Feb 8')
  })

  it('maps the slide size to the nearest ratio the models take', () => {
    expect(nearestAspectRatio(720, 540)).toBe('4:3')
    expect(nearestAspectRatio(720, 450)).toBe('16:9') // 16:10 has no model ratio
    expect(nearestAspectRatio(405, 720)).toBe('9:16')
    expect(nearestAspectRatio(0, 0)).toBe('16:9')
  })

  it('refuses a zip that pptxtojson cannot read as a presentation', async () => {
    const zip = new JSZip()
    zip.file('ppt/presentation.xml', '<p:presentation/>')
    zip.file('ppt/slides/slide1.xml', 'not xml <')
    const buf = await zip.generateAsync({ type: 'nodebuffer' })
    await expect(readDeck(buf)).rejects.toMatchObject({ status: 400 })
  })
})

describe('readDeck: decks written by LibreOffice Impress', () => {
  it('16:9 with Chinese and English, a table, a chart and notes', async () => {
    const deck = await readDeck(fixture('lo-mixed-16x9.pptx'))
    expect(deck.aspectRatio).toBe('16:9')
    expect(deck.slides.map(s => s.title)).toEqual(['有理数的大小比较', '成绩对比 Scores', 'Revenue by quarter 季度收入'])
    expect(deck.slides.map(s => s.notes)).toEqual(['开场：先问学生 -3 和 -5 哪个大。', 'Point at the second row.', 'Q4 was the best quarter.'])
    expect(deck.slides[0].content).toBe('Comparing rational numbers')
    expect(deck.slides[1].tables[0].rows).toEqual([['班级 Class', '平均分 Mean', '最高分 Max'], ['一班', '86', '99'], ['二班', '81', '97']])
    expect(deck.slides[2].charts[0]).toMatchObject({ title: 'Revenue 2026', labels: ['Q1', 'Q2', 'Q3', 'Q4'], series: [{ name: 'Revenue', values: [12, 18, 15, 22] }] })
    expect(deck.slides[0].background.color).toBe('#1f3864')
  })

  it('4:3 with a title placeholder, grouped shapes in slide coordinates and notes', async () => {
    const buf = fixture('lo-groups-4x3.pptx')
    const slideXml = await (await JSZip.loadAsync(buf)).file('ppt/slides/slide1.xml')!.async('string')
    expect(slideXml).toMatch(/<p:grpSp>/)
    expect(slideXml).toMatch(/<p:ph[^>]*type="title"/)
    const deck = await readDeck(buf)
    expect(deck.aspectRatio).toBe('4:3')
    const [s1, s2] = deck.slides
    expect(s1.title).toBe('三步走 Three steps')
    expect(s1.content).toBe('从想法到上线 From idea to launch\n调研 Research\n设计 Design\n上线 Launch')
    expect(s1.notes).toBe('每一步两周。Two weeks per step.')
    const steps = s1.textBoxes.filter(b => /Research|Design|Launch/.test(b.text))
    expect(steps.map(b => b.fill)).toEqual(['#4472c4', '#4472c4', '#4472c4'])
    // group children are placed on the slide: three boxes side by side, 3 inches apart
    expect(steps.map(b => Math.round(b.x))).toEqual([43, 259, 475])
    expect(steps.every(b => b.y > 200 && b.y < 260)).toBe(true)
    expect(s2).toMatchObject({ title: '谢谢 Thank you', notes: 'Questions?', content: '' })
  })

  it('4:3 bullets and two columns in reading order', async () => {
    const deck = await readDeck(fixture('lo-text-4x3.pptx'))
    expect(deck).toMatchObject({ width: 720, height: 540, aspectRatio: '4:3' })
    expect(deck.slides[0].title).toBe('Project kickoff')
    expect(deck.slides[0].content).toBe('Goals for the first month\nWho does what\nRisks and open questions')
    expect(deck.slides[0].notes).toBe('Keep this under five minutes.')
    expect(deck.slides[1].title).toBe('左栏 Left')
    expect(deck.slides[1].content).toBe('左栏正文 left body\n右栏 Right\n右栏正文 right body')
  })
})
