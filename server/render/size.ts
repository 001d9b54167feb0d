// Output pixel size for an aspect ratio and resolution tier.
// The long edge follows the 16:9 tiers (1K 1376, 2K 2752, 4K 5504); the short edge follows the ratio.
import type { AspectRatio, Resolution } from '../../plugin/types/api.js'

const LONG_EDGE: Record<Resolution, number> = { '1K': 1376, '2K': 2752, '4K': 5504 }

/** 16:9 gives exactly 1376×768 / 2752×1536 / 5504×3072 (the model's sizes), not 1376×774. */
const EXACT: Partial<Record<AspectRatio, Record<Resolution, [number, number]>>> = {
  '16:9': { '1K': [1376, 768], '2K': [2752, 1536], '4K': [5504, 3072] },
}

export function outputSize(aspectRatio: AspectRatio, resolution: Resolution): { width: number; height: number } {
  const exact = EXACT[aspectRatio]?.[resolution]
  if (exact) return { width: exact[0], height: exact[1] }
  const [w, h] = aspectRatio.split(':').map(Number)
  const long = LONG_EDGE[resolution]
  // keep both edges even so downstream encoders and halving stay exact
  const even = (n: number) => Math.max(2, Math.round(n / 2) * 2)
  return w >= h ? { width: long, height: even(long * h / w) } : { width: even(long * w / h), height: long }
}
