import sharp from 'sharp'
import { parse } from 'pptxtojson/dist/index.js'
import { describe, expect, it } from 'vitest'
import type { Deck } from '../../../server/pptx/deck.js'
import { readDeck } from '../../../server/pptx/read.js'
import { writeDeck, type RenderedImage } from '../../../server/pptx/write.js'
import { fixture, LO_FIXTURES, makeDeck } from './helpers.js'

/** A noisy image (poorly compressible, like a real render) of a given base colour, in the deck's ratio. */
async function render(deck: Deck, rgb: [number, number, number]): Promise<RenderedImage> {
  const width = 640
  const height = Math.round(width * deck.height / deck.width)
  const raw = Buffer.alloc(width * height * 3)
  for (let i = 0; i < raw.length; i += 3) {
    const n = (Math.random() - 0.5) * 24
    for (let c = 0; c < 3; c++) raw[i + c] = Math.max(0, Math.min(255, rgb[c] + n))
  }
  return { data: await sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer(), mime: 'image/png' }
}

async function reparse(buf: Buffer) {
  return await parse(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer, { imageMode: 'base64' })
}

const LIGHT: [number, number, number] = [240, 236, 225]

describe('writeDeck', () => {
  it.each(LO_FIXTURES)('background mode (%s): image backgrounds, notes, editable text boxes with the original text', async name => {
    const deck = await readDeck(fixture(name))
    const images = new Map<number, RenderedImage>()
    for (const s of deck.slides) images.set(s.index, await render(deck, LIGHT))
    const out = await writeDeck(deck, { mode: 'background', images })
    const json = await reparse(out)
    expect(json.size.width).toBeCloseTo(deck.width, 0)
    expect(json.size.height).toBeCloseTo(deck.height, 0)
    expect(json.slides).toHaveLength(deck.slides.length)
    json.slides.forEach(s => expect(s.fill.type).toBe('image'))
    const again = await readDeck(out)
    deck.slides.forEach((s, i) => {
      expect(again.slides[i].notes).toBe(s.notes)
      expect(again.slides[i].textBoxes.map(b => b.text)).toEqual(s.textBoxes.map(b => b.text))
      expect(again.slides[i].tables.map(t => t.rows)).toEqual(s.tables.map(t => t.rows))
      expect(again.slides[i].charts.map(c => [c.title, c.labels, c.series])).toEqual(s.charts.map(c => [c.title, c.labels, c.series]))
      // positions and sizes kept (to a hundredth of an inch)
      again.slides[i].textBoxes.forEach((b, j) => {
        const o = s.textBoxes[j]
        for (const k of ['x', 'y', 'w', 'h'] as const) expect(Math.abs(b[k] - o[k])).toBeLessThan(1)
      })
    })
    // text with no fill of its own reads against the light image; text on its own filled box keeps its colour
    for (const s of again.slides) {
      for (const b of s.textBoxes) {
        if (b.fill) expect(b.color).toBe('#ffffff')
        else expect(['#ffffff', '#dddddd', '#cccccc']).not.toContain(b.color)
      }
    }
  })

  it('recolours white text on a light image to near-black, keeps dark text that already reads', async () => {
    const deck = await readDeck(await makeDeck(2))
    const out = await writeDeck(deck, { mode: 'background', images: new Map([[1, await render(deck, LIGHT)], [2, await render(deck, [20, 20, 30])]]) })
    const again = await readDeck(out)
    expect(again.slides[0].textBoxes.map(b => [b.text, b.color])).toEqual([['封面 Cover 1', '#1f1f1f'], ['副标题 subtitle', '#1f1f1f']])
    // slide 2 on a dark image: #333333 does not read, becomes white; the red accent does not read either
    const left = again.slides[1].textBoxes.find(b => b.text.startsWith('Left'))!
    expect(left.paragraphs[0].runs.map(r => [r.text, r.color, r.bold ?? false])).toEqual([['Left ', '#ffffff', true], ['column 左', '#ffffff', false]])
    expect(again.slides[1].pictures).toHaveLength(1)
  })

  it('full mode: only the image on the slide, the original text appended to the notes', async () => {
    const deck = await readDeck(fixture('lo-mixed-16x9.pptx'))
    const out = await writeDeck(deck, { mode: 'full', language: 'zh', images: new Map([[1, await render(deck, LIGHT)], [3, await render(deck, LIGHT)]]) })
    const json = await reparse(out)
    expect(json.slides.map(s => s.fill.type)).toEqual(['image', 'color', 'image'])
    const again = await readDeck(out)
    expect(again.slides[0].textBoxes).toEqual([])
    expect(again.slides[0].notes).toBe('开场：先问学生 -3 和 -5 哪个大。\n— Nano Banana：原页面文字（整页生成前）—\n有理数的大小比较\nComparing rational numbers')
    expect(again.slides[2].notes).toContain('Revenue: Q1 12, Q2 18, Q3 15, Q4 22')
    expect(again.slides[2].charts).toEqual([])
    // slide 2 was not rendered: it keeps its original look and its notes as they were
    expect(again.slides[1].notes).toBe('Point at the second row.')
    expect(again.slides[1].title).toBe('成绩对比 Scores')
    expect(again.slides[1].tables[0].rows).toEqual(deck.slides[1].tables[0].rows)
    expect(again.slides[1].background.color).toBe('#ffffff')
  })

  it('an unrendered slide keeps its background colour, pictures and text colours', async () => {
    const deck = await readDeck(await makeDeck(2))
    const again = await readDeck(await writeDeck(deck, { mode: 'background', images: new Map() }))
    expect(again.slides[0].background.color).toBe('#102040')
    expect(again.slides[0].textBoxes.map(b => b.color)).toEqual(['#ffffff', '#cccccc'])
    expect(again.slides[1].pictures).toHaveLength(1)
    expect(again.slides.map(s => s.notes)).toEqual(deck.slides.map(s => s.notes))
  })
})
