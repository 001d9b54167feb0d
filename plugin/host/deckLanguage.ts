// Which language a deck is written in, for the default "text language in images".
import type { Slide } from './types'
import { extractSlideText } from './extractText'

// Han ideographs (with extension A and compatibility forms), kana, hangul and CJK punctuation.
const CJK = /[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff01-\uff60]/g
const LATIN = /[A-Za-z\u00c0-\u024f]/g
// A Chinese character carries about as much as a short English word, so it weighs four Latin
// letters: "用 PyTorch 训练 Transformer 模型" is Chinese, an English deck with a Chinese name is English.
const LATIN_LETTERS_PER_CJK = 4

/** 'zh' when CJK characters dominate the slides' own text (titles and bodies), 'en' otherwise; null without text. */
export function deckTextLanguage(slides: Slide[]): 'zh' | 'en' | null {
  let cjk = 0
  let latin = 0
  for (const slide of slides) {
    const { title, content } = extractSlideText(slide)
    const text = `${title}\n${content}`
    cjk += text.match(CJK)?.length ?? 0
    latin += text.match(LATIN)?.length ?? 0
  }
  if (!cjk && !latin) return null
  return cjk * LATIN_LETTERS_PER_CJK >= latin ? 'zh' : 'en'
}
