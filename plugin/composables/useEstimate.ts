// What a batch will cost and take, shown before the user starts. Prices come from the proxy's
// model catalogue (GET /api/v1/models), so they match the configured model; an unknown price stays
// unknown (null) instead of becoming a wrong number.
import type { ModelsResponse, Resolution } from '../types/api'

/** US dollars per image of the proxy's model at this size; null when unknown (or no catalogue). */
export function pricePerImage(models: ModelsResponse | null | undefined, resolution: Resolution): number | null {
  return models?.model.sizes.find(s => s.size === resolution)?.price_usd ?? null
}

/** The sizes the proxy's model accepts (all three when the proxy does not say). */
export function resolutionsOf(models: ModelsResponse | null | undefined): Resolution[] {
  const sizes = models?.model.sizes.map(s => s.size) ?? []
  return sizes.length ? sizes : ['1K', '2K', '4K']
}

export interface EstimateInput {
  pages: number
  resolution: Resolution
  /** US dollars per image, null when unknown */
  pricePerImage: number | null
  /** the proxy runs the offline preview renderer: free */
  preview: boolean
  /** pages generated at once by the proxy */
  concurrency?: number
  styleChain: boolean
}

export interface Estimate {
  /** US dollars, null when the price per image is unknown */
  cost: number | null
  seconds: number
  pricePerImage: number | null
}

// Typical Nano Banana Pro latency per image (upstream.md: 10–30 s, 4K slower).
const SECONDS_PER_IMAGE: Record<Resolution, number> = { '1K': 20, '2K': 25, '4K': 40 }
const PREVIEW_SECONDS_PER_IMAGE = 1

export function estimateBatch(input: EstimateInput): Estimate {
  const price = input.preview ? 0 : input.pricePerImage
  const perImage = input.preview ? PREVIEW_SECONDS_PER_IMAGE : SECONDS_PER_IMAGE[input.resolution]
  const concurrency = Math.max(1, input.concurrency ?? 2)
  let seconds = 0
  if (input.pages > 0) {
    // With the style chain, page 1 runs alone before the rest can start.
    const first = input.styleChain ? 1 : 0
    seconds = first * perImage + Math.ceil((input.pages - first) / concurrency) * perImage
  }
  const cost = price === null ? null : Math.round(input.pages * price * 1000) / 1000
  return { cost, seconds, pricePerImage: price }
}

export function formatCost(cost: number): string {
  return cost.toFixed(2)
}
