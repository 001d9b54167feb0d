// Pieces the proxy benchmarks share: a percentile, a batch request, and the fake Gemini in a child process (so its
// work — making and sending realistic images — is not counted against the proxy's CPU or RSS).
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { FakeStats } from '../fakes/common.js'

/** Nearest-rank percentile p (0–100) of values; NaN for none. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

/** Starts test/bench/fakeGeminiProcess.ts with opts (the fake's options as JSON); resolves once it listens. */
export async function startFakeInChild(opts: object) {
  // a profiled bench process (--cpu-prof) has its fake profiled too
  const profile = process.execArgv.filter(a => a.startsWith('--cpu-prof'))
  const child = fork(fileURLToPath(new URL('./fakeGeminiProcess.ts', import.meta.url)), [JSON.stringify(opts)], { execArgv: ['--import', 'tsx', ...profile] })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', m => resolve((m as { url: string }).url))
    child.once('exit', code => reject(new Error(`fake Gemini exited (${code})`)))
  })
  return {
    url,
    stats: () => new Promise<FakeStats>(resolve => {
      child.once('message', m => resolve((m as { stats: FakeStats }).stats))
      child.send('stats')
    }),
    close: () => new Promise<void>(resolve => {
      child.once('exit', () => resolve())
      child.send('close')
    }),
  }
}

/** A batch request of `pages` short pages labelled `label` (slide ids `<label>-<n>`), no style chain. */
export function benchBatch(label: string, pages: number, resolution: '1K' | '2K' | '4K' = '2K') {
  return {
    template_id: 'nano_banana_1', deck_title: `bench ${label}`,
    pages: Array.from({ length: pages }, (_, i) => ({ slide_id: `${label}-${i + 1}`, title: `${label} page ${i + 1}`, content: `Point one\nPoint two ${i + 1}` })),
    options: { resolution, style_chain: false },
  }
}
