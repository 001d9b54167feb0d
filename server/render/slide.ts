// Draws one slide in a template style: the style supplies the backdrop and where text goes,
// this module fits and places the page's text per page type and adds the preview mark.
import { renderAsync } from '@resvg/resvg-js'
import sharp from 'sharp'
import type { FontSet } from './fonts.js'
import { defaultFontSet } from './fonts.js'
import { blockToSvg, cleanText, fitText, lineToSvg, measure } from './text.js'
import type { TextSpec } from './text.js'
import type { Box, Ctx, SlideContent, SlideLayout, SlideStyle, TextNode } from './types.js'

/** design units of the short edge */
export const DESIGN_HEIGHT = 768

export interface DrawOptions {
  width: number
  height: number
  /** draw the "PREVIEW · 预览" corner mark */
  previewMark: boolean
  fonts?: FontSet
}

/** Bullet lines of a plain-text body: one per line, list markers removed. */
export function paragraphsOf(content: string): string[] {
  return cleanText(content)
    .split('\n')
    // '-' '*' and '1.' count as markers only when a space follows, so "-5 与 -3" and "3.14" keep their sign/number
    .map(l => l.replace(/^\s*(?:[-*+](?=\s)|[•·●▪◦]|\d{1,2}(?:[.)](?=\s)|、)|[（(]\d{1,2}[)）])\s*/, '').trim())
    .filter(Boolean)
}

const CN_NUM: Record<string, number> = { 一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9, 十: 10 }

/** A section number written in a transition title ("02 市场", "第三部分", "Part 4"), else null. */
export function sectionNumber(title: string): { n: number; rest: string } | null {
  const t = title.trim()
  let m = t.match(/^(?:part|chapter|section)?\s*(\d{1,2})(?:[.、:：)\s]+|$)(.*)$/i)
  if (m) return { n: Number(m[1]), rest: m[2].trim() }
  m = t.match(/^第?([一二三四五六七八九十])(?:部分|章|节|篇)?[、.：:\s]*(.*)$/)
  if (m && (t.startsWith('第') || /^[一二三四五六七八九十][、.：:]/.test(t))) return { n: CN_NUM[m[1]], rest: m[2].trim() }
  return null
}

const pad2 = (n: number) => String(n).padStart(2, '0')

function defaults(s: SlideContent) {
  const zh = !s.language || s.language.startsWith('zh')
  return {
    contentsTitle: zh ? '目录' : 'Contents',
    endTitle: zh ? '谢谢观看' : 'Thank you',
  }
}

