// "1-3,5" ⇄ slide indexes, with reasons when the text makes no sense.
import { computed, type Ref } from 'vue'
import type { MessageKey, MessageParams } from '../i18n/messages'

export interface RangeProblem {
  key: MessageKey
  params?: MessageParams
}

export type RangeResult = { ok: true; indexes: number[] } | { ok: false; problem: RangeProblem }

/** Parses 1-based page numbers and ranges ("1-3, 5；7～8") into sorted unique 0-based indexes. */
export function parseSlideRange(text: string, total: number): RangeResult {
  const parts = text.split(/[,，;；\s]+/).map(p => p.trim()).filter(Boolean)
  if (!parts.length) return { ok: false, problem: { key: 'errRangeEmpty' } }
  const pages = new Set<number>()
  for (const part of parts) {
    const match = /^(\d+)(?:\s*[-–~～]\s*(\d+))?$/.exec(part)
    if (!match) return { ok: false, problem: { key: 'errRangeSyntax', params: { part } } }
    const from = Number(match[1])
    const to = match[2] === undefined ? from : Number(match[2])
    if (from > to) return { ok: false, problem: { key: 'errRangeOrder', params: { part } } }
    for (const page of [from, to]) {
      if (page < 1 || page > total) return { ok: false, problem: { key: 'errRangeOut', params: { page, total } } }
    }
    for (let page = from; page <= to; page++) pages.add(page)
  }
  return { ok: true, indexes: [...pages].sort((a, b) => a - b).map(page => page - 1) }
}

/** 0-based indexes → the shortest "1-3,5" text. */
export function formatSlideRange(indexes: number[]): string {
  const pages = [...new Set(indexes)].sort((a, b) => a - b).map(i => i + 1)
  const parts: string[] = []
  for (let i = 0; i < pages.length; i++) {
    let j = i
    while (j + 1 < pages.length && pages[j + 1] === pages[j] + 1) j++
    parts.push(j > i ? `${pages[i]}-${pages[j]}` : String(pages[i]))
    i = j
  }
  return parts.join(',')
}

export function useSlideRange(text: Ref<string>, total: Ref<number>) {
  return computed(() => parseSlideRange(text.value, total.value))
}
