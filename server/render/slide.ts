// Draws one slide in a template style: the style supplies the backdrop and where text goes,
// this module fits and places the page's text per page type and adds the preview mark.
import { renderAsync } from '@resvg/resvg-js'
import sharp from 'sharp'
import type { FontSet } from './fonts.js'
import { defaultFontSet } from './fonts.js'
import { blockToSvg, cleanText, fitText, lineToSvg, measure } from './text.js'
import type { TextSpec } from './text.js'
import type { Box, Ctx, SlideContent, SlideLayout, SlideStyle, TextColors, TextNode } from './types.js'
import { parseBlocks, parseContents } from './blocks.js'
import type { Block } from './blocks.js'
import { chooseArt } from './art.js'
import type { ArtKind } from './art.js'
import { comparisonColumns, layoutBody } from './body.js'
import { calmZones, veilsSvg } from './calm.js'

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

/** Names editors give a deck nobody named yet: not a title worth printing. */
const PLACEHOLDER_DECK = /^(?:未命名演示文稿|未命名|无标题|新建演示文稿|untitled(?: presentation| deck)?|presentation\d*)$/i

/** The deck title, or '' when it is only the editor's placeholder name. */
export function realDeckTitle(deckTitle: string): string {
  const t = deckTitle.trim()
  return PLACEHOLDER_DECK.test(t) ? '' : t
}

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
  const full = page.mode !== 'background'
  const regions = style.regions(c)
  const blocks = page.pageType === 'content' ? parseBlocks(page.content) : []
  // tables and two-section comparisons take the illustration's space as well
  const wide = blocks.some(b => b.kind === 'table') || comparisonColumns(blocks)
  c.art = page.pageType === 'content' ? chooseArt(blocks, page.pageNumber, style.ownArt ?? 'illustration', wide && !c.narrow) : 'illustration'
  const texts: TextNode[] = []
  // background mode: the slide's own text boxes (or, without them, where this template puts text)
  const zones = full ? [] : calmZones(c, page.textBoxes)
  if (zones.length && c.art !== 'none') {
    // the illustration moves out of the way of the slide's text: drawn only when no text box meets it
    const probe: Ctx = { ...c, id: () => 'probe' }
    style.backdrop(probe)
    if (probe.artBox && zones.some(z => intersects(z, probe.artBox!))) c.art = 'none'
  }
  // white underlay: the backdrop raster is treated as opaque when text is composited over it
  const parts: string[] = ['<rect width="100%" height="100%" fill="#ffffff"/>' + style.backdrop(c)]
  const colors = style.colors(c)
  const align = style.align(page.pageType)
  const d = defaults(page)
  const deckTitle = realDeckTitle(page.deckTitle)
  let shortened = false

  const place = (role: TextNode['role'], paragraphs: string[], box: Box | undefined, spec: TextSpec) => {
    if (!box || !paragraphs.some(p => p.trim())) return null
    const block = fitText(fonts, paragraphs, spec, box)
    if (!block.lines.length) return null
    parts.push(blockToSvg(fonts, block, spec, box))
    texts.push({ role, lines: block.lines.map(l => l.text), size: block.size, bounds: block.bounds, truncated: block.truncated })
    if (block.truncated) shortened = true
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
    const sub = (max: number, min: number): TextSpec => ({ role: style.fonts.body, color: colors.body, maxSize: max, minSize: min, lineHeight: 1.45, anchor: align })
    switch (page.pageType) {
      case 'cover': {
        // the cover's own title; the deck's name only when the cover has none (and it is a real name)
        let title = page.title.trim() || deckTitle
        let rest = paras
        if (!title && paras.length) { title = paras[0]; rest = paras.slice(1) }
        accent(place('title', [title], regions.title, titleSpec(c.narrow ? 64 : 76, 30, 3)))
        place('subtitle', rest, regions.subtitle, sub(28, 12))
        break
      }
      case 'contents': {
        const model = parseContents(page.title, page.content, d.contentsTitle)
        const head = place('title', [model.heading], regions.title, { ...titleSpec(52, 26, 1), valign: 'middle' })
        accent(head)
        if (head && model.caption && regions.title) {
          const hb = head.bounds
          const gap = 18
          const box = { x: hb.x + hb.w + gap, y: regions.title.y, w: Math.max(0, regions.title.x + regions.title.w - (hb.x + hb.w + gap)), h: regions.title.h }
          const spec: TextSpec = { role: style.fonts.body, color: colors.muted, maxSize: Math.round(head.size * 0.42), minSize: 10, maxLines: 1, tracking: 0.12, valign: 'middle' }
          if (box.w > 60) place('subtitle', [model.caption], box, spec)
          else place('subtitle', [model.caption], { ...regions.title, y: regions.title.y + regions.title.h - 4, h: 24 }, spec)
        }
        shortened = drawItems(c, style, model.items, regions.list, colors, parts, texts) || shortened
        break
      }
      case 'transition': {
        const sec = sectionNumber(page.title)
        const title = sec?.rest || page.title.trim()
        if (sec) place('number', [pad2(sec.n)], regions.number, { role: style.fonts.number, color: colors.number, maxSize: 150, minSize: 40, lineHeight: 1.0, anchor: align, valign: 'bottom', maxLines: 1 })
        accent(place('title', [title], regions.title, { ...titleSpec(72, 28, 2), valign: sec ? 'top' : 'middle' }))
        place('subtitle', paras, regions.subtitle, sub(24, 12))
        break
      }
      case 'content': {
        accent(place('title', [page.title], regions.title, { ...titleSpec(44, 24, 2), valign: 'middle' }))
        shortened = drawBody(c, style, blocks, regions.body, wide, colors, parts, texts) || shortened
        break
      }
      case 'end': {
        const title = page.title.trim() || d.endTitle
        accent(place('title', [title], regions.title, titleSpec(c.narrow ? 72 : 88, 32, 2)))
        place('subtitle', paras, regions.subtitle, sub(26, 12))
        break
      }
    }
    if (regions.footer && page.totalPages > 0 && page.pageType !== 'cover') {
      const f = place('footer', [`${pad2(page.pageNumber)} / ${pad2(page.totalPages)}`], regions.footer, {
        role: style.fonts.body, color: colors.muted, maxSize: 14, minSize: 10, anchor: 'end', valign: 'middle', maxLines: 1, tracking: 0.08,
      })
      // the deck's name sits in the footer, left of the page number, where a deck title belongs
      if (f && deckTitle && page.pageType !== 'end') {
        const room = Math.min(W * 0.4, f.bounds.x - 24 - (regions.body?.x ?? regions.list?.x ?? 84))
        if (room > 80) {
          const fb = { x: f.bounds.x - 24 - room, y: regions.footer.y, w: room, h: regions.footer.h }
          const spec: TextSpec = { role: style.fonts.body, color: colors.muted, maxSize: 13, minSize: 13, anchor: 'end', valign: 'middle', maxLines: 1, tracking: 0.04 }
          const block = fitText(fonts, [deckTitle], spec, fb)
          parts.push(blockToSvg(fonts, block, spec, fb))
          texts.push({ role: 'meta', lines: block.lines.map(l => l.text), size: block.size, bounds: block.bounds, truncated: block.truncated })
        }
      }
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
    backdropKey: `${style.key}|${page.pageType}|${c.art}|${opts.width}x${opts.height}`,
    width: opts.width, height: opts.height, designWidth: W, designHeight: H, texts, mark,
    shortened, art: c.art as ArtKind, artBox: c.art === 'none' ? null : c.artBox ?? null, calm: zones,
  }
}

