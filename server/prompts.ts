// The image prompt for one slide: page, deck context, template style, mode, language, references.
// Pure and deterministic — identical input gives an identical prompt (the duplicate-request cache keys on it).
// Instructions are written in English (what the model follows best); the slide's own text is quoted
// verbatim in its language.
import type { AspectRatio, GenerationMode, PageType, TextBoxRect } from '../plugin/types/api.js'
import type { SlideTemplate } from '../plugin/configs/nanoBananaTemplates.js'
import type { ReferenceImage } from './providers/types.js'

export interface PromptInput {
  template: SlideTemplate
  deckTitle: string
  /** every page's title in deck order (deck context) */
  pageTitles: string[]
  page: {
    pageNumber: number; totalPages: number; pageType: PageType; title: string; content: string; notes?: string
    /** the slide's own text boxes (fractions of the slide), when the extension sent them */
    textBoxes?: TextBoxRect[]
  }
  mode: GenerationMode
  language: string
  aspectRatio: AspectRatio
  extraPrompt: string
  /** roles of the reference images that go along, in the order they are sent */
  references: ReferenceImage['role'][]
  /** revision instruction for a page retried with one */
  instruction?: string
}

const LANGUAGES: Record<string, string> = {
  zh: 'Simplified Chinese', 'zh-cn': 'Simplified Chinese', 'zh-hans': 'Simplified Chinese', 'zh-sg': 'Simplified Chinese',
  'zh-tw': 'Traditional Chinese', 'zh-hk': 'Traditional Chinese', 'zh-hant': 'Traditional Chinese',
  en: 'English', ja: 'Japanese', ko: 'Korean', fr: 'French', de: 'German', es: 'Spanish', pt: 'Portuguese',
  it: 'Italian', ru: 'Russian', ar: 'Arabic', vi: 'Vietnamese', th: 'Thai', id: 'Indonesian', nl: 'Dutch', tr: 'Turkish',
}

export function languageName(code: string): string {
  const lower = code.trim().toLowerCase().replace(/_/g, '-')
  return LANGUAGES[lower] ?? LANGUAGES[lower.split('-')[0]] ?? (code.trim() || 'the language of the text below')
}

const PAGE_ROLES: Record<PageType, string> = {
  cover: 'the cover (title slide): a large, confident title with the subtitle below it',
  contents: 'the table of contents: the sections listed clearly, in order',
  transition: 'a section divider: the section title large, little else',
  content: 'a content slide: a clear title and a well-organised body',
  end: 'the closing slide (thanks / questions)',
}

/** Where a slide's own text usually sits, per page type (background mode keeps these areas calm). */
const TEXT_AREAS: Record<PageType, string> = {
  cover: 'a wide central area for the large title and the subtitle under it',
  contents: 'a band across the top for the title and a large area below for the list of sections',
  transition: 'a wide central area for the section title',
  content: 'a band across the top for the title and the large central area for the body',
  end: 'a wide central area for the closing words',
}

const percent = (fraction: number) => `${Math.round(fraction * 100)}%`

/**
 * The slide's own text boxes as areas a model can place: "from 6% to 94% across, 5% to 16% down".
 * At most 12 (the largest first, by area); the rest are small and sit near those.
 */
export function describeTextAreas(boxes: TextBoxRect[]): string[] {
  return [...boxes]
    .sort((a, b) => b.w * b.h - a.w * a.h)
    .slice(0, 12)
    .sort((a, b) => a.y - b.y || a.x - b.x)
    .map(b => `from ${percent(b.x)} to ${percent(b.x + b.w)} across, ${percent(b.y)} to ${percent(b.y + b.h)} down`)
}

const ORIENTATION = (ratio: AspectRatio): string => {
  const [w, h] = ratio.split(':').map(Number)
  return w > h ? 'landscape' : w < h ? 'portrait' : 'square'
}

/**
 * Markdown → plain text lines, so the model sees no syntax to copy: headings' `#`, paired emphasis
 * markers, paired code ticks, quote marks and link syntax go; list bullets become "• ".
 * Page text is plain text (docs/api.md; the extension decodes PPTist's HTML), so `<`, `>` and `&` are
 * characters the user typed and are kept, as are `**kwargs`, `__init__`, a lone backtick and `> 0` at a
 * line's start — maths and code slides must reach the model as written.
 */
