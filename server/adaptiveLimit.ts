// How many upstream calls may be let out, and when: the quota-aware part of the scheduler, as a pure
// state machine (every method takes the time; no timers, no I/O) so the in-memory queue
// (server/queue.ts) and a distributed scheduler can share it.
//
// Three things slow calls down when the upstream says "rate limited" (HTTP 429 / RESOURCE_EXHAUSTED):
//  1. a hold: no call starts before the time the upstream named (Gemini RetryInfo.retryDelay, HTTP
//     Retry-After), or a growing default when it named none — a freed slot no longer goes straight
//     into the next 429;
//  2. AIMD on the concurrency limit: halved on a new 429, +1/limit per success (≈ +1 per round of
//     calls), never above the configured maximum — for relays that limit calls in flight; never below
//     what the learned rate needs (latency ÷ spacing, + 1), or the cut would slow a rate quota further;
//  3. a learned window: the calls the upstream let through between the end of the previous hold (or
//     the first call) and the first 429 (R), and the time from then until the quota frees again (W,
//     plus `margin`: a call reaches the upstream a little later or earlier than it left, and exactly
//     the quota leaves no room). decide() mirrors the upstream's sliding window: a call starts when
//     fewer than R of the calls not refused started in the last W — so when a window frees, R calls
//     may go together, as the upstream allows, not one per W/R. A scheduler that can only space
//     calls (BullMQ's limiter) uses spacing = W/R: also safe, a little slower.
//     Probing back up: after `probeWindows` windows' worth of successes without a 429, one more call
//     per window; a 429 on that trial puts back the R that held and probes half as often (so a batch
//     wastes a call per probe, not one per window). A 429 at an R that held means the quota shrank
//     (another client, a lower tier): one call fewer per window and W 5 % longer. The window is
//     dropped once concurrency alone is slower.
// Only a 429 for a call started after the previous decrease counts as new evidence: the calls that
// were already in flight when the quota ran out answer 429 too, but say nothing new — except that a
// call started before the refused one and counted as let through turns out refused too (R − 1).

export interface AdaptiveLimitOptions {
  /** the configured ceiling (MAX_CONCURRENT_GENERATIONS) */
  maxConcurrency: number
  /** hold after a 429 that names no wait: first this, doubling for each such 429 in a row (default 2000 ms) */
  defaultHoldMs?: number
  /** no hold is longer than this (default 10 min) */
  maxHoldMs?: number
  /** multiplicative decrease of the concurrency limit (default 0.5) */
  decrease?: number
  /** the first probe comes after this many learned windows of successes (default 2); doubles after a probe that hit the quota */
  probeWindows?: number
  /** learned window × (1 + this): room for calls reaching the upstream unevenly (default 0.02) */
  margin?: number
}

/** What the scheduler may do now. */
export interface LimitDecision {
  /** a call may start now */
  ok: boolean
  /** when not ok and not simply full: ms until one may start (hold or learned window) */
  waitMs: number
  /** the wait is a hold after a rate limit (the UI says "waiting for quota") */
  holding: boolean
}

export interface LimitSnapshot {
  /** current concurrency limit (whole calls) */
  concurrency: number
  maxConcurrency: number
  /** ms until the hold ends (0 when not holding) */
  holdMs: number
  /** learned ms between call starts on average (window ÷ calls per window), or null when no rate has been learned (or it was dropped) */
  spacingMs: number | null
  /** 429s answered so far / calls started */
  rateLimited: number
  started: number
}

interface EpochCall {
  startedAt: number
  limited: boolean
}

/** where the window was learned from (so calls refused after it, but started before, correct it) */
interface Learning {
  from: number
  until: number
  admitted: number
  /** start of the refused call it was learned from */
  limitedAt: number
}

/**
 * The whole learned state as plain JSON (ms since the epoch; null for "never"), so several
 * processes can share one AdaptiveLimit kept in a store (server/engine/sharedLimit.ts).
 */
export interface AdaptiveLimitState {
  limit: number
  holdUntil: number
  lastDecreaseAt: number | null
  noInfoStreak: number
  epochStart: number | null
  epoch: EpochCall[]
  /** learned window (ms, margin included) and calls per window; the R that held */
  windowMs: number | null
  windowCalls: number
  baseCalls: number
  cleanSinceChange: number
  /** successes needed before the next probe */
  probeAfter: number
  /** starts of the last calls not refused, oldest first */
  recent: number[]
  learning: Learning | null
  latencyMs: number | null
  started: number
  rateLimited: number
}

/** the learned window counts at most this many calls */
const RECENT_MAX = 256

