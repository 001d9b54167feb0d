// What a page's plain text holds, read as a designer would: sub-headings, numbered items, bullets,
// paragraphs and tables (the extension sends a table as lines of cells joined by " | ").
import { cleanText } from './text.js'

export type Block =
  | { kind: 'heading'; text: string }
  | { kind: 'bullet'; text: string }
  /** number: the item's own number (1-based), as written (1. 1、 (1) ① 一、 "1 " in a run) */
  | { kind: 'numbered'; text: string; number: number }
  | { kind: 'paragraph'; text: string }
  /** rows[0] is the header row; every row has the same number of cells */
  | { kind: 'table'; rows: string[][] }

const CIRCLED = '①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳'
const CN: Record<string, number> = { 一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9, 十: 10 }
const BULLET = /^\s*(?:[-*+](?=\s)|[•·●▪◦‣○■□◆◇►▶➤✓✔☑])\s*/
/** numbers with their own punctuation: always a numbered item */
const MARKED = /^\s*(?:(\d{1,2})(?:[.)．）](?=\s|\D)|、)|[（(](\d{1,2})[)）]|([①-⑳])|(?:第)?([一二三四五六七八九十])[、.．]|(?:step|no\.?)\s*(\d{1,2})[:：.]?(?=\s))\s*/i
/** a bare number and a space: numbered only inside a run 1, 2, 3 … */
const BARE = /^\s*(\d{1,2})\s+(?=\S)/
const SENTENCE_END = /[。；;.!?！？，,]$/
const CELL_SPLIT = /\s+\|\s+|\t/
const HEADING_PREFIX = /^(?:#{1,4}\s+|【.+】$|(?:方法|步骤|第[一二三四五六七八九十\d]+[步点部分章节]|part|step|方案|阶段)[一二三四五六七八九十\d]*\s*[：:]?)/i

const chars = (s: string) => [...s].length

function markedNumber(line: string): { number: number; rest: string } | null {
  const m = line.match(MARKED)
  if (!m) return null
  const rest = line.slice(m[0].length).trim()
  if (!rest) return null
  const n = m[1] ?? m[2] ?? m[5]
  if (n) return { number: Number(n), rest }
  if (m[3]) return { number: CIRCLED.indexOf(m[3]) + 1, rest }
  return { number: CN[m[4]], rest }
}

function tableRow(line: string): string[] | null {
  const t = line.trim().replace(/^\|\s*/, '').replace(/\s*\|$/, '')
  const cells = t.split(CELL_SPLIT).map(c => c.trim())
  return cells.length >= 2 ? cells : null
}

const isSeparatorRow = (line: string) => /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)+\|?\s*$/.test(line)

