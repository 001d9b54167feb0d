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
    // 2000 ms for 10 calls, plus the default 2 % margin
    expect(l.snapshot(1020)).toMatchObject({ concurrency: 2, holdMs: 980, spacingMs: 204 })
    // the call already in flight answers 429 too: no second decrease
    l.rateLimited(1025, 1001, 975)
    expect(l.snapshot(1025).concurrency).toBe(2)
    expect(l.decide(1500, 0)).toEqual({ ok: false, waitMs: 500, holding: true })
    // after the hold: one call, then the learned spacing
    expect(l.decide(2000, 0).ok).toBe(true)
    l.started(2000)
    expect(l.decide(2100, 1)).toMatchObject({ ok: false, waitMs: 104, holding: false })
    expect(l.decide(2204, 1).ok).toBe(true)
  })

  it('probes back up: the limit grows by about one per round of successes; the spacing shrinks after two clean windows', () => {
    const l = new AdaptiveLimit({ maxConcurrency: 4, probe: 1.25, margin: 0 })
    for (let t = 0; t < 4; t++) l.started(t)
    l.rateLimited(10, 3, 1000) // admitted 3 before it, hold until 1010 → spacing (1010 - 0) / 3
    const learned = l.snapshot(10).spacingMs!
    expect(learned).toBeCloseTo(336.67, 1)
    expect(l.snapshot(10).concurrency).toBe(2)
    let t = 1010
    for (let i = 0; i < 5; i++) {
      l.started(t)
      l.succeeded(t + 100, t)
      t += 400
    }
    // one learned window (3 calls) is not enough: the first probe waits for two
    expect(l.snapshot(t).spacingMs).toBe(learned)
    l.started(t)
    l.succeeded(t + 100, t)
    expect(l.snapshot(t).spacingMs).toBeCloseTo(learned / 1.25, 1)
    expect(l.snapshot(t).concurrency).toBe(4)
  })

  it('a 429 after a probe puts back the spacing that held and probes half as often; a 429 at that spacing slows down by 10 %', () => {
    const l = new AdaptiveLimit({ maxConcurrency: 4, probe: 1.25, margin: 0 })
    for (let t = 0; t < 4; t++) l.started(t)
    l.rateLimited(10, 3, 1000)
    const learned = l.snapshot(10).spacingMs!
    let t = 1010
    const clean = (n: number) => {
      for (let i = 0; i < n; i++) {
        l.started(t)
        l.succeeded(t + 100, t)
        t += 400
      }
    }
    clean(6) // two windows of 3: probe
    expect(l.snapshot(t).spacingMs).toBeCloseTo(learned / 1.25, 1)
    l.started(t)
    expect(l.rateLimited(t + 10, t, 50)).toBe(t + 60)
    expect(l.snapshot(t + 10).spacingMs).toBe(learned)
    t += 60
    // the next probe needs twice as many successes (12)
    clean(11)
    expect(l.snapshot(t).spacingMs).toBe(learned)
    clean(1)
    expect(l.snapshot(t).spacingMs).toBeCloseTo(learned / 1.25, 1)
    // that one held (12 more): it becomes the spacing to fall back to, and the next probe starts
    clean(12)
    expect(l.snapshot(t).spacingMs).toBeCloseTo(learned / 1.25 / 1.25, 1)
    l.started(t)
    l.rateLimited(t + 10, t, 50)
    expect(l.snapshot(t + 10).spacingMs).toBeCloseTo(learned / 1.25, 1)
    t += 60
    // a 429 at the spacing that held: the quota shrank; slower by 10 %
    l.started(t)
    l.rateLimited(t + 10, t, 50)
    expect(l.snapshot(t + 10).spacingMs).toBeCloseTo(learned / 1.25 * 1.1, 1)
  })

  it('the concurrency cut never goes below what the learned rate needs (latency ÷ spacing)', () => {
    const l = new AdaptiveLimit({ maxConcurrency: 5, margin: 0 })
    // calls take 1000 ms; 10 let through from 0 to 1000, the quota frees at 4000: a start every 400 ms needs 3 in flight
    for (let t = 0; t < 5; t++) l.started(t)
    for (let t = 0; t < 5; t++) l.succeeded(t + 1000, t)
    for (let t = 1000; t < 1005; t++) l.started(t)
    for (let t = 1000; t < 1005; t++) l.succeeded(t + 1000, t)
    l.started(2000)
    l.rateLimited(2020, 2000, 1980)
    expect(l.snapshot(2020)).toMatchObject({ spacingMs: 400, concurrency: 3 })
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
