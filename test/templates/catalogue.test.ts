import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { NANO_BANANA_TEMPLATES, findTemplate } from '../../plugin/configs/nanoBananaTemplates.js'
import { STYLES } from '../../server/render/styles/index.js'
import { COVER_SAMPLES } from '../../scripts/covers/samples.js'

const publicDir = join(__dirname, '..', '..', 'public')
const fileOf = (p: string) => join(publicDir, p.replace(/^\.\//, ''))

describe('template catalogue', () => {
  it('has twelve templates with unique ids nano_banana_1..12, keeping the first two as they were', () => {
    const ids = NANO_BANANA_TEMPLATES.map(t => t.id)
    expect(ids).toHaveLength(12)
    expect(new Set(ids).size).toBe(12)
    expect(ids).toEqual(Array.from({ length: 12 }, (_, i) => `nano_banana_${i + 1}`))
    expect(findTemplate('nano_banana_1')?.name).toBe('专业商务风')
    expect(findTemplate('nano_banana_2')?.name).toBe('科技未来感')
    expect(findTemplate('nope')).toBeUndefined()
  })

  it('names, descriptions, palettes and tags are real and distinct', () => {
    const names = new Set<string>()
    const palettes = new Set<string>()
    for (const t of NANO_BANANA_TEMPLATES) {
      expect(t.name).toMatch(/[\u4e00-\u9fff]/)
      expect(t.name_en).toMatch(/^[A-Za-z][A-Za-z &-]+$/)
      expect(t.description.length).toBeGreaterThan(6)
      expect(t.description_en.length).toBeGreaterThan(10)
      expect(t.metadata.style.length).toBeGreaterThan(0)
      expect(t.metadata.color_scheme.length).toBeGreaterThanOrEqual(3)
      expect(t.metadata.color_scheme.length).toBeLessThanOrEqual(5)
      for (const c of t.metadata.color_scheme) expect(c).toMatch(/^#[0-9a-f]{6}$/)
      expect(t.metadata.recommended_for.length).toBeGreaterThan(0)
      names.add(t.name)
      names.add(t.name_en)
      palettes.add(t.metadata.color_scheme.join())
    }
    expect(names.size).toBe(24)
    expect(palettes.size).toBe(12)
    const tags = new Set(NANO_BANANA_TEMPLATES.flatMap(t => t.metadata.recommended_for))
    for (const need of ['business', 'tech', 'education', 'marketing', 'academic', 'kids']) expect(tags).toContain(need)
  })

  it('every template has its own drawing style and cover sample text', () => {
    const keys = new Set<string>()
    for (const t of NANO_BANANA_TEMPLATES) {
      expect(STYLES[t.id], t.id).toBeDefined()
      keys.add(STYLES[t.id].key)
      expect(COVER_SAMPLES[t.id], t.id).toBeDefined()
    }
    expect(keys.size).toBe(12)
  })

  it('every cover is a 1376×768 PNG and every thumbnail a light 480×270 JPEG', async () => {
    for (const t of NANO_BANANA_TEMPLATES) {
      expect(t.cover).toMatch(/^\.\/imgs\/nano_banana\/[a-z_]+\.png$/)
      expect(t.thumbnail).toMatch(/^\.\/imgs\/nano_banana\/[a-z_]+\.thumb\.jpg$/)
      const cover = fileOf(t.cover)
      const thumb = fileOf(t.thumbnail)
      expect(existsSync(cover), cover).toBe(true)
      expect(existsSync(thumb), thumb).toBe(true)
      const cm = await sharp(readFileSync(cover)).metadata()
      expect([cm.format, cm.width, cm.height]).toEqual(['png', 1376, 768])
      const tm = await sharp(readFileSync(thumb)).metadata()
      expect([tm.format, tm.width, tm.height]).toEqual(['jpeg', 480, 270])
      expect(statSync(thumb).size).toBeLessThan(60 * 1024)
      expect(statSync(thumb).size).toBeLessThan(statSync(cover).size)
    }
  })

  it('covers are designed, not flat: many colours and real detail', async () => {
    for (const t of NANO_BANANA_TEMPLATES) {
      const { data, info } = await sharp(fileOf(t.cover)).resize(344, 192).raw().toBuffer({ resolveWithObject: true })
      const counts = new Map<number, number>()
      for (let i = 0; i < data.length; i += info.channels) {
        const key = (data[i] >> 3) << 10 | (data[i + 1] >> 3) << 5 | data[i + 2] >> 3
        counts.set(key, (counts.get(key) ?? 0) + 1)
      }
      const pixels = data.length / info.channels
      // anti-aliased text and shapes give dozens of tones even in the black-and-white style
      expect(counts.size, t.id).toBeGreaterThan(40)
      // no single flat colour covers (almost) the whole slide
      expect(Math.max(...counts.values()) / pixels, t.id).toBeLessThan(0.9)
      // real detail: edges (text, strokes, shapes) between neighbouring pixels
      let edges = 0
      for (let i = 0; i + info.channels < data.length; i += info.channels) {
        if (Math.abs(data[i] - data[i + info.channels]) + Math.abs(data[i + 1] - data[i + 1 + info.channels]) > 60) edges++
      }
      expect(edges / pixels, t.id).toBeGreaterThan(0.02)
    }
  })
})

describe('covers are built from source', () => {
  it('each committed cover matches what `npm run covers` draws now (run it after changing a style)', async () => {
    const { layoutSlide, rasterize } = await import('../../server/render/slide.js')
    const { styleFor } = await import('../../server/render/styles/index.js')
    const { defaultFontSet } = await import('../../server/render/fonts.js')
    const fonts = defaultFontSet()
    // serif styles fall back to the sans without a system Noto Serif CJK; then their covers differ by design
    const serifAvailable = /NotoSerifCJK/.test(fonts.get('serif').source)
    for (const t of NANO_BANANA_TEMPLATES) {
      const style = styleFor(t)
      if (!serifAvailable && Object.values(style.fonts).some(r => r.startsWith('serif'))) continue
      const layout = layoutSlide(style, { ...COVER_SAMPLES[t.id], pageType: 'content', pageNumber: 3, totalPages: 12, mode: 'full', language: 'zh' },
        { width: 1376, height: 768, previewMark: false, fonts })
      const fresh = await sharp(await rasterize(layout, 'png', null)).raw().toBuffer()
      const committed = await sharp(fileOf(t.cover)).removeAlpha().raw().toBuffer()
      expect(committed.length).toBe(fresh.length)
      let diff = 0
      for (let i = 0; i < fresh.length; i++) diff += Math.abs(fresh[i] - committed[i])
      expect(diff / fresh.length, t.id).toBeLessThan(0.1)
    }
  })
})
