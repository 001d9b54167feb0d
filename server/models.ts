// The model catalogue: every image model id the proxy knows, with what it accepts (sizes, aspect
// ratios, reference images), its list price per image and whether it still exists. One table, so
// the providers, the start-up check, the spend guard, metrics and GET /api/v1/models agree.
//
// Sources (as of 2026-11-30): the Gemini API deprecations and pricing pages and the image-generation
// guide, summarised in shared/design/upstream.md §0, §1 and §3. Nano Banana 2 prices are third-party
// figures (upstream.md §0 says to check the pricing page); OpenAI prices are not recorded here and
// show as unknown (set PRICE_PER_IMAGE_USD to give one).
import type { AspectRatio, CatalogueModel, ModelSizeInfo, ModelsResponse, ProviderName, Resolution } from '../plugin/types/api.js'

/** Image sizes a model may accept upstream. The proxy's batches use 1K / 2K / 4K (Resolution). */
export type ImageSize = '0.5K' | Resolution

export type ModelFamily = 'gemini-image' | 'gpt-image' | 'dall-e' | 'preview'

export type ModelStatus = 'current' | 'retired'

export interface ModelInfo {
  /** canonical id as the native API spells it, e.g. `gemini-3-pro-image` */
  id: string
  /** product name, e.g. Nano Banana Pro */
  name: string
  family: ModelFamily
  /** other spellings relays use (OpenRouter: `google/gemini-3-pro-image`) */
  aliases: string[]
  /** sizes the model accepts upstream, smallest first */
  sizes: ImageSize[]
  /** aspect ratios the model draws natively (fixed-size models: only these, see `fixedSize`) */
  aspectRatios: string[]
  /** the model only draws a few fixed pixel sizes; other ratios are cropped by the proxy */
  fixedSize: boolean
  maxReferenceImages: number
  /** list price in US dollars per image by size; a size absent here has an unknown price */
  priceUsd: Partial<Record<ImageSize, number>>
  /** where the price comes from, for the docs and GET /models */
  priceSource: 'list' | 'third-party' | null
  status: ModelStatus
  /** ISO date the model was (or will be) shut down */
  retiredOn?: string
  /** the id to use instead once retired */
  replacement?: string
}

const GEMINI_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9']

export const MODELS: readonly ModelInfo[] = [
  {
    id: 'gemini-3-pro-image', name: 'Nano Banana Pro', family: 'gemini-image', aliases: ['google/gemini-3-pro-image'],
    sizes: ['1K', '2K', '4K'], aspectRatios: GEMINI_RATIOS, fixedSize: false, maxReferenceImages: 14,
    priceUsd: { '1K': 0.134, '2K': 0.134, '4K': 0.24 }, priceSource: 'list', status: 'current',
  },
  {
    id: 'gemini-3.1-flash-image', name: 'Nano Banana 2', family: 'gemini-image', aliases: ['google/gemini-3.1-flash-image'],
    sizes: ['0.5K', '1K', '2K', '4K'], aspectRatios: [...GEMINI_RATIOS, '1:4', '4:1', '1:8', '8:1'], fixedSize: false, maxReferenceImages: 14,
    priceUsd: { '0.5K': 0.045, '1K': 0.067, '2K': 0.101, '4K': 0.151 }, priceSource: 'third-party', status: 'current',
  },
  {
    id: 'gemini-3-pro-image-preview', name: 'Nano Banana Pro (preview)', family: 'gemini-image', aliases: ['google/gemini-3-pro-image-preview'],
    sizes: ['1K', '2K', '4K'], aspectRatios: GEMINI_RATIOS, fixedSize: false, maxReferenceImages: 14,
    priceUsd: { '1K': 0.134, '2K': 0.134, '4K': 0.24 }, priceSource: 'list', status: 'retired', retiredOn: '2026-06-25', replacement: 'gemini-3-pro-image',
  },
  {
    id: 'gemini-3.1-flash-image-preview', name: 'Nano Banana 2 (preview)', family: 'gemini-image', aliases: ['google/gemini-3.1-flash-image-preview'],
    sizes: ['0.5K', '1K', '2K', '4K'], aspectRatios: [...GEMINI_RATIOS, '1:4', '4:1', '1:8', '8:1'], fixedSize: false, maxReferenceImages: 14,
    priceUsd: {}, priceSource: null, status: 'retired', retiredOn: '2026-06-25', replacement: 'gemini-3.1-flash-image',
  },
  {
    id: 'gemini-2.5-flash-image', name: 'Nano Banana', family: 'gemini-image',
    aliases: ['google/gemini-2.5-flash-image', 'gemini-2.5-flash-image-preview', 'google/gemini-2.5-flash-image-preview'],
    sizes: ['1K'], aspectRatios: GEMINI_RATIOS, fixedSize: false, maxReferenceImages: 3,
    priceUsd: { '1K': 0.039 }, priceSource: 'list', status: 'retired', retiredOn: '2026-10-02', replacement: 'gemini-3.1-flash-image',
  },
  ...['gpt-image-1', 'gpt-image-1-mini', 'gpt-image-1.5'].map((id): ModelInfo => ({
    // three fixed sizes (1536x1024, 1024x1536, 1024x1024); 1K asks for medium quality, 2K for high
    id, name: id.replace('gpt-image-', 'GPT Image ').replace('-mini', ' mini'), family: 'gpt-image', aliases: [`openai/${id}`],
    sizes: ['1K', '2K'], aspectRatios: ['1:1', '3:2', '2:3'], fixedSize: true, maxReferenceImages: 16,
    priceUsd: {}, priceSource: null, status: 'current',
  })),
  {
    id: 'dall-e-3', name: 'DALL·E 3', family: 'dall-e', aliases: ['openai/dall-e-3'],
    sizes: ['1K'], aspectRatios: ['1:1', '7:4', '4:7'], fixedSize: true, maxReferenceImages: 0,
    priceUsd: {}, priceSource: null, status: 'current',
  },
  {
    id: 'preview', name: 'Offline preview renderer', family: 'preview', aliases: [],
    sizes: ['1K', '2K', '4K'], aspectRatios: GEMINI_RATIOS, fixedSize: false, maxReferenceImages: 0,
    priceUsd: { '1K': 0, '2K': 0, '4K': 0 }, priceSource: 'list', status: 'current',
  },
]

