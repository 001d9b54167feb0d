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
//     what the learned rate needs (latency ÷ spacing), or the cut would slow a rate quota further;
//  3. a learned rate: the calls the upstream let through between the end of the previous hold (or
//     the first call) and this 429, spread over the time from then until the quota frees again. For a
//     quota of R calls per sliding window W this is W/R between call starts (plus `margin`: a call
//     reaches the upstream a little later or earlier than it left, and exactly W/R leaves no room).
//     Probing back up: after `probeWindows` learned windows' worth of successes without a 429 the
//     spacing shrinks by `probe`; a 429 after a probe puts back the spacing that held and probes half
//     as often (so a batch wastes a call per probe, not one per window: the first learned spacing is
//     usually right, and each step below it would cost a 429). A 429 at a spacing that held before
//     means the quota shrank (another client, a lower tier): the spacing grows by 10 % at least.
//     The spacing is dropped once concurrency alone is slower.
// Only a 429 for a call started after the previous decrease counts as new evidence: the calls that
// were already in flight when the quota ran out answer 429 too, but say nothing new.

export interface AdaptiveLimitOptions {
  /** the configured ceiling (MAX_CONCURRENT_GENERATIONS) */
  maxConcurrency: number
  /** hold after a 429 that names no wait: first this, doubling for each such 429 in a row (default 2000 ms) */
  defaultHoldMs?: number
  /** no hold is longer than this (default 10 min) */
  maxHoldMs?: number
  /** multiplicative decrease of the concurrency limit (default 0.5) */
  decrease?: number
  /** spacing ÷ this when probing (default 1.05) */
  probe?: number
  /** the first probe comes after this many learned windows of successes (default 2); doubles after a probe that hit the quota */
  probeWindows?: number
  /** learned spacing × (1 + this): room for calls reaching the upstream unevenly (default 0.02) */
  margin?: number
}

/** What the scheduler may do now. */
export interface LimitDecision {
  /** a call may start now */
  ok: boolean
  /** when not ok and not simply full: ms until one may start (hold or spacing) */
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
  /** learned ms between call starts, or null when no rate has been learned (or it was dropped) */
  spacingMs: number | null
  /** 429s answered so far / calls started */
  rateLimited: number
  started: number
}

interface EpochCall {
  startedAt: number
  limited: boolean
}

/**
 * The whole learned state as plain JSON (ms since the epoch; null for "never"), so several
 * processes can share one AdaptiveLimit kept in a store (server/engine/sharedLimit.ts).
 */
export interface AdaptiveLimitState {
  limit: number
  holdUntil: number
  spacing: number | null
  lastStart: number | null
  lastDecreaseAt: number | null
  noInfoStreak: number
  epochStart: number | null
  epoch: EpochCall[]
  cleanSinceChange: number
  learnedWindow: number
  /** the last spacing that held (no 429 for a probe period); absent in states saved before it existed */
  baseSpacing?: number | null
  /** successes needed before the next probe */
  probeAfter?: number
  latencyMs: number | null
  started: number
  rateLimited: number
}

export class AdaptiveLimit {
  private limit: number
  private holdUntil = 0
  private spacing: number | null = null
  private lastStart = -Infinity
  private lastDecreaseAt = -Infinity
  private noInfoStreak = 0
  /** calls started since the epoch began (the last hold's end, or the first call) */
  private epochStart: number | null = null
  private epoch: EpochCall[] = []
  private cleanSinceChange = 0
  /** calls let through in the epoch the spacing was learned from */
  private learnedWindow = 1
  /** the last spacing that held; spacing < baseSpacing while a probe is on trial */
  private baseSpacing: number | null = null
  private probeAfter = 1
  private latencyMs: number | null = null
  private counts = { started: 0, rateLimited: 0 }
  private readonly defaultHoldMs: number
  private readonly maxHoldMs: number
  private readonly decrease: number
  private readonly probe: number
  private readonly probeWindows: number
  private readonly margin: number

  constructor(readonly opts: AdaptiveLimitOptions) {
    if (!(opts.maxConcurrency >= 1)) throw new RangeError('maxConcurrency must be at least 1')
    this.limit = opts.maxConcurrency
    this.defaultHoldMs = opts.defaultHoldMs ?? 2000
    this.maxHoldMs = opts.maxHoldMs ?? 600_000
    this.decrease = opts.decrease ?? 0.5
    this.probe = opts.probe ?? 1.05
    this.probeWindows = opts.probeWindows ?? 2
    this.margin = opts.margin ?? 0.02
  }

  /** The learned state as JSON (see fromState). */
  toState(): AdaptiveLimitState {
    return {
      limit: this.limit, holdUntil: this.holdUntil, spacing: this.spacing,
      lastStart: Number.isFinite(this.lastStart) ? this.lastStart : null,
      lastDecreaseAt: Number.isFinite(this.lastDecreaseAt) ? this.lastDecreaseAt : null,
      noInfoStreak: this.noInfoStreak, epochStart: this.epochStart, epoch: this.epoch,
      cleanSinceChange: this.cleanSinceChange, learnedWindow: this.learnedWindow, baseSpacing: this.baseSpacing,
      probeAfter: this.probeAfter, latencyMs: this.latencyMs,
      started: this.counts.started, rateLimited: this.counts.rateLimited,
    }
  }

