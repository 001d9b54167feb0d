import { describe, expect, it } from 'vitest'
import { AdaptiveLimit } from '../../server/adaptiveLimit.js'

/** Five calls started at `at`, `at`+1 … `at`+4, each answered (not rate limited) 1000 ms later. */
function callRound(l: AdaptiveLimit, at: number): void {
  for (let t = at; t < at + 5; t++) l.started(t)
  for (let t = at; t < at + 5; t++) l.succeeded(t + 1000, t)
}

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
    // after the hold, the learned window (10 calls per 2040 ms): the call of 0 ms leaves it at 2040,
    // the one of 100 ms at 2140
    expect(l.decide(2000, 0)).toEqual({ ok: false, waitMs: 40, holding: false })
    expect(l.decide(2040, 0).ok).toBe(true)
    l.started(2040)
    expect(l.decide(2100, 1)).toMatchObject({ ok: false, waitMs: 40, holding: false })
    expect(l.decide(2140, 1).ok).toBe(true)
  })

  it('the learned window lets a burst go when it frees, as the upstream\'s sliding window does (not one call per W/R)', () => {
    const l = new AdaptiveLimit({ maxConcurrency: 5, margin: 0 })
    // 5 calls at 0 and 5 at 1000 let through (1000 ms each), the 11th refused; the quota frees at 4000
    callRound(l, 0)
    callRound(l, 1000)
    for (let t = 2000; t < 2005; t++) l.started(t)
    l.rateLimited(2020, 2000, 1980)
    for (let t = 2001; t < 2005; t++) l.rateLimited(2020, t, 1980)
    expect(l.snapshot(2020).spacingMs).toBe(400)
    expect(l.decide(3990, 0)).toEqual({ ok: false, waitMs: 10, holding: true })
    // the refused calls do not count; at 4004 the five of 0–4 ms have left the window: five may start together
    for (let i = 0; i < 5; i++) {
      expect(l.decide(4004, 0).ok).toBe(true)
      l.started(4004)
    }
    // the window holds 10 again (1000–1004 and the five at 4004): the next start when 1000 leaves
    expect(l.decide(4500, 0)).toEqual({ ok: false, waitMs: 500, holding: false })
  })

  it('probes back up: the limit grows by about one per round of successes; one call more per window after two clean windows', () => {
    const l = new AdaptiveLimit({ maxConcurrency: 4, margin: 0 })
    for (let t = 0; t < 4; t++) l.started(t)
    l.rateLimited(10, 3, 1000) // admitted 3 before it, hold until 1010 → 3 calls per 1010 ms
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
    expect(l.snapshot(t).spacingMs).toBeCloseTo(1010 / 4, 1)
    expect(l.snapshot(t).concurrency).toBe(4)
  })

  it('a 429 after a probe puts back the window that held and probes half as often; a 429 at that window slows down', () => {
    const l = new AdaptiveLimit({ maxConcurrency: 4, margin: 0 })
    for (let t = 0; t < 4; t++) l.started(t)
    l.rateLimited(10, 3, 1000)
    let t = 1010
    const clean = (n: number) => {
      for (let i = 0; i < n; i++) {
        l.started(t)
        l.succeeded(t + 100, t)
        t += 400
      }
    }
    clean(6) // two windows of 3: probe with 4
    expect(l.snapshot(t).spacingMs).toBeCloseTo(1010 / 4, 1)
    l.started(t)
    expect(l.rateLimited(t + 10, t, 50)).toBe(t + 60)
    expect(l.snapshot(t + 10).spacingMs).toBeCloseTo(1010 / 3, 1)
    t += 60
    // the next probe needs twice as many successes (12)
    clean(11)
    expect(l.snapshot(t).spacingMs).toBeCloseTo(1010 / 3, 1)
    clean(1)
    expect(l.snapshot(t).spacingMs).toBeCloseTo(1010 / 4, 1)
    // that one held (12 more): 4 becomes the R to fall back to, and the next probe tries 5
    clean(12)
    expect(l.snapshot(t).spacingMs).toBeCloseTo(1010 / 5, 1)
    l.started(t)
    l.rateLimited(t + 10, t, 50)
    expect(l.snapshot(t + 10).spacingMs).toBeCloseTo(1010 / 4, 1)
    t += 60
    // a 429 at the window that held: the quota shrank; one call fewer, the window 5 % longer
    l.started(t)
    l.rateLimited(t + 10, t, 50)
    expect(l.snapshot(t + 10).spacingMs).toBeCloseTo(1010 * 1.05 / 3, 1)
  })

  it('a call counted as let through but refused after the first 429 (it was still in flight) corrects the learned window', () => {
    const l = new AdaptiveLimit({ maxConcurrency: 5, margin: 0 })
    // 5 calls at 0 let through; the next round starts at 1000 while the quota (5 per 4000 ms) is spent
    callRound(l, 0)
    for (let t = 1000; t < 1005; t++) l.started(t)
    // the call of 1003 is answered first: 1000–1002 started before it and are taken as let through
    l.rateLimited(1020, 1003, 2980)
    expect(l.snapshot(1020).spacingMs).toBe(4000 / 8)
    // then they are refused too: the window held 5
    for (const t of [1000, 1001, 1002, 1004]) l.rateLimited(1025, t, 2975)
    expect(l.snapshot(1025).spacingMs).toBe(4000 / 5)
    // the window mirror: 5 starts per 4000 ms, the five of 0–4 ms leave at 4000–4004
    expect(l.decide(4004, 0).ok).toBe(true)
    for (let i = 0; i < 5; i++) l.started(4004)
    expect(l.decide(4100, 0)).toEqual({ ok: false, waitMs: 3904, holding: false })
  })

  it('the concurrency cut never goes below what the learned rate needs (latency ÷ spacing)', () => {
    const l = new AdaptiveLimit({ maxConcurrency: 5, margin: 0 })
    // calls take 1000 ms; 10 let through from 0 to 1000, the quota frees at 4000: a start every 400 ms needs 3 in flight on average
    callRound(l, 0)
    callRound(l, 1000)
    l.started(2000)
    l.rateLimited(2020, 2000, 1980)
    // 1000 ms ÷ 400 ms = 2.5 → 3, + 1 for a freed window's burst
    expect(l.snapshot(2020)).toMatchObject({ spacingMs: 400, concurrency: 4 })
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
