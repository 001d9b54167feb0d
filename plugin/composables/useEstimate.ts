// What a batch will cost and take, shown before the user starts.
import type { Resolution } from '../types/api'

/** Public list prices per image (upstream.md), US dollars. */
export function pricePerImage(resolution: Resolution, model = 'gemini-3-pro-image'): number {
  if (/flash-image/.test(model)) return 0.039
  return resolution === '4K' ? 0.24 : 0.134
}

export interface EstimateInput {
  pages: number
  resolution: Resolution
  model?: string
  /** the proxy runs the offline preview renderer: free */
  preview: boolean
  /** pages generated at once by the proxy */
  concurrency?: number
  styleChain: boolean
}

export interface Estimate {
  cost: number
  seconds: number
  pricePerImage: number
}

// Typical Nano Banana Pro latency per image (upstream.md: 10–30 s, 4K slower).
const SECONDS_PER_IMAGE: Record<Resolution, number> = { '1K': 20, '2K': 25, '4K': 40 }
const PREVIEW_SECONDS_PER_IMAGE = 1

export function estimateBatch(input: EstimateInput): Estimate {
  const price = input.preview ? 0 : pricePerImage(input.resolution, input.model)
  const perImage = input.preview ? PREVIEW_SECONDS_PER_IMAGE : SECONDS_PER_IMAGE[input.resolution]
  const concurrency = Math.max(1, input.concurrency ?? 2)
  let seconds = 0
  if (input.pages > 0) {
    // With the style chain, page 1 runs alone before the rest can start.
    const first = input.styleChain ? 1 : 0
    seconds = first * perImage + Math.ceil((input.pages - first) / concurrency) * perImage
  }
  return { cost: Math.round(input.pages * price * 1000) / 1000, seconds, pricePerImage: price }
}

export function formatCost(cost: number): string {
  return cost.toFixed(2)
}