export function layoutSlide(style: SlideStyle, page: SlideContent, opts: DrawOptions): SlideLayout {
  const fonts = opts.fonts ?? defaultFontSet()
  // the short edge is always 768 design units, so type and motifs keep their size in any ratio
  const landscape = opts.width >= opts.height
  const H = landscape ? DESIGN_HEIGHT : Math.round(DESIGN_HEIGHT * opts.height / opts.width * 100) / 100
  const W = landscape ? Math.round(DESIGN_HEIGHT * opts.width / opts.height * 100) / 100 : DESIGN_HEIGHT
  let seq = 0
  const c: Ctx = {
    W, H, narrow: W / H < 1.2, kind: page.pageType, fonts,
    id: name => `${style.key}-${name}-${seq++}`,
  }
  const texts: TextNode[] = []
  // white underlay: the backdrop raster is treated as opaque when text is composited over it
  const parts: string[] = ['<rect width="100%" height="100%" fill="#ffffff"/>' + style.backdrop(c)]
  const full = page.mode !== 'background'
  const regions = style.regions(c)
  const colors = style.colors(c)
  const align = style.align(page.pageType)
  const d = defaults(page)

  const place = (role: TextNode['role'], paragraphs: string[], box: Box | undefined, spec: TextSpec) => {
    if (!box || !paragraphs.some(p => p.trim())) return null
    const block = fitText(fonts, paragraphs, spec, box)
    if (!block.lines.length) return null
    parts.push(blockToSvg(fonts, block, spec, box))
    texts.push({ role, lines: block.lines.map(l => l.text), size: block.size, bounds: block.bounds, truncated: block.truncated })
    return block
  }

  if (full) {
    const paras = paragraphsOf(page.content)
    const titleSpec = (max: number, min: number, maxLines: number): TextSpec => ({
      role: style.fonts.title, color: colors.title, maxSize: max, minSize: min, lineHeight: 1.22,
      anchor: align, valign: 'bottom', maxLines, balance: true,
    })
    const accent = (b: { bounds: Box } | null) => {
      if (b && style.titleAccent) parts.push(style.titleAccent(c, b.bounds, align))
    }
    switch (page.pageType) {
      case 'cover': {
        const title = page.title.trim() || page.deckTitle.trim()
        accent(place('title', [title], regions.title, titleSpec(c.narrow ? 64 : 76, 30, 3)))
        place('subtitle', paras.slice(0, 3), regions.subtitle, {
          role: style.fonts.body, color: colors.body, maxSize: 28, minSize: 16, lineHeight: 1.45, anchor: align, maxLines: 4,
        })
        if (page.deckTitle.trim() && page.deckTitle.trim() !== title) {
          place('meta', [page.deckTitle], regions.meta, { role: style.fonts.body, color: colors.muted, maxSize: 18, minSize: 12, anchor: align, maxLines: 1, tracking: 0.04 })
        }
        break
      }
      case 'contents': {
        const heading = page.title.trim() || d.contentsTitle
        accent(place('title', [heading], regions.title, { ...titleSpec(52, 26, 1), valign: 'middle' }))
        drawItems(c, style, paras, regions.list, colors, parts, texts)
        break
      }
      case 'transition': {
        const sec = sectionNumber(page.title)
        const title = sec?.rest || page.title.trim()
        if (sec) place('number', [pad2(sec.n)], regions.number, { role: style.fonts.number, color: colors.number, maxSize: 150, minSize: 40, lineHeight: 1.0, anchor: align, valign: 'bottom', maxLines: 1 })
        accent(place('title', [title], regions.title, { ...titleSpec(72, 28, 2), valign: sec ? 'top' : 'middle' }))
        place('subtitle', paras.slice(0, 2), regions.subtitle, { role: style.fonts.body, color: colors.body, maxSize: 24, minSize: 14, lineHeight: 1.45, anchor: align, maxLines: 3 })
        break
      }
      case 'content': {
        accent(place('title', [page.title], regions.title, { ...titleSpec(44, 24, 2), valign: 'middle' }))
        drawBody(c, style, paras, regions.body, colors, parts, texts)
        break
      }
      case 'end': {
        const title = page.title.trim() || d.endTitle
        accent(place('title', [title], regions.title, titleSpec(c.narrow ? 72 : 88, 32, 2)))
        place('subtitle', paras.slice(0, 3), regions.subtitle, { role: style.fonts.body, color: colors.body, maxSize: 26, minSize: 14, lineHeight: 1.45, anchor: align, maxLines: 3 })
        break
      }
    }
    if (regions.footer && page.totalPages > 0 && page.pageType !== 'cover') {
      place('footer', [`${pad2(page.pageNumber)} / ${pad2(page.totalPages)}`], regions.footer, {
        role: style.fonts.body, color: colors.muted, maxSize: 14, minSize: 10, anchor: 'end', valign: 'middle', maxLines: 1, tracking: 0.08,
      })
    }
  }

  let mark: Box | null = null
  if (opts.previewMark) {
    const m = previewMark(c)
    parts.push(m.svg)
    mark = m.box
  }
  const doc = (body: string) => `<svg xmlns="http://www.w3.org/2000/svg" width="${opts.width}" height="${opts.height}" viewBox="0 0 ${W} ${H}">${body}</svg>`
  return {
    svg: doc(parts.join('')),
    backdropSvg: doc(parts[0]),
    overlaySvg: doc(parts.slice(1).join('')),
    backdropKey: `${style.key}|${page.pageType}|${opts.width}x${opts.height}`,
    width: opts.width, height: opts.height, designWidth: W, designHeight: H, texts, mark,
  }
}