/** Plain text → blocks, in order. Every non-empty line ends up in exactly one block. */
export function parseBlocks(content: string): Block[] {
  const lines = cleanText(content).split('\n').map(l => l.trim()).filter(Boolean).filter(l => !isSeparatorRow(l))
  const out: Block[] = []
  let i = 0
  while (i < lines.length) {
    // a table: two or more consecutive rows with the same number of cells
    const first = tableRow(lines[i])
    if (first) {
      const rows = [first]
      let j = i + 1
      for (; j < lines.length; j++) {
        const r = tableRow(lines[j])
        if (!r || r.length !== first.length) break
        rows.push(r)
      }
      if (rows.length >= 2) { out.push({ kind: 'table', rows }); i = j; continue }
    }
    const line = lines[i]
    const marked = markedNumber(line)
    if (marked) { out.push({ kind: 'numbered', text: marked.rest, number: marked.number }); i++; continue }
    const bare = line.match(BARE)
    if (bare) {
      // "1 …", "2 …": a run of consecutive numbers
      const n = Number(bare[1])
      const next = lines[i + 1]?.match(BARE)
      const prev = out[out.length - 1]
      if ((next && Number(next[1]) === n + 1) || (prev?.kind === 'numbered' && prev.number === n - 1)) {
        out.push({ kind: 'numbered', text: line.slice(bare[0].length).trim(), number: n })
        i++
        continue
      }
    }
    const bullet = line.match(BULLET)
    if (bullet) { out.push({ kind: 'bullet', text: line.slice(bullet[0].length).trim() || line }); i++; continue }
    if (isHeading(line, lines[i + 1], out[out.length - 1])) {
      out.push({ kind: 'heading', text: line.replace(/^#{1,4}\s+/, '').replace(/^【(.+)】$/, '$1') })
      i++
      continue
    }
    out.push({ kind: 'bullet', text: line })
    i++
  }
  // one plain line alone is a lead paragraph, not a list
  const plain = out.filter(b => b.kind === 'bullet')
  if (plain.length === 1 && out.length === 1) return [{ kind: 'paragraph', text: plain[0].text }]
  return out
}

function isHeading(line: string, next: string | undefined, prev: Block | undefined): boolean {
  if (!next) return false
  const n = chars(line)
  if (n > 18 || SENTENCE_END.test(line)) return false
  if (/^#{1,4}\s+/.test(line) || /^【.+】$/.test(line)) return true
  if (HEADING_PREFIX.test(line)) return true
  if (/[：:]$/.test(line)) return true
  if (markedNumber(next) || BARE.test(next) || BULLET.test(next)) return n <= 12
  // a short label over longer lines ("口诀" over the rhyme), unless it is one of a list of short lines
  return n <= 8 && chars(next) >= n * 1.8 && prev?.kind !== 'heading' && !(prev && 'text' in prev && chars(prev.text) <= 8)
}

/** A contents page's text: its heading (and a caption such as "CONTENTS"), and the items with their own numbers. */
export interface ContentsModel {
  heading: string
  /** a second heading line such as "CONTENTS" under "目录" */
  caption: string
  items: Array<{ text: string; number: number }>
  /** true when every item brought its own number (then that number is drawn, not ours) */
  ownNumbers: boolean
}

const CONTENTS_WORD = /^(?:目\s*录|目\s*次|contents?|table of contents|agenda|outline|overview|议程|大纲)$/i
const ITEM_NUMBER = /^\s*(?:(\d{1,2})[.、．):：]?|[（(](\d{1,2})[)）]|([①-⑳])|(?:第)?([一二三四五六七八九十])(?:部分|章|节)?[、.．:：]?|part\s*(\d{1,2})[.:：]?)\s*/i

export function parseContents(title: string, content: string, fallbackHeading: string): ContentsModel {
  const lines = cleanText(content).split('\n').map(l => l.trim()).filter(Boolean)
  let heading = title.trim()
  let caption = ''
  const rest: string[] = []
  for (const l of lines) {
    if (CONTENTS_WORD.test(l) && !caption && rest.length === 0) {
      if (!heading) heading = l
      else caption = l
      continue
    }
    rest.push(l)
  }
  if (!heading) heading = fallbackHeading
  // a title that is itself "目录 CONTENTS"
  const parts = heading.split(/\s+/)
  if (!caption && parts.length === 2 && CONTENTS_WORD.test(parts[0]) && CONTENTS_WORD.test(parts[1])) { heading = parts[0]; caption = parts[1] }
  const parsed = rest.map(l => {
    const m = l.match(ITEM_NUMBER)
    const text = m ? l.slice(m[0].length).trim() : ''
    if (!m || !text) return { text: l.replace(BULLET, ''), number: null as number | null }
    const n = m[1] ?? m[2] ?? m[5]
    const number = n ? Number(n) : m[3] ? CIRCLED.indexOf(m[3]) + 1 : CN[m[4]]
    return { text, number }
  })
  const ownNumbers = parsed.length > 0 && parsed.every(p => p.number !== null)
  return {
    heading, caption, ownNumbers,
    // mixed or none: ours (1, 2, 3 …), the items' own numbers taken out so no item shows two
    items: parsed.map((p, i) => ({ text: p.text, number: ownNumbers ? p.number! : i + 1 })),
  }
}

/** What a content page talks about, for choosing its illustration. */
export function topicOf(blocks: Block[]): 'numbers' | 'steps' | 'comparison' | null {
  const text = blocks.map(b => (b.kind === 'table' ? b.rows.flat().join(' ') : b.text)).join('\n')
  const headings = blocks.filter(b => b.kind === 'heading')
  if (headings.length === 2 && /方法|方案|对比|vs|优点|缺点|之前|之后|before|after|pros|cons|[AB]\b/i.test(headings.map(h => h.kind === 'heading' ? h.text : '').join(' '))) return 'comparison'
  if (/对比|比较一下|\bvs\.?\b|versus/i.test(text) && headings.length >= 2) return 'comparison'
  const numbered = blocks.filter(b => b.kind === 'numbered').length
  if (numbered >= 3 || /步骤|第[一二三]步|首先|然后|最后|流程|step\s*\d|→/i.test(text)) return 'steps'
  const figures = text.match(/\d+(?:\.\d+)?\s*(?:%|％|万|亿|倍|元|美元|\$|k\b|m\b)|[$¥€]\s?\d/gi) ?? []
  if (figures.length >= 2) return 'numbers'
  return null
}
