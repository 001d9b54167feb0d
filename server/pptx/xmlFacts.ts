// Facts pptxtojson does not report — which shape is the title placeholder, chart titles, chart category
// labels — read from a .pptx's XML parts (ECMA-376 Part 1: p:ph type="title|ctrTitle",
// c:chartSpace/c:chart/c:title, the first c:cat's c:pt/c:v).
// The parts are parsed with txml, the parser pptxtojson itself uses on the same parts (so it adds no new
// parser to trust): one linear pass per part. Regular expressions like /<p:sp[\s>][\s\S]*?<\/p:sp>/ are
// not used on uploaded XML: with many openings and no closing tag they rescan to the end for each
// opening (quadratic — a 30 KB upload held the event loop for 16 s per slide).
import type JSZip from 'jszip'
import { parse, type tNode } from 'txml/txml'
import { decodeEntities } from './html.js'
import { DeckError } from './inspect.js'

/** A parsed element (txml's tNode). */
export type XmlNode = tNode

export interface SlideXmlFacts {
  /** cNvPr ids of title placeholders */
  titleIds: Set<string>
  /** chart titles in document order */
  chartTitles: string[]
  /** category labels of each chart's first series (pptxtojson misses some, e.g. line charts' c:strLit) */
  chartLabels: string[][]
}

/**
 * More `p:sp` shapes than this on one slide is refused (422 `slide_too_complex`): no real slide has
 * that many (PowerPoint gets unusable long before), and pptxtojson would build an element for each.
 */
export const MAX_SHAPES_PER_SLIDE = 5000

const SLIDE_TYPE = 'application/vnd.openxmlformats-officedocument.presentationml.slide+xml'

/**
 * Parses XML text into elements (comments dropped, whitespace in text kept, entities left encoded).
 * Linear in the text's length. Throws (RangeError) on nesting too deep for the stack.
 */
export function parseXml(xml: string): XmlNode[] {
  return parse(xml, { keepWhitespace: true }).filter((n): n is XmlNode => typeof n !== 'string')
}

/** Every element named `tagName` under `nodes` (at any depth, the nodes themselves included), in document order. */
export function findAll(nodes: (XmlNode | string)[], tagName: string): XmlNode[] {
  const out: XmlNode[] = []
  // An explicit stack, not recursion: depth is the uploader's choice.
  const stack: (XmlNode | string)[] = [...nodes].reverse()
  while (stack.length) {
    const n = stack.pop()!
    if (typeof n === 'string') continue
    if (n.tagName === tagName) out.push(n)
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i])
  }
  return out
}

function child(node: XmlNode | undefined, tagName: string): XmlNode | undefined {
  return node?.children.find((c): c is XmlNode => typeof c !== 'string' && c.tagName === tagName)
}

function ownText(node: XmlNode): string {
  return decodeEntities(node.children.filter((c): c is string => typeof c === 'string').join(''))
}

/** The text of the `a:t` runs under `nodes`, joined, entities decoded. */
export function runText(nodes: (XmlNode | string)[]): string {
  return findAll(nodes, 'a:t').map(ownText).join('')
}

/** cNvPr ids of the `p:sp` shapes (at any depth, e.g. in groups) holding a title placeholder, and how many `p:sp` there are. */
export function titlePlaceholderIds(slide: XmlNode[]): { ids: Set<string>; shapes: number } {
  const ids = new Set<string>()
  const shapes = findAll(slide, 'p:sp')
  for (const sp of shapes) {
    const type = findAll([sp], 'p:ph')[0]?.attributes.type
    if (type !== 'title' && type !== 'ctrTitle') continue
    const id = findAll([sp], 'p:cNvPr')[0]?.attributes.id
    if (id && /^\d+$/.test(id)) ids.add(id)
  }
  return { ids, shapes: shapes.length }
}

/** A chart part's title (c:chartSpace/c:chart/c:title, not the axes' titles) and its first c:cat's labels. */
export function chartFacts(chart: XmlNode[]): { title: string; labels: string[] } {
  const space = chart.find(n => n.tagName === 'c:chartSpace')
  const title = child(child(space, 'c:chart'), 'c:title')
  const cat = findAll(chart, 'c:cat')[0]
  const labels = cat ? findAll([cat], 'c:pt').map(pt => child(pt, 'c:v')).filter((v): v is XmlNode => !!v).map(ownText) : []
  return { title: title ? runText([title]).trim() : '', labels }
}

/** Slide parts named in [Content_Types].xml, by slide number (pptxtojson's order). */
export function slideParts(types: XmlNode[]): string[] {
  const number = (name: string) => {
    if (!name.endsWith('.xml')) return 0
    let i = name.length - 4
    while (i > 0 && name.charCodeAt(i - 1) >= 48 && name.charCodeAt(i - 1) <= 57) i--
    return Number(name.slice(i, name.length - 4)) || 0
  }
  return findAll(types, 'Override')
    .filter(o => o.attributes.ContentType === SLIDE_TYPE && o.attributes.PartName?.startsWith('/'))
    .map(o => o.attributes.PartName!.slice(1))
    .sort((a, b) => number(a) - number(b))
}

function resolvePart(from: string, target: string): string {
  if (target.startsWith('/')) return target.slice(1)
  const parts = from.split('/').slice(0, -1)
  for (const seg of target.split('/')) {
    if (seg === '..') parts.pop()
    else if (seg !== '.') parts.push(seg)
  }
  return parts.join('/')
}

async function partXml(zip: JSZip, name: string): Promise<XmlNode[]> {
  const text = await zip.file(name)?.async('string')
  return text ? parseXml(text) : []
}

/**
 * Facts pptxtojson leaves out, one per slide in pptxtojson's order. Throws DeckError 422
 * `slide_too_complex` (details: slide number, part, shapes, max) for a slide with more than
 * MAX_SHAPES_PER_SLIDE shapes; other errors (unreadable zip, XML nested too deep) propagate.
 */
export async function slideXmlFacts(zip: JSZip): Promise<SlideXmlFacts[]> {
  const parts = slideParts(await partXml(zip, '[Content_Types].xml'))
  const facts: SlideXmlFacts[] = []
  for (const [i, part] of parts.entries()) {
    const slide = await partXml(zip, part)
    const { ids: titleIds, shapes } = titlePlaceholderIds(slide)
    if (shapes > MAX_SHAPES_PER_SLIDE) {
      throw new DeckError(422, 'slide_too_complex', `Slide ${i + 1} (${part}) has ${shapes} shapes; at most ${MAX_SHAPES_PER_SLIDE} are read. Simplify or remove that slide and upload again`,
        [{ slide: i + 1, part, shapes, max_shapes: MAX_SHAPES_PER_SLIDE }])
    }
    const slash = part.lastIndexOf('/') + 1
    const rels = await partXml(zip, `${part.slice(0, slash)}_rels/${part.slice(slash)}.rels`)
    const targets = new Map(findAll(rels, 'Relationship').map(r => [r.attributes.Id ?? '', r.attributes.Target ?? '']))
    const chartTitles: string[] = []
    const chartLabels: string[][] = []
    for (const ref of findAll(slide, 'c:chart')) {
      const id = ref.attributes['r:id']
      if (!id) continue
      const target = targets.get(id)
      const chart = target ? chartFacts(await partXml(zip, resolvePart(part, target))) : { title: '', labels: [] }
      chartTitles.push(chart.title)
      chartLabels.push(chart.labels)
    }
    facts.push({ titleIds, chartTitles, chartLabels })
  }
  return facts
}
