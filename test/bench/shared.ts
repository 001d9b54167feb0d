// Pieces both proxy benchmarks use: a percentile, and the fake Gemini in a child process (so its
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