function drawBody(c: Ctx, style: SlideStyle, paras: string[], box: Box | undefined, colors: { body: string }, parts: string[], texts: TextNode[]) {
  if (!box || !paras.length) return
  // leave room for the bullet marker; one paragraph alone is a lead paragraph without marker
  const bulleted = paras.length > 1
  let spec: TextSpec = { role: style.fonts.body, color: colors.body, maxSize: 32, minSize: 14, lineHeight: 1.5, paragraphGap: 0.55 }
  // size is fitted with the indent that size implies; a second pass settles the indent
  let indent = bulleted ? style.bulletIndent * spec.maxSize : 0
  let textBox = { x: box.x + indent, y: box.y, w: box.w - indent, h: box.h }
  let block = fitText(c.fonts, paras, spec, textBox)
  if (bulleted) {
    indent = style.bulletIndent * block.size
    textBox = { x: box.x + indent, y: box.y, w: box.w - indent, h: box.h }
    spec = { ...spec, maxSize: block.size + 2 }
    block = fitText(c.fonts, paras, spec, textBox)
    // few short bullets: open up the spacing so the list fills the column like a designed slide
    const fill = box.h * 0.66
    if (!block.truncated && block.bounds.h < fill) {
      const extra = (fill - block.bounds.h) / (paras.length - 1) / block.size
      spec = { ...spec, maxSize: block.size, minSize: block.size, paragraphGap: Math.min(1.5, 0.55 + extra) }
      block = fitText(c.fonts, paras, spec, textBox)
    }
  }
  parts.push(blockToSvg(c.fonts, block, spec, textBox))
  texts.push({ role: 'body', lines: block.lines.map(l => l.text), size: block.size, bounds: { ...block.bounds, x: box.x, w: block.bounds.w + indent }, truncated: block.truncated })
  if (!bulleted) return
  const lh = (spec.lineHeight ?? 1.5) * block.size
  const gap = (spec.paragraphGap ?? 0) * block.size
  let y = block.bounds.y
  block.lines.forEach((l, i) => {
    const newPara = i === 0 || l.paragraph !== block.lines[i - 1].paragraph
    if (i > 0 && newPara) y += gap
    if (newPara) parts.push(style.bullet(c, box.x, y + lh / 2, block.size, l.paragraph))
    y += lh
  })
}

/** Contents items: number marker + one line each, in one or two columns. */
function drawItems(c: Ctx, style: SlideStyle, items: string[], box: Box | undefined, colors: { body: string }, parts: string[], texts: TextNode[]) {
  if (!box || !items.length) return
  const list = items.slice(0, 12)
  const cols = list.length > 5 && box.w > 700 ? 2 : 1
  const rows = Math.ceil(list.length / cols)
  const colGap = 48
  const colW = (box.w - colGap * (cols - 1)) / cols
  const rowH = Math.min(box.h / rows, 128)
  const size = Math.max(14, Math.min(34, rowH * 0.36))
  // numbered badges are ~1.1 × their size wide: keep a clear gap after them
  const indent = style.bulletIndent * size * 1.25 + size * 0.4
  const spec: TextSpec = { role: style.fonts.body, color: colors.body, maxSize: size, minSize: Math.max(12, size * 0.6), maxLines: 1, lineHeight: 1.3, valign: 'middle' }
  const top = box.y + (box.h - rowH * rows) / 2
  list.forEach((item, i) => {
    const col = Math.floor(i / rows)
    const row = i % rows
    const x = box.x + col * (colW + colGap)
    const cy = top + row * rowH + rowH / 2
    const tb = { x: x + indent, y: cy - rowH / 2, w: colW - indent, h: rowH }
    const block = fitText(c.fonts, [item], spec, tb)
    parts.push(style.bullet(c, x, cy, size * 1.25, i))
    parts.push(blockToSvg(c.fonts, block, spec, tb))
    texts.push({ role: 'item', lines: block.lines.map(l => l.text), size: block.size, bounds: block.bounds, truncated: block.truncated })
  })
}

/** Small translucent pill in the top-right corner: PREVIEW · 预览. */
function previewMark(c: Ctx): { svg: string; box: Box } {
  const size = 13
  const text = 'PREVIEW · 预览'
  const tw = measure(c.fonts, text, 'sansBold', size, 0.08)
  const padX = 10
  const h = 26
  const w = tw + padX * 2
  const x = c.W - 14 - w
  const y = 12
  const glyphs = lineToSvg(c.fonts, text, 'sansBold', size, x + padX, y + h / 2 + size * 0.36, 0.08)
  return {
    box: { x, y, w, h },
    svg: `<g><rect x="${x}" y="${y}" width="${w}" height="${h}" rx="${h / 2}" fill="#111827" fill-opacity="0.86" stroke="#ffffff" stroke-opacity="0.6" stroke-width="1"/><g fill="#ffffff">${glyphs}</g></g>`,
  }
}

