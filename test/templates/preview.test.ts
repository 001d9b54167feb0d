import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { NANO_BANANA_TEMPLATES } from '../../plugin/configs/nanoBananaTemplates.js'
import type { AspectRatio, GenerationMode, PageType, Resolution } from '../../plugin/types/api.js'
import { createPreviewProvider } from '../../server/providers/preview.js'
import type { GenerateRequest } from '../../server/providers/types.js'
import { ProviderError } from '../../server/providers/types.js'
import { outputSize } from '../../server/render/size.js'
import { layoutSlide, sectionNumber, paragraphsOf } from '../../server/render/slide.js'
import { styleFor } from '../../server/render/styles/index.js'
import type { SlideContent, SlideLayout } from '../../server/render/types.js'

const PAGE_TYPES: PageType[] = ['cover', 'contents', 'transition', 'content', 'end']
const MODES: GenerationMode[] = ['full', 'background']
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

const SAMPLE = {
  title: '营收同比增长 35%，利润率稳步提升',
  content: '核心产品线贡献超过 60% 的营业收入\n海外市场实现突破，东南亚销售额翻倍\n运营成本下降 18%',
}

function req(templateIndex: number, pageType: PageType, mode: GenerationMode, resolution: Resolution, aspectRatio: AspectRatio = '16:9', text = SAMPLE): GenerateRequest {
  return {
    prompt: 'ignored by the preview provider',
    references: [],
    aspectRatio,
    resolution,
    signal: new AbortController().signal,
    page: {
      template: NANO_BANANA_TEMPLATES[templateIndex],
      deckTitle: '年度经营分析',
      pageType,
      pageNumber: 2,
      totalPages: 9,
      title: pageType === 'transition' ? `02 ${text.title}` : text.title,
      content: text.content,
      mode,
      language: 'zh',
    },
  }
}

function page(pageType: PageType, mode: GenerationMode, title: string, content: string): SlideContent {
  return { pageType, mode, title, content, deckTitle: '年度经营分析', pageNumber: 4, totalPages: 12, language: 'zh' }
}

async function dims(png: Buffer) {
  const m = await sharp(png).metadata()
  return { format: m.format, width: m.width, height: m.height }
}

/** every text node lies inside the canvas (design units, with sub-unit tolerance) */
function expectInside(layout: SlideLayout, label: string) {
  for (const t of layout.texts) {
    const b = t.bounds
    expect(b.x, `${label} ${t.role} left`).toBeGreaterThanOrEqual(-0.5)
    expect(b.y, `${label} ${t.role} top`).toBeGreaterThanOrEqual(-0.5)
    expect(b.x + b.w, `${label} ${t.role} right`).toBeLessThanOrEqual(layout.designWidth + 0.5)
    expect(b.y + b.h, `${label} ${t.role} bottom`).toBeLessThanOrEqual(layout.designHeight + 0.5)
  }
}

