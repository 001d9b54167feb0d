// "导入 PPTX": a .pptx read with pptxtojson (base64 images) and turned into slides the way PPTist's own
// import does (src/hooks/useImport.ts → importPPTXFile: points × 96/72 → px, groups flattened, the
// note as the remark). A smaller subset than PPTist's: text, shapes (with their text), pictures,
// tables, charts, formulas as pictures; backgrounds as colour, picture or gradient.
import { parse } from 'pptxtojson'
import type { ChartItem, Element as PptxElement, Slide as PptxSlide } from 'pptxtojson'
import { storeToRefs } from 'pinia'
import { useSlidesStore, useSnapshotStore } from '../store'
import type { ChartElement, PPTElement, Slide, SlideBackground, SlideTheme, TableCell, TextElement } from '../types/slides'

let counter = 0
const newId = () => `px${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 6)}`

/** pptxtojson writes font sizes in pt; the editor draws px. */
function convertText(html: string, ratio: number): string {
  return html.replace(/font-size:\s*([\d.]+)pt/g, (_m, pt: string) => `font-size: ${Math.round(parseFloat(pt) * ratio)}px`)
}

function fillColor(fill: unknown): string | undefined {
  const f = fill as { type?: string, value?: unknown } | null | undefined
  return f?.type === 'color' && typeof f.value === 'string' && f.value ? f.value : undefined
}

function background(slide: PptxSlide): SlideBackground {
  const fill = slide.fill
  if (fill?.type === 'image') return { type: 'image', image: { src: fill.value.base64, size: 'cover' } }
  if (fill?.type === 'gradient') {
    return {
      type: 'gradient',
      gradient: { type: fill.value.path === 'line' ? 'linear' : 'radial', colors: fill.value.colors.map(c => ({ color: c.color, pos: parseInt(c.pos, 10) })), rotate: fill.value.rot },
    }
  }
  return { type: 'solid', color: fillColor(fill) || '#fff' }
}

const CHART_TYPES: Record<string, string> = { barChart: 'bar', bar3DChart: 'bar', lineChart: 'line', line3DChart: 'line', areaChart: 'area', area3DChart: 'area', pieChart: 'pie', pie3DChart: 'pie', doughnutChart: 'ring', radarChart: 'radar', scatterChart: 'scatter' }

function convertElements(elements: PptxElement[], ratio: number, theme: SlideTheme, dx = 0, dy = 0): PPTElement[] {
  const out: PPTElement[] = []
  for (const el of [...elements].sort((a, b) => a.order - b.order)) {
    const left = ((el.left || 0) + dx) * ratio
    const top = ((el.top || 0) + dy) * ratio
    const width = (el.width || 1) * ratio
    const height = (el.height || 1) * ratio
    const base = { id: newId(), left, top, width, height, rotate: 'rotate' in el ? el.rotate || 0 : 0 }
    if (el.type === 'group' || el.type === 'diagram') {
      out.push(...convertElements(el.elements as PptxElement[], ratio, theme, (el.left || 0) + dx, (el.top || 0) + dy))
    }
    else if (el.type === 'text') {
      const text: TextElement = {
        ...base, type: 'text', content: convertText(el.content, ratio), defaultFontName: theme.fontName, defaultColor: theme.fontColor,
        lineHeight: 1, vAlign: el.vAlign === 'mid' ? 'middle' : el.vAlign === 'down' ? 'bottom' : 'top',
      }
      const fill = fillColor(el.fill)
      if (fill) text.fill = fill
      out.push(text)
    }
    else if (el.type === 'shape') {
      const hasText = /<[^>]+>[^<\s]/.test(el.content || '')
      out.push({
        ...base, type: 'shape',
        viewBox: [el.pathViewBox?.width || el.width || 1, el.pathViewBox?.height || el.height || 1],
        path: el.path || `M 0 0 L ${el.width} 0 L ${el.width} ${el.height} L 0 ${el.height} Z`,
        fixedRatio: false,
        fill: fillColor(el.fill) || 'transparent',
        ...(el.borderWidth ? { outline: { width: el.borderWidth * ratio, color: el.borderColor, style: el.borderType } } : {}),
        ...(hasText ? { text: { content: convertText(el.content, ratio), defaultFontName: theme.fontName, defaultColor: theme.fontColor, align: el.vAlign === 'mid' ? 'middle' : el.vAlign === 'down' ? 'bottom' : 'top', lineHeight: 1 } } : {}),
      })
    }
    else if (el.type === 'image' && el.base64) {
      out.push({ ...base, type: 'image', fixedRatio: true, src: el.base64 })
    }
    else if (el.type === 'math' && el.picBase64) {
      out.push({ ...base, type: 'image', fixedRatio: true, src: el.picBase64 })
    }
    else if (el.type === 'table') {
      const total = el.colWidths.reduce((a, b) => a + b, 0) || 1
      const data: TableCell[][] = el.data.map(row => row.map(cell => ({
        id: newId(), colspan: cell.colSpan || 1, rowspan: cell.rowSpan || 1,
        text: cell.text.replace(/<\/p>\s*<p[^>]*>/g, '\n').replace(/<[^>]+>/g, '').replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'),
        style: { ...(cell.fontBold ? { bold: true } : {}), ...(cell.fontColor ? { color: cell.fontColor } : {}), ...(cell.fillColor ? { backcolor: cell.fillColor } : {}) },
      })))
      out.push({ ...base, type: 'table', outline: { width: 1, color: '#999999', style: 'solid' }, colWidths: el.colWidths.map(w => w / total), cellMinHeight: 36, data })
    }
    else if (el.type === 'chart' && el.chartType !== 'scatterChart' && el.chartType !== 'bubbleChart') {
      const items = el.data as ChartItem[]
      const chart: ChartElement = {
        ...base, type: 'chart', chartType: CHART_TYPES[el.chartType] ?? 'bar', themeColors: el.colors?.length ? el.colors : theme.themeColors,
        data: {
          labels: items[0] ? items[0].values.map(v => items[0].xlabels[v.x] ?? v.x) : [],
          legends: items.map(i => i.key),
          series: items.map(i => i.values.map(v => v.y)),
        },
      }
      out.push(chart)
    }
    else if (el.type === 'video' || el.type === 'audio') {
      out.push({ ...base, type: el.type })
    }
  }
  return out
}

export function useImportPptx() {
  const slidesStore = useSlidesStore()
  const snapshotStore = useSnapshotStore()
  const { theme } = storeToRefs(slidesStore)

  /** Replaces the deck with the .pptx's slides, as one undoable step. Throws when pptxtojson cannot read it. */
  async function importPptx(file: File): Promise<number> {
    const json = await parse(await file.arrayBuffer(), { imageMode: 'base64', videoMode: 'none', audioMode: 'none' })
    if (!json.slides.length) throw new Error('no slides')
    const ratio = 96 / 72
    const slides: Slide[] = json.slides.map(s => ({
      id: newId(),
      elements: convertElements([...s.elements, ...s.layoutElements], ratio, theme.value),
      background: background(s),
      remark: s.note || '',
    }))
    slidesStore.updateSlideIndex(0)
    slidesStore.setSlides(slides, json.themeColors?.length ? { themeColors: json.themeColors } : undefined)
    slidesStore.setViewportSize(json.size.width * ratio)
    slidesStore.setViewportRatio(json.size.height / json.size.width)
    slidesStore.setTitle(file.name.replace(/\.pptx$/i, ''))
    await snapshotStore.addSnapshot()
    return slides.length
  }

  return { importPptx }
}