export class AdaptiveLimit {
  private limit: number
  private holdUntil = 0
  private lastDecreaseAt = -Infinity
  private noInfoStreak = 0
  /** calls started since the epoch began (the last hold's end, or the first call) */
  private epochStart: number | null = null
  private epoch: EpochCall[] = []
  private windowMs: number | null = null
  /** calls per learned window (R); more than baseCalls while a probe is on trial */
  private windowCalls = 1
  private baseCalls = 1
  private cleanSinceChange = 0
  private probeAfter = 1
  /** starts of the last calls not refused, oldest first: what the upstream's window holds */
  private recent: number[] = []
  private learning: Learning | null = null
  private latencyMs: number | null = null
  private counts = { started: 0, rateLimited: 0 }
  private readonly defaultHoldMs: number
  private readonly maxHoldMs: number
  private readonly decrease: number
  private readonly probeWindows: number
  private readonly margin: number

  constructor(readonly opts: AdaptiveLimitOptions) {
    if (!(opts.maxConcurrency >= 1)) throw new RangeError('maxConcurrency must be at least 1')
    this.limit = opts.maxConcurrency
    this.defaultHoldMs = opts.defaultHoldMs ?? 2000
    this.maxHoldMs = opts.maxHoldMs ?? 600_000
    this.decrease = opts.decrease ?? 0.5
    this.probeWindows = opts.probeWindows ?? 2
    this.margin = opts.margin ?? 0.02
  }

  /** The learned state as JSON (see fromState). */
  toState(): AdaptiveLimitState {
    return {
      limit: this.limit, holdUntil: this.holdUntil,
      lastDecreaseAt: Number.isFinite(this.lastDecreaseAt) ? this.lastDecreaseAt : null,
      noInfoStreak: this.noInfoStreak, epochStart: this.epochStart, epoch: this.epoch,
      windowMs: this.windowMs, windowCalls: this.windowCalls, baseCalls: this.baseCalls,
      cleanSinceChange: this.cleanSinceChange, probeAfter: this.probeAfter, recent: this.recent, learning: this.learning,
      latencyMs: this.latencyMs, started: this.counts.started, rateLimited: this.counts.rateLimited,
    }
  }

  /** An AdaptiveLimit that continues from a state saved by toState() (the options are not part of it). */
  static fromState(opts: AdaptiveLimitOptions, state: AdaptiveLimitState): AdaptiveLimit {
    const l = new AdaptiveLimit(opts)
    l.limit = Math.min(opts.maxConcurrency, state.limit)
    l.holdUntil = state.holdUntil
    l.lastDecreaseAt = state.lastDecreaseAt ?? -Infinity
    l.noInfoStreak = state.noInfoStreak
    l.epochStart = state.epochStart
    l.epoch = state.epoch
    // a state saved before the window existed starts learning again
    l.windowMs = state.windowMs ?? null
    l.windowCalls = state.windowCalls ?? 1
    l.baseCalls = state.baseCalls ?? 1
    l.cleanSinceChange = state.cleanSinceChange
    l.probeAfter = state.probeAfter ?? 1
    l.recent = state.recent ?? []
    l.learning = state.learning ?? null
    l.latencyMs = state.latencyMs
    l.counts = { started: state.started, rateLimited: state.rateLimited }
    return l
  }

  /** May a call start at `now` with `running` calls in flight? */
  decide(now: number, running: number): LimitDecision {
    if (now < this.holdUntil) return { ok: false, waitMs: this.holdUntil - now, holding: true }
    if (running >= Math.floor(this.limit)) return { ok: false, waitMs: 0, holding: false }
    const waitMs = this.windowWaitMs(now)
    if (waitMs > 0) return { ok: false, waitMs, holding: false }
    return { ok: true, waitMs: 0, holding: false }
  }

  /** A call started (call after decide() said ok). */
  started(now: number): void {
    this.counts.started++
    if (this.epochStart === null) this.epochStart = now
    this.epoch.push({ startedAt: now, limited: false })
    // a long epoch is learned from its last calls (the state is copied at every step in Redis)
    if (this.epoch.length > RECENT_MAX) {
      this.epoch.shift()
      this.epochStart = this.epoch[0].startedAt
    }
    this.recent.push(now)
    // replicas' clocks and steps interleave: keep the log in order
    if (this.recent.length > 1 && this.recent[this.recent.length - 2] > now) this.recent.sort((a, b) => a - b)
    if (this.recent.length > RECENT_MAX) this.recent.shift()
  }

  /** A call that started at `startedAt` got an answer that was not a rate limit (success or another failure). */
  succeeded(now: number, startedAt: number): void {
    this.noInfoStreak = 0
    const latency = now - startedAt
    this.latencyMs = this.latencyMs === null ? latency : this.latencyMs * 0.8 + latency * 0.2
    this.limit = Math.min(this.opts.maxConcurrency, this.limit + 1 / Math.max(1, this.limit))
    if (this.windowMs === null) return
    this.cleanSinceChange++
    if (this.cleanSinceChange >= this.probeAfter) {
      // the window held for a probe period: keep its R as the fallback and try one call more
      this.cleanSinceChange = 0
      this.baseCalls = this.windowCalls
      this.windowCalls = Math.min(RECENT_MAX, this.windowCalls + 1)
      this.learning = null
      // concurrency alone is the tighter limit now: the learned rate no longer matters
      if (this.latencyMs !== null && this.spacing()! * this.opts.maxConcurrency < this.latencyMs) this.windowMs = null
    }
  }

