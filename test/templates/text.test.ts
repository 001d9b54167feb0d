import { Resvg } from '@resvg/resvg-js'
import sharp from 'sharp'
import { describe, expect, it, vi } from 'vitest'
import { NANO_BANANA_TEMPLATES } from '../../plugin/configs/nanoBananaTemplates.js'
import { createPreviewProvider } from '../../server/providers/preview.js'
import { defaultFontSet, loadFontSet } from '../../server/render/fonts.js'
import type { FontRole, FontSet } from '../../server/render/fonts.js'
import { layoutSlide } from '../../server/render/slide.js'
import { styleFor } from '../../server/render/styles/index.js'
import { ellipsize, emojiIn, fitText, lineToSvg, measure, wrap } from '../../server/render/text.js'

const fonts = defaultFontSet()

/** Ink mask (dark pixels) of one line drawn black on white, one cell per character advance. */
function inkCells(set: FontSet, text: string, role: FontRole, size: number): boolean[][] {
  const chars = [...text]
  const width = Math.ceil(measure(set, text, role, size)) + 4
  const height = Math.ceil(size * 1.4)
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/><g fill="#000">${lineToSvg(set, text, role, size, 2, size * 1.1)}</g></svg>`
  const px = new Resvg(svg).render().pixels
  const cells: boolean[][] = []
  let x0 = 2
  for (const ch of chars) {
    const adv = measure(set, ch, role, size)
    const cell: boolean[] = []
    for (let y = 0; y < height; y++) for (let x = Math.floor(x0); x < Math.floor(x0 + adv); x++) cell.push(px[(y * width + x) * 4] < 128)
    cells.push(cell)
    x0 += adv
  }
  return cells
}

const coverage = (cell: boolean[]) => cell.filter(Boolean).length / cell.length
const difference = (a: boolean[], b: boolean[]) => {
  const n = Math.min(a.length, b.length)
  let d = 0
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) d++
  return d / n
}

describe('text measurement and wrapping', () => {
  it('CJK ideographs are full-width; Latin letters are proportional', () => {
    expect(measure(fonts, '中', 'sans', 40)).toBeCloseTo(40, 0)
    expect(measure(fonts, '中文字体', 'sans', 40)).toBeCloseTo(160, 0)
    const i = measure(fonts, 'i', 'sans', 40)
    const w = measure(fonts, 'W', 'sans', 40)
    expect(i).toBeLessThan(w * 0.5)
    expect(w).toBeLessThan(40)
    expect(measure(fonts, 'abc', 'sans', 80)).toBeCloseTo(2 * measure(fonts, 'abc', 'sans', 40), 5)
  })

  it('breaks CJK anywhere, Latin at spaces, and keeps closing punctuation off the line start', () => {
    const lines = wrap(fonts, '有理数的大小比较，正数大于零。', 'sans', 40, 40 * 7.5)
    expect(lines.join('')).toBe('有理数的大小比较，正数大于零。')
    for (const l of lines) {
      expect(measure(fonts, l, 'sans', 40)).toBeLessThanOrEqual(40 * 7.5)
      expect(l[0]).not.toMatch(/[，。]/)
    }
    const en = wrap(fonts, 'the quick brown fox jumps over the lazy dog', 'sans', 40, 300)
    expect(en.length).toBeGreaterThan(1)
    for (const l of en) expect(l).toMatch(/^[a-z]+( [a-z]+)*$/)
    expect(en.join(' ')).toBe('the quick brown fox jumps over the lazy dog')
    // a word longer than the line is split rather than overflowing
    const long = wrap(fonts, 'x'.repeat(80), 'sans', 40, 200)
    for (const l of long) expect(measure(fonts, l, 'sans', 40)).toBeLessThanOrEqual(200)
  })

  it('shrinks to fit, and ellipsizes below the minimum size', () => {
    const box = { x: 0, y: 0, w: 400, h: 120 }
    const small = fitText(fonts, ['短标题'], { role: 'sansBold', color: '#000', maxSize: 60, minSize: 20 }, box)
    expect(small.size).toBe(60)
    const long = fitText(fonts, ['很长的标题'.repeat(8)], { role: 'sansBold', color: '#000', maxSize: 60, minSize: 20, lineHeight: 1.2 }, box)
    expect(long.size).toBeLessThan(60)
    expect(long.bounds.h).toBeLessThanOrEqual(box.h + 0.01)
    const cut = fitText(fonts, ['很长的标题'.repeat(40)], { role: 'sansBold', color: '#000', maxSize: 60, minSize: 20, lineHeight: 1.2 }, box)
    expect(cut.truncated).toBe(true)
    expect(cut.size).toBe(20)
    expect(cut.lines.at(-1)!.text.endsWith('…')).toBe(true)
    for (const l of cut.lines) expect(l.width).toBeLessThanOrEqual(box.w + 0.01)
    const e = ellipsize(fonts, '一二三四五六七八九十', 'sans', 40, 200)
    expect(e.endsWith('…')).toBe(true)
    expect(measure(fonts, e, 'sans', 40)).toBeLessThanOrEqual(200)
  })

  it('draws glyphs at the measured size, at any font size (no rounding of the glyph scale)', () => {
    for (const size of [13, 15, 27, 44, 97]) {
      const zoom = 8
      const w = Math.ceil(size * 1.2 * zoom)
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${w}" viewBox="0 0 ${size * 1.2} ${size * 1.2}"><rect width="100%" height="100%" fill="#fff"/><g fill="#000">${lineToSvg(fonts, '国', 'sans', size, 0, size)}</g></svg>`
      const px = new Resvg(svg).render().pixels
      let minX = w
      let maxX = -1
      for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) if (px[(y * w + x) * 4] < 128) { minX = Math.min(minX, x); maxX = Math.max(maxX, x) }
      // 国 fills ~84% of its em in Noto Sans SC
      const ratio = (maxX - minX + 1) / (size * zoom)
      expect(ratio, `size ${size}`).toBeGreaterThan(0.78)
      expect(ratio, `size ${size}`).toBeLessThan(0.9)
    }
  })

  // needs a machine where the main font lacks Hangul and a system CJK face has it (Debian fonts-noto-cjk, as in CI)
  const needsFallback = fonts.get('sans').glyph(0xd55c).missing && fonts.fallbacks().some(f => !f.glyph(0xd55c).missing)
  it.skipIf(!needsFallback)('characters the main font lacks come from a fallback font (Hangul from the system CJK faces)', () => {
    const cells = inkCells(fonts, '한국', 'sans', 96)
    for (const cell of cells) expect(coverage(cell)).toBeGreaterThan(0.05)
    expect(difference(cells[0], cells[1])).toBeGreaterThan(0.05)
  })

  it('keeps symbols and emoji (drawn as colour pictures), drops control characters', () => {
    const a = fitText(fonts, ['增长🚀\u0007 © ✨'], { role: 'sans', color: '#000', maxSize: 40, minSize: 20 }, { x: 0, y: 0, w: 800, h: 100 })
    expect(a.lines.map(l => l.text)).toEqual(['增长🚀 © ✨'])
    // 🚀 and ✨ are emoji pictures (Twemoji), © comes from the text font
    expect(emojiIn(fonts, 'sans', a.lines[0].text)).toEqual(['🚀', '✨'])
    const svg = lineToSvg(fonts, a.lines[0].text, 'sans', 40, 0, 40)
    expect(svg.match(/<g transform="translate/g)).toHaveLength(2)
    // an emoji sequence (skin tone, ZWJ family, flag, keycap) is one picture, measured as one
    for (const seq of ['👍🏽', '👨‍👩‍👧', '🇨🇳', '1️⃣']) {
      expect(emojiIn(fonts, 'sans', `a${seq}b`), seq).toEqual([seq])
      expect(measure(fonts, seq, 'sans', 40), seq).toBeCloseTo(measure(fonts, '✨', 'sans', 40), 5)
    }
  })
})