  /** An AdaptiveLimit that continues from a state saved by toState() (the options are not part of it). */
  static fromState(opts: AdaptiveLimitOptions, state: AdaptiveLimitState): AdaptiveLimit {
    const l = new AdaptiveLimit(opts)
    l.limit = Math.min(opts.maxConcurrency, state.limit)
    l.holdUntil = state.holdUntil
    l.spacing = state.spacing
    l.lastStart = state.lastStart ?? -Infinity
    l.lastDecreaseAt = state.lastDecreaseAt ?? -Infinity
    l.noInfoStreak = state.noInfoStreak
    l.epochStart = state.epochStart
    l.epoch = state.epoch
    l.cleanSinceChange = state.cleanSinceChange
    l.learnedWindow = state.learnedWindow
    l.baseSpacing = state.baseSpacing ?? state.spacing
    l.probeAfter = state.probeAfter ?? state.learnedWindow
    l.latencyMs = state.latencyMs
    l.counts = { started: state.started, rateLimited: state.rateLimited }
    return l
  }

  /** May a call start at `now` with `running` calls in flight? */
  decide(now: number, running: number): LimitDecision {
    if (now < this.holdUntil) return { ok: false, waitMs: this.holdUntil - now, holding: true }
    if (running >= Math.floor(this.limit)) return { ok: false, waitMs: 0, holding: false }
    if (this.spacing !== null && now < this.lastStart + this.spacing) {
      return { ok: false, waitMs: this.lastStart + this.spacing - now, holding: false }
    }
    return { ok: true, waitMs: 0, holding: false }
  }

  /** A call started (call after decide() said ok). */
  started(now: number): void {
    this.counts.started++
    this.lastStart = now
    if (this.epochStart === null) this.epochStart = now
    this.epoch.push({ startedAt: now, limited: false })
    // a long epoch is learned from its last calls (the state is copied at every step in Redis)
    if (this.epoch.length > 256) {
      this.epoch.shift()
      this.epochStart = this.epoch[0].startedAt
    }
  }

  /** A call that started at `startedAt` got an answer that was not a rate limit (success or another failure). */
  succeeded(now: number, startedAt: number): void {
    this.noInfoStreak = 0
    const latency = now - startedAt
    this.latencyMs = this.latencyMs === null ? latency : this.latencyMs * 0.8 + latency * 0.2
    this.limit = Math.min(this.opts.maxConcurrency, this.limit + 1 / Math.max(1, this.limit))
    if (this.spacing === null) return
    this.cleanSinceChange++
    if (this.cleanSinceChange >= this.probeAfter) {
      // the spacing held for a probe period: keep it as the fallback and try a little faster
      this.cleanSinceChange = 0
      this.baseSpacing = this.spacing
      this.spacing /= this.probe
      // concurrency alone is the tighter limit now: the learned rate no longer matters
      if (this.latencyMs !== null && this.spacing * this.opts.maxConcurrency < this.latencyMs) {
        this.spacing = null
        this.baseSpacing = null
      }
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
    if (fresh) {
      this.lastDecreaseAt = now
      // calls let through before the limited one since the epoch began
      const admitted = this.epoch.filter(c => c.startedAt < startedAt && !c.limited).length
      if (this.spacing !== null && this.baseSpacing !== null && this.spacing < this.baseSpacing) {
        // a probe went past the quota: back to the spacing that held, probe half as often
        this.spacing = this.baseSpacing
        this.probeAfter = Math.min(1000, this.probeAfter * 2)
      } else {
        const learned = this.epochStart !== null && admitted > 0 ? (this.holdUntil - this.epochStart) / admitted * (1 + this.margin) : null
        // the spacing that held is too fast now (the quota shrank): slower by 10 % at least
        const spacing = this.spacing === null ? learned : Math.max(learned ?? 0, this.spacing * 1.1)
        if (spacing !== null) {
          if (this.spacing === null) {
            this.learnedWindow = admitted
            this.probeAfter = admitted * this.probeWindows
          } else this.probeAfter = Math.min(1000, this.probeAfter * 2)
          this.spacing = spacing
          this.baseSpacing = spacing
        }
      }
      // the concurrency the learned rate needs stays (a rate quota is not helped by fewer calls in flight)
      const needed = this.spacing !== null && this.latencyMs !== null ? Math.ceil(this.latencyMs / this.spacing) : 1
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
    const byRate = this.spacing !== null ? 1000 / this.spacing : Infinity
    const byConcurrency = this.latencyMs !== null && this.latencyMs > 0 ? Math.floor(this.limit) * 1000 / this.latencyMs : Infinity
    const r = Math.min(byRate, byConcurrency)
    return Number.isFinite(r) ? r : null
  }

  snapshot(now: number): LimitSnapshot {
    return {
      concurrency: Math.floor(this.limit),
      maxConcurrency: this.opts.maxConcurrency,
      holdMs: Math.max(0, this.holdUntil - now),
      spacingMs: this.spacing,
      rateLimited: this.counts.rateLimited,
      started: this.counts.started,
    }
  }
}