  /**
   * A call that started at `startedAt` was rate limited at `now`; `retryAfterMs` is the upstream's
   * suggested wait, when it gave one. Returns the time (ms since the epoch of `now`) the hold ends.
   */
  rateLimited(now: number, startedAt: number, retryAfterMs?: number): number {
    this.counts.rateLimited++
    const call = this.epoch.find(c => c.startedAt === startedAt && !c.limited)
    if (call) call.limited = true
    // a refused call does not use the quota
    const i = this.recent.lastIndexOf(startedAt)
    if (i >= 0) this.recent.splice(i, 1)
    let wait: number
    if (retryAfterMs !== undefined && retryAfterMs >= 0) {
      this.noInfoStreak = 0
      wait = retryAfterMs
    } else {
      wait = this.defaultHoldMs * 2 ** Math.min(10, this.noInfoStreak)
      this.noInfoStreak++
    }
    const until = now + Math.min(this.maxHoldMs, wait)
    const fresh = startedAt >= this.lastDecreaseAt
    if (until > this.holdUntil) this.holdUntil = until
    const l = this.learning
    if (!fresh && l && startedAt >= l.from && startedAt < l.limitedAt && l.admitted > 1) {
      // counted as let through (it started before the refused call, but was still in flight): refused too
      l.admitted--
      this.windowCalls = this.baseCalls = l.admitted
      this.probeAfter = l.admitted * this.probeWindows
    }
    if (fresh) {
      this.lastDecreaseAt = now
      // calls let through before the limited one since the epoch began
      const admitted = this.epoch.filter(c => c.startedAt < startedAt && !c.limited).length
      if (this.windowMs !== null && this.windowCalls > this.baseCalls) {
        // a probe went past the quota: back to the R that held, probe half as often
        this.windowCalls = this.baseCalls
        this.probeAfter = Math.min(1000, this.probeAfter * 2)
      } else if (this.windowMs !== null) {
        // the R that held is too many now (the quota shrank, or another client shares it). Not learned
        // from this epoch: since the last hold it spans several windows
        this.windowCalls = this.baseCalls = Math.max(1, this.windowCalls - 1)
        this.windowMs *= 1.05
        this.probeAfter = Math.min(1000, this.probeAfter * 2)
        this.learning = null
      } else if (this.epochStart !== null && admitted > 0) {
        this.windowMs = (this.holdUntil - this.epochStart) * (1 + this.margin)
        this.windowCalls = this.baseCalls = Math.min(RECENT_MAX, admitted)
        this.probeAfter = admitted * this.probeWindows
        this.learning = { from: this.epochStart, until: this.holdUntil, admitted: this.windowCalls, limitedAt: startedAt }
      }
      // the concurrency the learned rate needs stays (a rate quota is not helped by fewer calls in
      // flight): latency ÷ spacing on average, one more for a freed window's burst
      const spacing = this.spacing()
      const needed = spacing !== null && this.latencyMs !== null ? Math.min(this.windowCalls, Math.ceil(this.latencyMs / spacing) + 1) : 1
      this.limit = Math.max(1, Math.floor(this.limit * this.decrease), Math.min(this.opts.maxConcurrency, needed))
      this.cleanSinceChange = 0
      this.epochStart = this.holdUntil
      // calls still in flight belong to the window that just ran out
      this.epoch = []
    }
    return this.holdUntil
  }

  /** Calls per second the upstream is expected to take now (for estimates), or null when unknown. */
  ratePerSecond(): number | null {
    const spacing = this.spacing()
    const byRate = spacing !== null ? 1000 / spacing : Infinity
    const byConcurrency = this.latencyMs !== null && this.latencyMs > 0 ? Math.floor(this.limit) * 1000 / this.latencyMs : Infinity
    const r = Math.min(byRate, byConcurrency)
    return Number.isFinite(r) ? r : null
  }

  snapshot(now: number): LimitSnapshot {
    return {
      concurrency: Math.floor(this.limit),
      maxConcurrency: this.opts.maxConcurrency,
      holdMs: Math.max(0, this.holdUntil - now),
      spacingMs: this.spacing(),
      rateLimited: this.counts.rateLimited,
      started: this.counts.started,
    }
  }

  /** learned ms per call (window ÷ calls per window), or null */
  private spacing(): number | null {
    return this.windowMs === null ? null : this.windowMs / this.windowCalls
  }

  /** ms until the learned window has room for one more start; 0 when it has or none was learned. */
  private windowWaitMs(now: number): number {
    if (this.windowMs === null || this.recent.length < this.windowCalls) return 0
    return Math.max(0, this.recent[this.recent.length - this.windowCalls] + this.windowMs - now)
  }
}