const intersects = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h

/** Body of a content page: the layout model in body.ts; returns whether something had to be cut. */
function drawBody(c: Ctx, style: SlideStyle, blocks: Block[], box: Box | undefined, wide: boolean, colors: TextColors, parts: string[], texts: TextNode[]): boolean {
  if (!box || !blocks.length) return false
  let area = box
  if (wide && !c.narrow) {
    // the illustration's column is free: run to the right margin
    const right = c.W - Math.min(84, Math.round(c.W * 0.06))
    area = { ...box, w: Math.max(box.w, right - box.x) }
  }
  const r = layoutBody(c, style, blocks, area, { maxSize: 32, minSize: 13, body: colors.body, heading: colors.title }, comparisonColumns(blocks) ? 2 : 1)
  parts.push(r.svg)
  texts.push(...r.nodes)
  return r.shortened
}

/** Contents items: the item's number in the template's badge + its text, in one or two columns. */
function drawItems(c: Ctx, style: SlideStyle, items: Array<{ text: string; number: number }>, box: Box | undefined, colors: { body: string }, parts: string[], texts: TextNode[]): boolean {
  if (!box || !items.length) return false
  const cols = items.length > 5 && box.w > 700 ? 2 : 1
  const rows = Math.ceil(items.length / cols)
  const colGap = 48
  const colW = (box.w - colGap * (cols - 1)) / cols
  const rowH = Math.min(box.h / rows, 128)
  const size = Math.max(12, Math.min(34, rowH * 0.36))
  // numbered badges are ~1.1 × their size wide: keep a clear gap after them
  const indent = style.bulletIndent * size * 1.25 + size * 0.4
  const spec: TextSpec = { role: style.fonts.body, color: colors.body, maxSize: size, minSize: Math.max(11, size * 0.6), maxLines: rowH >= size * 2.8 ? 2 : 1, lineHeight: 1.25, valign: 'middle' }
  const top = box.y + (box.h - rowH * rows) / 2
  let cut = false
  items.forEach((item, i) => {
    const col = Math.floor(i / rows)
    const row = i % rows
    const x = box.x + col * (colW + colGap)
    const cy = top + row * rowH + rowH / 2
    const tb = { x: x + indent, y: cy - rowH / 2, w: colW - indent, h: rowH }
    const block = fitText(c.fonts, [item.text], spec, tb)
    // the badge shows the item's own number (or ours), the text never repeats it
    parts.push(style.bullet(c, x, cy, size * 1.25, item.number - 1))
    parts.push(blockToSvg(c.fonts, block, spec, tb))
    texts.push({ role: 'item', lines: block.lines.map(l => l.text), size: block.size, bounds: block.bounds, truncated: block.truncated, marker: pad2(item.number) })
    if (block.truncated) cut = true
  })
  return cut
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
  const getBase = () => (cache ? cache.get(layout.backdropKey, drawBase) : drawBase())
  let base: Raster
  let over: Raster
  if (layout.calm.length) {
    // background mode with the slide's text boxes: a card in the backdrop's own colour under each box
    base = await getBase()
    const veils = veilsSvg(layout.calm, base.pixels, base.width, base.height, base.width / layout.designWidth, layout.designWidth, layout.designHeight)
    over = await renderSvg(layout.overlaySvg.replace(/^(<svg[^>]*>)/, `$1${veils}`), layout.width)
  } else {
    [base, over] = await Promise.all([getBase(), renderSvg(layout.overlaySvg, layout.width)])
  }
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