describe('preview provider', () => {
  const provider = createPreviewProvider()

  it('is called preview', () => {
    expect(provider.name).toBe('preview')
    expect(provider.model).toBe('preview')
  })

  it('renders every template × page type at 1K as a 1376×768 PNG (background mode: one page type per template)', async () => {
    // background pages share their backdrop with full pages; one per template keeps the test lean
    for (let t = 0; t < NANO_BANANA_TEMPLATES.length; t++) {
      for (const pt of PAGE_TYPES) {
        for (const mode of MODES.filter(m => m === 'full' || pt === PAGE_TYPES[t % PAGE_TYPES.length])) {
          const img = await provider.generate(req(t, pt, mode, '1K'))
          expect(img.mime).toBe('image/png')
          expect(img.bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true)
          expect(await dims(img.bytes), `${t} ${pt} ${mode}`).toEqual({ format: 'png', width: 1376, height: 768 })
        }
      }
    }
  }, 120_000)

  it('renders every template at 2K (2752×1536), cycling page types and modes', async () => {
    for (let t = 0; t < NANO_BANANA_TEMPLATES.length; t++) {
      const pt = PAGE_TYPES[t % PAGE_TYPES.length]
      const mode = MODES[t % 2]
      const img = await provider.generate(req(t, pt, mode, '2K'))
      expect(await dims(img.bytes), `${t} ${pt} ${mode}`).toEqual({ format: 'png', width: 2752, height: 1536 })
    }
  }, 120_000)

  it('follows the requested aspect ratio with the same long-edge logic', async () => {
    const cases: Array<[AspectRatio, Resolution, number, number]> = [['9:16', '1K', 774, 1376], ['1:1', '1K', 1376, 1376], ['4:3', '1K', 1376, 1032], ['21:9', '1K', 1376, 590]]
    for (const [ar, res, w, h] of cases) {
      expect(outputSize(ar, res)).toEqual({ width: w, height: h })
      const img = await provider.generate(req(ar === '9:16' ? 11 : 6, 'content', 'full', res, ar))
      expect(await dims(img.bytes), ar).toEqual({ format: 'png', width: w, height: h })
    }
    expect(outputSize('16:9', '4K')).toEqual({ width: 5504, height: 3072 })
  }, 60_000)

  it('stops when the request is already aborted', async () => {
    const ac = new AbortController()
    ac.abort()
    await expect(provider.generate({ ...req(0, 'content', 'full', '1K'), signal: ac.signal })).rejects.toSatisfy(
      (e: unknown) => e instanceof ProviderError && e.kind === 'aborted')
  })

  it('many pages can share one abort signal (a batch hands every page the same one)', async () => {
    const signal = new AbortController().signal
    for (const pt of PAGE_TYPES) {
      const img = await provider.generate({ ...req(3, pt, 'full', '1K'), signal })
      expect(img.mime).toBe('image/png')
    }
    await Promise.all([0, 1, 2].map(i => provider.generate({ ...req(i, 'content', 'full', '1K'), signal })))
  })

  it('reports an abort that happens while drawing as aborted', async () => {
    const ac = new AbortController()
    const pending = provider.generate({ ...req(7, 'cover', 'full', '2K'), signal: ac.signal })
    ac.abort()
    await expect(pending).rejects.toSatisfy((e: unknown) => e instanceof ProviderError && e.kind === 'aborted')
  })

  it('draws the page text itself: different titles give different images', async () => {
    const a = await provider.generate(req(0, 'content', 'full', '1K'))
    const b = await provider.generate(req(0, 'content', 'full', '1K', '16:9', { ...SAMPLE, title: '完全不同的标题内容' }))
    expect(a.bytes.equals(b.bytes)).toBe(false)
  })
})