interface Raster { pixels: Buffer; width: number; height: number }

/**
 * resvg draws on the libuv thread pool (renderAsync), so a slide never blocks the proxy's event loop.
 * No AbortSignal is handed to resvg: its binding rejects a signal object it has seen before (InvalidArg),
 * and a batch shares one signal across pages; callers check the signal around the call instead.
 */
async function renderSvg(svg: string, width: number): Promise<Raster> {
  const r = await renderAsync(svg, { font: { loadSystemFonts: false }, fitTo: { mode: 'width', value: width }, shapeRendering: 2 })
  return { pixels: r.pixels, width: r.width, height: r.height }
}

/**
 * Rasterised backdrops, most recently used last. A batch draws many pages of one template at one
 * size, and the backdrop (gradients, patterns, illustrations) is most of the drawing cost, so only
 * the text layer is drawn per page. Bounded by bytes (a 2K backdrop is 16 MB of RGBA); concurrent
 * requests for the same backdrop share one drawing.
 */
export class BackdropCache {
  private readonly entries = new Map<string, Raster>()
  private readonly pending = new Map<string, Promise<Raster>>()
  private bytes = 0
  constructor(private readonly maxBytes: number) {}

  async get(key: string, draw: () => Promise<Raster>): Promise<Raster> {
    const hit = this.entries.get(key)
    if (hit) {
      this.entries.delete(key)
      this.entries.set(key, hit)
      return hit
    }
    const inFlight = this.pending.get(key)
    if (inFlight) return inFlight
    const p = draw()
    this.pending.set(key, p)
    try {
      const r = await p
      if (r.pixels.length <= this.maxBytes) this.store(key, r)
      return r
    } finally {
      this.pending.delete(key)
    }
  }

  private store(key: string, r: Raster) {
    this.entries.set(key, r)
    this.bytes += r.pixels.length
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break
      this.entries.delete(k)
      this.bytes -= v.pixels.length
    }
  }

  get size(): number { return this.entries.size }
}

// 96 MB: the five page-type backdrops of one 2K batch (5 × 17 MB), or one 4K backdrop
const sharedBackdrops = new BackdropCache(96 * 1024 * 1024)

/**
 * Rasterise a layout: the backdrop comes from the cache, the text layer is drawn over it
 * (resvg), and sharp encodes (much faster PNG encoding than resvg's own).
 */
export async function rasterize(layout: SlideLayout, format: 'png' | 'jpeg' = 'png', cache: BackdropCache | null = sharedBackdrops): Promise<Buffer> {
  const drawBase = () => renderSvg(layout.backdropSvg, layout.width)
  const [base, over] = await Promise.all([
    cache ? cache.get(layout.backdropKey, drawBase) : drawBase(),
    renderSvg(layout.overlaySvg, layout.width),
  ])
  const rgb = flattenOver(base.pixels, over.pixels)
  const img = sharp(rgb, { raw: { width: base.width, height: base.height, channels: 3 } })
  return format === 'png'
    ? img.png({ compressionLevel: 3, adaptiveFiltering: false }).toBuffer()
    : img.jpeg({ quality: 86, mozjpeg: true }).toBuffer()
}

/** Opaque RGB = overlay over the backdrop; resvg pixels are premultiplied RGBA, the backdrop is opaque. */
function flattenOver(base: Buffer, over: Buffer): Buffer {
  const n = base.length >> 2
  const out = Buffer.allocUnsafe(n * 3)
  for (let i = 0, j = 0, k = 0; i < n; i++, j += 4, k += 3) {
    const a = over[j + 3]
    if (a === 0) {
      out[k] = base[j]
      out[k + 1] = base[j + 1]
      out[k + 2] = base[j + 2]
    } else if (a === 255) {
      out[k] = over[j]
      out[k + 1] = over[j + 1]
      out[k + 2] = over[j + 2]
    } else {
      const b = (255 - a) / 255
      out[k] = over[j] + base[j] * b + 0.5
      out[k + 1] = over[j + 1] + base[j + 1] * b + 0.5
      out[k + 2] = over[j + 2] + base[j + 2] * b + 0.5
    }
  }
  return out
}