export function toPlainText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .split('\n')
    .map(line => line
      .replace(/^\s{0,3}#{1,6}\s+/, '')
      .replace(/^\s*>(?!\s*[\d=<>+-])\s?/, '')
      .replace(/^(\s*)[-*+]\s+/, '$1• ')
      // paired markers around text that starts and ends with a non-space; `__x__` only when x is not an
      // identifier (Python's dunders), `**` never alone (`**kwargs`)
      .replace(/(\*\*|~~)(?=\S)(.+?)(?<=\S)\1/g, '$2')
      .replace(/__(?=\S)(.+?)(?<=\S)__/g, (whole, inner: string) => (/^\w+$/.test(inner) ? whole : inner))
      .replace(/`([^`]+)`/g, '$1')
      .replace(/(^|[\s(])[*_]([^*_\s][^*_]*?)[*_](?=[\s).,;:!?，。；：！？]|$)/g, '$1$2')
      .replace(/[ \t]+$/, ''))
    .filter(line => !/^\s*([-*_=])\1{2,}\s*$/.test(line))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
}

function oneLine(text: string, max = 120): string {
  const flat = toPlainText(text).replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

function quoteBlock(text: string): string {
  return text.split('\n').map(line => (line ? `    ${line}` : '')).join('\n')
}

function referenceLines(refs: PromptInput['references'], instruction: string | undefined): string[] {
  const lines: string[] = []
  refs.forEach((role, i) => {
    const n = i + 1
    if (role === 'template') {
      lines.push(`Image ${n} is the style template. Copy its visual style — colour palette, typography, decorative elements, backgrounds and layout language — but never its text, numbers, logos or content.`)
    }
    else if (role === 'style_chain') {
      lines.push(`Image ${n} is page 1 of this same deck, already designed. Keep exactly the same look so every page belongs to one deck: same palette, fonts, title placement, margins and decorative motifs. Do not copy its text.`)
    }
    else {
      lines.push(`Image ${n} is the previous version of this slide. Keep what works and change it as instructed below.`)
    }
  })
  return lines
}

export function buildPrompt(input: PromptInput): string {
  const { page, template, mode } = input
  const language = languageName(input.language)
  const title = toPlainText(page.title)
  const content = toPlainText(page.content)
  const sections: string[] = []

  // a slide with no text is drawn as a picture: its role line would ask for a title and a body
  const textless = mode === 'full' && !title && !content
  sections.push(textless
    ? `Design one finished presentation slide as a single ${input.aspectRatio} ${ORIENTATION(input.aspectRatio)} image: a slide with no text, a picture in the deck's style.`
    : mode === 'full'
    ? `Design one finished presentation slide as a single ${input.aspectRatio} ${ORIENTATION(input.aspectRatio)} image. It is ${PAGE_ROLES[page.pageType]}.`
    : `Design the background artwork for one presentation slide as a single ${input.aspectRatio} ${ORIENTATION(input.aspectRatio)} image. The slide is ${PAGE_ROLES[page.pageType]}.`)

  const outline = input.pageTitles.map((t, i) => `  ${i + 1}. ${oneLine(t, 80) || '(untitled)'}${i + 1 === page.pageNumber ? '   ← this page' : ''}`)
  sections.push([
    `Deck: "${oneLine(input.deckTitle) || 'Untitled deck'}". This is page ${page.pageNumber} of ${page.totalPages}.`,
    'Pages of the deck:',
    ...outline,
  ].join('\n'))

  sections.push([
    `Template style: ${template.name} (${template.name_en}) — ${template.description_en}; style keyword "${template.metadata.style}".`,
    `Colour scheme: ${template.metadata.color_scheme.join(', ')}.`,
    ...referenceLines(input.references, input.instruction),
  ].join('\n'))

  if (textless) {
    sections.push('Text: this slide has no text. Do not write any words, numbers, captions, logos or watermarks on it.')
  }
  else if (mode === 'full') {
    const text: string[] = []
    if (title) text.push(`Title:\n${quoteBlock(title)}`)
    if (content) text.push(`Body:\n${quoteBlock(content)}`)
    sections.push([
      `Text: render exactly the text below on the slide, in ${language}, and nothing else.`,
      '- Every line must appear, spelled exactly as given, with the same characters and numbers. Nothing missing, nothing added: no extra headings, captions, labels, placeholder or lorem ipsum text, page numbers or footers.',
      '- Do not show markdown or formatting symbols (hash marks, asterisks, backticks). The text is indented below only to set it apart; "•" marks list items and may be drawn as bullets.',
      '- The title is the most prominent text; the body is clearly legible at presentation distance, well organised in the template\'s layout language.',
      ...text,
    ].join('\n'))
  }
  else {
    const topic = oneLine([title, content].filter(Boolean).join(' — '), 300)
    const areas = page.textBoxes?.length ? describeTextAreas(page.textBoxes) : []
    const where = areas.length
      ? `exactly these rectangles of the canvas (measured from the top-left corner): ${areas.join('; ')}. Each must be one calm, even, low-detail tone with strong contrast, with no object, pattern, line or strong shape crossing it`
      : TEXT_AREAS[page.pageType]
    sections.push([
      'Text: NONE. The image must contain no text at all — no letters, words, numbers, captions, logos, signatures or watermarks, in any language.',
      `The slide's own editable title and body (${language}) will be placed on top of this image later. Leave calm, low-detail areas with strong, even contrast where they sit: ${where}. Keep decoration, imagery and strong shapes to the edges and corners.`,
      ...(topic ? [`The page is about (for the mood and imagery only — do not write any of it): ${topic}`] : []),
    ].join('\n'))
  }

  const extra = input.extraPrompt.trim()
  if (extra) sections.push(`Additional wishes from the author: ${oneLine(extra, 1000)}`)

  const instruction = input.instruction?.trim()
  if (instruction) {
    sections.push(input.references.includes('previous')
      ? `Revision: apply this instruction to the previous version (the image marked as previous), changing only what it asks: ${oneLine(instruction, 1000)}`
      : `Revision instruction from the author: ${oneLine(instruction, 1000)}`)
  }

  sections.push('Output: a full-bleed slide filling the whole canvas — no border, frame, device mockup, drop shadow around the slide, or watermark. Crisp, professional presentation design.')
  return sections.join('\n\n')
}