describe('slide layout', () => {
  const W = 1376
  const H = 768

  it('places title and body text for every template and page type, inside the canvas', () => {
    for (const t of NANO_BANANA_TEMPLATES) {
      for (const pt of PAGE_TYPES) {
        const l = layoutSlide(styleFor(t), page(pt, 'full', pt === 'transition' ? '02 市场回顾' : SAMPLE.title, SAMPLE.content), { width: W, height: H, previewMark: true })
        const roles = l.texts.map(x => x.role)
        expect(roles, `${t.id} ${pt}`).toContain('title')
        if (pt === 'content') expect(roles.filter(r => r === 'item')).toHaveLength(3)
        if (pt === 'contents') expect(roles.filter(r => r === 'item')).toHaveLength(3)
        if (pt === 'transition') expect(l.texts.find(x => x.role === 'number')?.lines).toEqual(['02'])
        expectInside(l, `${t.id} ${pt}`)
      }
    }
  })

  it('background mode has no text at all (decoration only) but keeps the preview mark', () => {
    for (const t of NANO_BANANA_TEMPLATES) {
      for (const pt of PAGE_TYPES) {
        const l = layoutSlide(styleFor(t), page(pt, 'background', SAMPLE.title, SAMPLE.content), { width: W, height: H, previewMark: true })
        expect(l.texts, `${t.id} ${pt}`).toEqual([])
        expect(l.mark).not.toBeNull()
        // the only glyph outlines are the mark's: the overlay holds nothing but the mark
        expect(l.overlaySvg.match(/<path /g)?.length ?? 0).toBe([...'PREVIEW · 预览'].filter(ch => ch !== ' ').length)
      }
    }
  })

  it('long text shrinks, wraps and is cut with an ellipsis, never overflowing', () => {
    const longTitle = '这是一个非常非常长的标题，用来测试自动换行与缩小字号是否正常工作，'.repeat(6) + 'Supercalifragilisticexpialidocious-https://example.com/a/very/long/url/without/any/spaces/at/all'
    const longBody = Array.from({ length: 30 }, (_, i) => `第 ${i + 1} 条：${'内容很长的要点文字，包含中文和 English words mixed together, '.repeat(3)}`).join('\n')
    for (const t of NANO_BANANA_TEMPLATES) {
      for (const pt of PAGE_TYPES) {
        for (const [w, h] of [[W, H], [774, 1376]]) {
          const l = layoutSlide(styleFor(t), page(pt, 'full', longTitle, longBody), { width: w, height: h, previewMark: true })
          expectInside(l, `${t.id} ${pt} ${w}x${h}`)
          const title = l.texts.find(x => x.role === 'title')!
          expect(title.truncated, `${t.id} ${pt}`).toBe(true)
          expect(title.lines[title.lines.length - 1].endsWith('…')).toBe(true)
          expect(l.shortened).toBe(true)
          if (pt === 'content') {
            const items = l.texts.filter(x => x.role === 'item')
            expect(items.at(-1)!.truncated).toBe(true)
            expect(items.at(-1)!.lines.at(-1)!.endsWith('…')).toBe(true)
            for (const it of items) expect(it.size).toBeGreaterThanOrEqual(13)
          }
        }
      }
    }
  }, 60_000)

  it('empty title and content do not crash and draw no empty text', () => {
    for (const t of NANO_BANANA_TEMPLATES) {
      for (const pt of PAGE_TYPES) {
        const l = layoutSlide(styleFor(t), page(pt, 'full', '', ''), { width: W, height: H, previewMark: false })
        for (const node of l.texts) expect(node.lines.join('').trim().length).toBeGreaterThan(0)
        if (pt === 'content') expect(l.texts.filter(x => x.role !== 'footer' && x.role !== 'meta')).toEqual([])
        // pages with a natural default still get a heading
        if (pt === 'contents') expect(l.texts.find(x => x.role === 'title')?.lines).toEqual(['目录'])
        if (pt === 'end') expect(l.texts.find(x => x.role === 'title')?.lines).toEqual(['谢谢观看'])
        if (pt === 'cover') expect(l.texts.find(x => x.role === 'title')?.lines).toEqual(['年度经营分析'])
        expect(l.mark).toBeNull()
      }
    }
  })

  it('English decks get English defaults', () => {
    const l = layoutSlide(styleFor(NANO_BANANA_TEMPLATES[0]), { ...page('end', 'full', '', ''), language: 'en' }, { width: W, height: H, previewMark: false })
    expect(l.texts.find(x => x.role === 'title')?.lines).toEqual(['Thank you'])
  })

  it('parses bullets and section numbers from plain text', () => {
    expect(paragraphsOf('- 第一点\n\n• 第二点\n3. 第三点\n  （4）第四点 ')).toEqual(['第一点', '第二点', '第三点', '第四点'])
    // a leading minus sign or a decimal is content, not a list marker
    expect(paragraphsOf('-5 与 -3 比较\n3.14 比 3 大\n-2℃ 高于 -12℃')).toEqual(['-5 与 -3 比较', '3.14 比 3 大', '-2℃ 高于 -12℃'])
    expect(paragraphsOf('1、先看符号\n* 再看绝对值')).toEqual(['先看符号', '再看绝对值'])
    expect(sectionNumber('02 市场分析')).toEqual({ n: 2, rest: '市场分析' })
    expect(sectionNumber('第三部分 财务')).toEqual({ n: 3, rest: '财务' })
    expect(sectionNumber('Part 4: Roadmap')).toEqual({ n: 4, rest: 'Roadmap' })
    expect(sectionNumber('市场分析')).toBeNull()
    expect(sectionNumber('2025 年度计划')).toBeNull()
  })
})