/** The proxy's default model (Nano Banana Pro, GA 2026-05-28). */
export const DEFAULT_MODEL = 'gemini-3-pro-image'

const BY_ID = new Map<string, ModelInfo>()
for (const m of MODELS) for (const id of [m.id, ...m.aliases]) BY_ID.set(id.toLowerCase(), m)

/**
 * The catalogue entry for a model id as configured (case-insensitive; `models/…` and relay prefixes
 * such as `google/` are understood), or undefined for an id the catalogue does not know.
 */
export function findModel(id: string): ModelInfo | undefined {
  const key = id.trim().toLowerCase().replace(/^models\//, '')
  return BY_ID.get(key) ?? BY_ID.get(key.replace(/^[a-z0-9-]+\//, ''))
}

/**
 * What the proxy assumes about a model: the catalogue entry, or for an unknown id a conservative
 * guess — 1K/2K/4K for ids that look like Gemini 3+ image models (they pass through and the upstream
 * decides), 1K only otherwise, no known price, status current.
 */
export function modelInfo(id: string): ModelInfo & { known: boolean } {
  const found = findModel(id)
  if (found) return { ...found, known: true }
  const geminiLike = /gemini/i.test(id) && !/gemini-(1|2)(\.\d+)?-/i.test(id)
  const fixed = /(^|\/)(gpt-image-1|dall-e)/i.test(id)
  return {
    id, name: id, known: false,
    family: /gemini/i.test(id) ? 'gemini-image' : /dall-e/i.test(id) ? 'dall-e' : 'gpt-image',
    aliases: [],
    sizes: geminiLike || !fixed ? ['1K', '2K', '4K'] : ['1K'],
    aspectRatios: fixed ? ['1:1', '3:2', '2:3'] : GEMINI_RATIOS,
    fixedSize: fixed,
    maxReferenceImages: geminiLike ? 14 : fixed ? 16 : 1,
    priceUsd: {},
    priceSource: null,
    status: 'current',
  }
}

/** The retired entry for an id, or undefined when the id is current or unknown. */
export function retiredModel(id: string): (ModelInfo & { status: 'retired' }) | undefined {
  const m = findModel(id)
  return m && m.status === 'retired' ? (m as ModelInfo & { status: 'retired' }) : undefined
}

/** One sentence for a retired id: "… was shut down on 2026-06-25; set NANO_BANANA_MODEL=gemini-3-pro-image". */
export function retiredMessage(id: string, modelEnv: string): string | undefined {
  const m = retiredModel(id)
  if (!m) return undefined
  const relayPrefix = /^[a-z0-9-]+\//i.exec(id.trim())?.[0] ?? ''
  const replacement = m.replacement ? `${relayPrefix}${m.replacement}` : undefined
  return `The model "${id}" was shut down on ${m.retiredOn ?? 'an earlier date'}`
    + (replacement ? `; set ${modelEnv}=${replacement} (its replacement)` : `; set ${modelEnv} to a current model`)
}

/**
 * List price in US dollars of one image of `model` at `size`, from the catalogue (upstream.md §0);
 * null when the model or that size's price is unknown. Never guesses.
 */
export function listPriceUsd(model: string, size: ImageSize): number | null {
  const price = findModel(model)?.priceUsd[size]
  return price === undefined ? null : price
}

/** PRICE_PER_IMAGE_USD: one price for every size, or a price per size. */
export type PriceOverride = number | Partial<Record<ImageSize, number>>

/**
 * Price per image in US dollars with the administrator's PRICE_PER_IMAGE_USD applied: the override
 * for that size when it has one, else the list price; null when neither is known.
 */
export function pricePerImageUsd(model: string, size: ImageSize, override?: PriceOverride): number | null {
  if (typeof override === 'number') return override
  const own = override?.[size]
  return own !== undefined ? own : listPriceUsd(model, size)
}

/** Where the price of `size` comes from: the override, the catalogue, or nowhere. */
export function priceSource(model: string, size: ImageSize, override?: PriceOverride): 'override' | 'list' | 'third-party' | null {
  if (typeof override === 'number' || override?.[size] !== undefined) return 'override'
  return listPriceUsd(model, size) === null ? null : findModel(model)?.priceSource ?? null
}

/**
 * Parses PRICE_PER_IMAGE_USD: `0.2` (every size) or `1K=0.134,2K=0.134,4K=0.24`. Throws an Error
 * whose message says what is wrong (config.ts turns it into a ConfigError naming the variable).
 */
export function parsePriceOverride(raw: string): PriceOverride {
  const number = (text: string): number => {
    if (!/^\d+(\.\d+)?$/.test(text)) throw new Error(`"${text}" is not a price in US dollars`)
    const n = Number(text)
    if (n > 100) throw new Error(`${n} US dollars per image is implausible`)
    return n
  }
  if (!raw.includes('=')) return number(raw.trim())
  const out: Partial<Record<ImageSize, number>> = {}
  for (const item of raw.split(',').map(s => s.trim()).filter(Boolean)) {
    const m = /^(0\.5K|1K|2K|4K)\s*=\s*(.+)$/i.exec(item)
    if (!m) throw new Error(`"${item}" should look like 2K=0.134`)
    out[m[1].toUpperCase() as ImageSize] = number(m[2].trim())
  }
  return out
}

/** Upstream call timeouts per size, in ms: 4K images legitimately take longer. */
export type SizeTimeouts = Record<Resolution, number>

export const RESOLUTIONS: readonly Resolution[] = ['1K', '2K', '4K']

/** The sizes of `model` the proxy can request (1K / 2K / 4K); never empty. */
export function proxySizes(model: string): Resolution[] {
  const sizes = modelInfo(model).sizes.filter((s): s is Resolution => (RESOLUTIONS as readonly string[]).includes(s))
  return sizes.length ? sizes : ['1K']
}

/** True when the model draws this aspect ratio natively (otherwise the proxy crops). */
export function drawsAspectRatio(model: string, aspectRatio: AspectRatio): boolean {
  return modelInfo(model).aspectRatios.includes(aspectRatio)
}

// ---- GET /api/v1/models -------------------------------------------------------------------------

export interface DescribeOptions {
  provider: ProviderName
  model: string
  defaultResolution: Resolution
  priceOverride?: PriceOverride
  /** per-size upstream deadlines, ms; absent for the offline preview */
  timeouts?: { timeoutMs: number; timeoutMs4K?: number }
}

/** The GET /api/v1/models body (docs/api.md): the configured model in detail, then the catalogue. */
export function describeModels(opts: DescribeOptions): ModelsResponse {
  const info = modelInfo(opts.model)
  const preview = opts.provider === 'preview'
  const sizes: ModelSizeInfo[] = proxySizes(opts.model).map(size => ({
    size,
    price_usd: preview ? 0 : pricePerImageUsd(opts.model, size, opts.priceOverride),
    price_source: preview ? 'list' : priceSource(opts.model, size, opts.priceOverride),
    timeout_s: opts.timeouts && !preview
      ? Math.round((size === '4K' ? Math.max(opts.timeouts.timeoutMs, opts.timeouts.timeoutMs4K ?? 0) : opts.timeouts.timeoutMs) / 1000)
      : null,
  }))
  const sizeIds = sizes.map(s => s.size)
  return {
    provider: opts.provider,
    model: {
      id: opts.model,
      name: info.name,
      known: info.known,
      status: info.status,
      retired_on: info.retiredOn ?? null,
      replacement: info.replacement ?? null,
      sizes,
      aspect_ratios: info.aspectRatios,
      fixed_size: info.fixedSize,
      max_reference_images: info.maxReferenceImages,
    },
    default_resolution: sizeIds.includes(opts.defaultResolution) ? opts.defaultResolution : sizeIds[sizeIds.length - 1],
    catalogue: MODELS.map((m): CatalogueModel => ({
      id: m.id,
      name: m.name,
      aliases: m.aliases,
      status: m.status,
      retired_on: m.retiredOn ?? null,
      replacement: m.replacement ?? null,
      sizes: m.sizes,
      aspect_ratios: m.aspectRatios,
      price_usd: Object.fromEntries(m.sizes.map(s => [s, m.priceUsd[s] ?? null])),
    })),
  }
}
