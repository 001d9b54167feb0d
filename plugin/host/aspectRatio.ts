import type { AspectRatio } from '../types/api'

const RATIOS: AspectRatio[] = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9']

/** PPTist's viewportRatio (height / width) → the nearest aspect ratio the model supports. */
export function aspectRatioFor(viewportRatio: number): AspectRatio {
  const target = 1 / (viewportRatio > 0 ? viewportRatio : 0.5625)
  let best: AspectRatio = '16:9'
  let bestDiff = Infinity
  for (const ratio of RATIOS) {
    const [w, h] = ratio.split(':').map(Number)
    const diff = Math.abs(Math.log(w / h / target))
    if (diff < bestDiff) {
      best = ratio
      bestDiff = diff
    }
  }
  return best
}
