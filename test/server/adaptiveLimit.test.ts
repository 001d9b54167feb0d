import { describe, expect, it } from 'vitest'
import { AdaptiveLimit } from '../../server/adaptiveLimit.js'

describe('AdaptiveLimit', () => {
  it('lets calls out up to the concurrency limit', () => {
    const l = new AdaptiveLimit({ maxConcurrency: 3 })
    expect(l.decide(0, 0).ok).toBe(true)
    expect(l.decide(0, 2).ok).toBe(true)
    expect(l.decide(0, 3)).toEqual({ ok: false, waitMs: 0, holding: false })
  })

  it('a 429 holds every call until the upstream\'s time, halves the limit once per burst and learns the rate', () => {
    const l = new AdaptiveLimit({ maxConcurrency: 4 })
    // a window of 10 calls: 0, 100, …, 900 ms all accepted; the 11th (at 1000) is refused, quota frees at 2000
    for (let t = 0; t <= 900; t += 100) {
      l.started(t)
      l.succeeded(t + 50, t)
    }
    l.started(1000)
    l.started(1001) // in flight when the quota ran out
    expect(l.rateLimited(1020, 1000, 980)).toBe(2000)
    expect(l.snapshot(1020)).toMatchObject({ concurrency: 2, holdMs: 980, spacingMs: 200 })
    // the call already in flight answers 429 too: no second decrease
    l.rateLimited(1025, 1001, 975)
    expect(l.snapshot(1025).concurrency).toBe(2)
    expect(l.decide(1500, 0)).toEqual({ ok: false, waitMs: 500, holding: true })
    // after the hold: one call, then the learned spacing
    expect(l.decide(2000, 0).ok).toBe(true)
    l.started(2000)
    expect(l.decide(2100, 1)).toMatchObject({ ok: false, waitMs: 100, holding: false })
    expect(l.decide(2200, 1).ok).toBe(true)
  })

  it('probes back up: the limit grows by about one per round of successes; the spacing shrinks after a clean window', () => {
    const l = new AdaptiveLimit({ maxConcurrency: 4, probe: 1.25 })
    for (let t = 0; t < 4; t++) l.started(t)
    l.rateLimited(10, 3, 1000) // admitted 3 before it, hold until 1010 → spacing (1010 - 0) / 3
    const learned = l.snapshot(10).spacingMs!
    expect(learned).toBeCloseTo(336.67, 1)
    expect(l.snapshot(10).concurrency).toBe(2)
    let t = 1010
    for (let i = 0; i < 3; i++) {
      l.started(t)
      l.succeeded(t + 100, t)
      t += 400
    }
    expect(l.snapshot(t).spacingMs).toBeCloseTo(learned / 1.25, 1)
    expect(l.snapshot(t).concurrency).toBe(3)
  })

  it('without a suggested wait the hold starts at defaultHoldMs and doubles for each 429 in a row', () => {
    const l = new AdaptiveLimit({ maxConcurrency: 2, defaultHoldMs: 100, maxHoldMs: 350 })
    l.started(0)
    expect(l.rateLimited(10, 0)).toBe(110)
    l.started(110)
    expect(l.rateLimited(120, 110)).toBe(320)
    l.started(320)
    expect(l.rateLimited(330, 320)).toBe(680) // capped at 350
  })

  it('a state saved as JSON and restored (shared through Redis) continues the same learning', () => {
    const a = new AdaptiveLimit({ maxConcurrency: 4 })
    for (let t = 0; t <= 900; t += 100) {
      a.started(t)
      a.succeeded(t + 50, t)
    }
    a.started(1000)
    a.rateLimited(1010, 1000, 990)
    const b = AdaptiveLimit.fromState({ maxConcurrency: 4 }, JSON.parse(JSON.stringify(a.toState())))
    expect(b.snapshot(1500)).toEqual(a.snapshot(1500))
    expect(b.decide(1500, 0)).toEqual({ ok: false, waitMs: 500, holding: true })
    // the same next steps give the same results: an in-flight 429 is not new evidence in either
    b.started(2000)
    a.started(2000)
    expect(b.rateLimited(2010, 1000)).toBe(a.rateLimited(2010, 1000))
    expect(b.snapshot(2100)).toEqual(a.snapshot(2100))
    expect(b.snapshot(2100).concurrency).toBe(2)
  })
})
