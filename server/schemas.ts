// Input validation at the edge (zod). The shapes mirror plugin/types/api.ts; keep both in step.
import { z } from 'zod'
import type { AspectRatio, GenerationMode, PageType, Resolution } from '../plugin/types/api.js'

export const LIMITS = {
  maxPages: 100,
  /** title + content + notes of one page */
  maxPageTextChars: 8000,
  maxExtraPromptChars: 2000,
  maxInstructionChars: 2000,
  maxDeckTitleChars: 500,
  maxSlideIdChars: 200,
  maxTemplateIdChars: 100,
  maxTextBoxes: 100,
  bodyLimit: '1mb',
}

const PAGE_TYPES = ['cover', 'contents', 'transition', 'content', 'end'] as const satisfies readonly PageType[]
const MODES = ['full', 'background'] as const satisfies readonly GenerationMode[]
const RESOLUTIONS = ['1K', '2K', '4K'] as const satisfies readonly Resolution[]
const ASPECTS = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'] as const satisfies readonly AspectRatio[]

const fraction = z.number().finite().min(0).max(1)

/** One text box of the slide in fractions of the slide (0..1); a box running past the right or bottom edge is clipped to it. */
export const textBoxSchema = z.object({ x: fraction, y: fraction, w: fraction, h: fraction })
  .transform(b => ({ x: b.x, y: b.y, w: Math.min(b.w, 1 - b.x), h: Math.min(b.h, 1 - b.y) }))

export const pageInputSchema = z.object({
  slide_id: z.string().min(1).max(LIMITS.maxSlideIdChars),
  page_type: z.enum(PAGE_TYPES).optional(),
  title: z.string().default(''),
  content: z.string().default(''),
  notes: z.string().optional(),
  text_boxes: z.array(textBoxSchema).max(LIMITS.maxTextBoxes, `At most ${LIMITS.maxTextBoxes} text boxes per page`).optional(),
}).superRefine((page, ctx) => {
  const chars = page.title.length + page.content.length + (page.notes?.length ?? 0)
  if (chars > LIMITS.maxPageTextChars) {
    ctx.addIssue({ code: 'custom', path: ['content'], message: `A page may hold at most ${LIMITS.maxPageTextChars} characters of text (title + content + notes); this one has ${chars}` })
  }
})

export const batchOptionsSchema = z.object({
  aspect_ratio: z.enum(ASPECTS).optional(),
  resolution: z.enum(RESOLUTIONS).optional(),
  mode: z.enum(MODES).optional(),
  language: z.string().min(2).max(20).regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/, 'Expected a language tag like zh, en or zh-CN').optional(),
  extra_prompt: z.string().max(LIMITS.maxExtraPromptChars).optional(),
  style_chain: z.boolean().optional(),
})

export const createBatchSchema = z.object({
  template_id: z.string().min(1).max(LIMITS.maxTemplateIdChars),
  deck_title: z.string().max(LIMITS.maxDeckTitleChars).default(''),
  pages: z.array(pageInputSchema).min(1, 'At least one page is needed').max(LIMITS.maxPages, `At most ${LIMITS.maxPages} pages per batch`),
  options: batchOptionsSchema.optional(),
  /** webhook: POSTed the `done` event and the results when the batch finishes (checked against the proxy's webhook settings) */
  callback_url: z.string().min(1).max(2048).optional(),
}).superRefine((body, ctx) => {
  const seen = new Map<string, number>()
  body.pages.forEach((p, i) => {
    if (seen.has(p.slide_id)) ctx.addIssue({ code: 'custom', path: ['pages', i, 'slide_id'], message: `Duplicate slide_id (also page ${seen.get(p.slide_id)! + 1})` })
    else seen.set(p.slide_id, i)
  })
})

export type CreateBatchInput = z.infer<typeof createBatchSchema>
export type PageInputParsed = z.infer<typeof pageInputSchema>

export const retryPageSchema = z.object({
  instruction: z.string().trim().max(LIMITS.maxInstructionChars).optional(),
})

export type RetryPageInput = z.infer<typeof retryPageSchema>

/** Batch ids are issued by us: anything else cannot exist (and never reaches the file system). */
export const BATCH_ID_RE = /^b_[a-f0-9]{24}$/
export const pageNumberSchema = z.coerce.number().int().min(1).max(LIMITS.maxPages)