describe('CJK glyphs render (pixels, not tofu)', () => {
  it('a CJK font is available', () => {
    expect(fonts.hasCjk).toBe(true)
    for (const role of ['sans', 'sansBold', 'sansBlack', 'serif', 'serifBold'] as const) {
      expect(fonts.get(role).hasCjk, role).toBe(true)
    }
  })

  it('each ideograph draws its own shape; characters the font lacks draw identical .notdef boxes', () => {
    const hanzi = '汉字渲染测试'
    const missing = '\uE000\uE001\uE002\uE003\uE004\uE005' // private use: no glyph in any font here
    for (const role of ['sansBold', 'serif'] as const) {
      const real = inkCells(fonts, hanzi, role, 96)
      const tofu = inkCells(fonts, missing, role, 96)
      // the comparison can tell tofu apart: .notdef boxes are all alike
      for (let i = 1; i < tofu.length; i++) expect(difference(tofu[0], tofu[i])).toBeLessThan(0.01)
      for (const cell of real) {
        expect(coverage(cell)).toBeGreaterThan(0.05)
        expect(coverage(cell)).toBeLessThan(0.6)
      }
      for (let i = 0; i < real.length; i++) {
        for (let j = i + 1; j < real.length; j++) expect(difference(real[i], real[j]), `${role} ${i}-${j}`).toBeGreaterThan(0.05)
        expect(difference(real[i], tofu[0]), `${role} ${i} vs notdef`).toBeGreaterThan(0.05)
      }
    }
  })

  it('a preview slide with a Chinese title shows glyph ink where the title is', async () => {
    const template = NANO_BANANA_TEMPLATES[0]
    const page = { template, deckTitle: 'x', pageType: 'cover' as const, pageNumber: 1, totalPages: 3, title: '汉字渲染', content: '', mode: 'full' as const, language: 'zh' }
    const layout = layoutSlide(styleFor(template), page, { width: 1376, height: 768, previewMark: true })
    const title = layout.texts.find(t => t.role === 'title')!
    const provider = createPreviewProvider()
    const signal = new AbortController().signal
    const base = { prompt: '', references: [], aspectRatio: '16:9' as const, resolution: '1K' as const, signal }
    const withTitle = await provider.generate({ ...base, page })
    const without = await provider.generate({ ...base, page: { ...page, title: '' , deckTitle: '' } })
    const region = { left: Math.floor(title.bounds.x), top: Math.floor(title.bounds.y), width: Math.ceil(title.bounds.w), height: Math.ceil(title.bounds.h) }
    const a = await sharp(withTitle.bytes).extract(region).greyscale().raw().toBuffer()
    const b = await sharp(without.bytes).extract(region).greyscale().raw().toBuffer()
    let changed = 0
    for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 64) changed++
    // four bold ideographs cover a good part of their box, far from empty and far from solid
    expect(changed / a.length).toBeGreaterThan(0.12)
    expect(changed / a.length).toBeLessThan(0.7)
  })

  it('without any CJK font the renderer warns once, clearly', () => {
    const warn = vi.fn()
    const latinOnly = [{ file: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf' }]
    const set = loadFontSet({ candidates: { sans: latinOnly, sansBold: latinOnly, sansBlack: latinOnly, serif: latinOnly, serifBold: latinOnly }, fallbackCandidates: [], warn })
    expect(set.hasCjk).toBe(false)
    expect(warn).toHaveBeenCalledTimes(1)
    expect(String(warn.mock.calls[0][0])).toMatch(/no CJK font/)
    set.get('serifBold')
    expect(warn).toHaveBeenCalledTimes(1)
  })
})