describe('preview mark', () => {
  it('sits in the top-right corner and is drawn in the image (dark pill with light glyphs)', async () => {
    const provider = createPreviewProvider()
    for (const mode of MODES) {
      for (const t of [0, 4, 6]) {
        const r = req(t, 'content', mode, '1K')
        const layout = layoutSlide(styleFor(r.page.template), { ...r.page }, { width: 1376, height: 768, previewMark: true })
        const m = layout.mark!
        expect(m.x + m.w).toBeLessThanOrEqual(1376)
        expect(m.x).toBeGreaterThan(1376 * 0.75)
        expect(m.y + m.h).toBeLessThan(768 * 0.1)
        const img = await provider.generate(r)
        const { data, info } = await sharp(img.bytes).extract({ left: Math.round(m.x + 4), top: Math.round(m.y + 4), width: Math.round(m.w - 8), height: Math.round(m.h - 8) }).raw().toBuffer({ resolveWithObject: true })
        let dark = 0
        let light = 0
        for (let i = 0; i < data.length; i += info.channels) {
          const lum = (data[i] + data[i + 1] + data[i + 2]) / 3
          if (lum < 110) dark++
          if (lum > 200) light++
        }
        const n = data.length / info.channels
        expect(dark / n, `${t} ${mode}`).toBeGreaterThan(0.4)
        expect(light / n, `${t} ${mode}`).toBeGreaterThan(0.05)
      }
    }
  })
})

describe('backdrop cache', () => {
  it('draws each backdrop once and evicts the least recently used by bytes', async () => {
    const { BackdropCache } = await import('../../server/render/slide.js')
    const cache = new BackdropCache(250)
    let draws = 0
    const raster = async () => { draws++; return { pixels: Buffer.alloc(100), width: 5, height: 5 } }
    await cache.get('a', raster)
    await cache.get('b', raster)
    await cache.get('a', raster)
    expect(draws).toBe(2)
    await cache.get('c', raster) // 300 bytes > 250: evicts b (a was used more recently)
    expect(cache.size).toBe(2)
    await cache.get('a', raster)
    expect(draws).toBe(3)
    await cache.get('b', raster)
    expect(draws).toBe(4)
    // concurrent requests for one backdrop draw it once
    await Promise.all([cache.get('d', raster), cache.get('d', raster), cache.get('d', raster)])
    expect(draws).toBe(5)
  })

  it('text composited over a cached backdrop looks like drawing the slide in one pass', async () => {
    const { rasterize } = await import('../../server/render/slide.js')
    const { Resvg } = await import('@resvg/resvg-js')
    for (const t of [1, 6, 9]) {
      const layout = layoutSlide(styleFor(NANO_BANANA_TEMPLATES[t]), page('content', 'full', SAMPLE.title, SAMPLE.content), { width: 1376, height: 768, previewMark: true })
      const layered = await sharp(await rasterize(layout)).raw().toBuffer()
      const onePass = await sharp(new Resvg(layout.svg).render().asPng()).removeAlpha().raw().toBuffer()
      let diff = 0
      for (let i = 0; i < onePass.length; i++) diff += Math.abs(onePass[i] - layered[i])
      expect(diff / onePass.length, String(t)).toBeLessThan(0.5)
    }
  })
})
