// Spend guard: every upstream image call is metered at its list price (server/models.ts via the
// price function passed in) before it starts, with running totals per UTC day, per rolling 10
// minutes and per client per day, persisted in DATA_DIR/spend.json so a restart does not reset them.
//
// Enforcement:
// - BUDGET_USD_PER_DAY / BUDGET_USD_PER_10MIN (Google's tier-1 cap is $10 per 10 min): a new batch
//   or a page retry beyond them gets 429 `budget_exhausted` with Retry-After (admit()).
// - a client's own daily budget (tokens file): its new batches and retries get 429 `budget_exhausted`.
// - a page already queued whose call does not fit (either kind of budget) waits — it does not fail
//   and holds no upstream slot: the batch engine asks recheckMs() before it claims the page and puts
//   the job back as a delayed one; meteredProvider() charges atomically (tryCharge) and, when
//   concurrent calls raced past that check, throws BUDGET_WAIT so the page goes back the same way.
// A call that the upstream answered with an error status is refunded (nothing was billed); a call
// that timed out or was cancelled stays charged (the upstream may have finished it).
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Resolution } from '../plugin/types/api.js'
import { ApiError } from './errors.js'
import { ProviderError, type GeneratedImage, type ImageProvider } from './providers/types.js'
import { writeFileAtomic } from './storage.js'

/** USD list price of one image of `model` at `resolution`; null/undefined when unknown (metered as 0). */
export type PriceFn = (model: string, resolution: Resolution) => number | null | undefined

export interface SpendOptions {
  price: PriceFn
  budgetUsdPerDay?: number
  budgetUsdPer10Min?: number
  /** daily budget of named clients (tokens file) */
  clientBudgets?: ReadonlyMap<string, number>
  /** persistence (DATA_DIR/spend.json); none in tests that do not need it */
  file?: string
  now?: () => number
  /** how often a page waiting for budget looks again at most (default 5 s; a refund may free budget early) */
  pollMs?: number
}

export interface SpendSnapshot {
  today_usd: number
  last_10min_usd: number
  budget_usd_per_day: number | null
  budget_usd_per_10min: number | null
  /** seconds until new work is accepted again, when a budget is exhausted now */
  exhausted_for_seconds: number | null
}

const WINDOW_MS = 10 * 60_000
const round = (usd: number) => Math.round(usd * 10_000) / 10_000

interface Charge {
  at: number
  usd: number
  client: string
}

interface Persisted {
  day: string
  day_usd: number
  by_client: Record<string, number>
  recent: Charge[]
}

export class SpendGuard {
  private readonly now: () => number
  private day = ''
  private dayUsd = 0
  private byClient = new Map<string, number>()
  private recent: Charge[] = []
  private saving: Promise<void> | null = null
  private dirty = false
  /** price of the latest call: /health reports "exhausted" when not even one more such call fits */
  private lastUsd = 0

  constructor(private readonly opts: SpendOptions) {
    this.now = opts.now ?? Date.now
    this.day = utcDay(this.now())
  }

  /** Loads the totals a previous run left (a missing or damaged file starts from zero). */
  async load(): Promise<void> {
    if (!this.opts.file) return
    try {
      const p = JSON.parse(await fs.readFile(this.opts.file, 'utf8')) as Partial<Persisted>
      if (typeof p.day === 'string' && typeof p.day_usd === 'number') {
        this.day = p.day
        this.dayUsd = p.day_usd
        this.byClient = new Map(Object.entries(p.by_client ?? {}).filter(([, v]) => typeof v === 'number'))
      }
      if (Array.isArray(p.recent)) this.recent = p.recent.filter(c => c && typeof c.at === 'number' && typeof c.usd === 'number').map(c => ({ at: c.at, usd: c.usd, client: String(c.client ?? '') }))
    } catch {
      // first start, or a damaged file: start from zero
    }
    this.roll()
  }

  /** true when any budget is set (global or a client's own) */
  get hasBudgets(): boolean {
    return this.opts.budgetUsdPerDay !== undefined || this.opts.budgetUsdPer10Min !== undefined || (this.opts.clientBudgets?.size ?? 0) > 0
  }

  /** Price of one call (0 when unknown). */
  priceOf(model: string, resolution: Resolution): number {
    const p = this.opts.price(model, resolution)
    return typeof p === 'number' && p > 0 ? p : 0
  }

  /**
   * 429 budget_exhausted (with Retry-After) when a global budget is used up, or the client's own daily
   * budget. Called before accepting a new batch or a retry; `usd` is the price of its next call (the
   * work is refused when not even that one fits now).
   */
  admit(client: string | undefined, usd = 0): void {
    const wait = this.globalWaitMs(usd)
    if (wait > 0) throw this.exhausted(wait, this.which(usd))
    const own = this.clientWaitMs(client, usd)
    if (own > 0) throw this.exhausted(own, `your daily budget of $${(this.opts.clientBudgets?.get(client!) ?? 0).toFixed(2)}`)
  }

  /** ms until a call of `client` costing `usd` fits both global budgets and the client's own daily budget (0: now). */
  callWaitMs(client: string | undefined, usd: number): number {
    return Math.max(this.globalWaitMs(usd), this.clientWaitMs(client, usd))
  }

  /** How long a page whose call does not fit now sleeps before it looks again (ms, ≥ 1); 0 when it fits now. */
  recheckMs(client: string | undefined, usd: number): number {
    const wait = this.callWaitMs(client, usd)
    return wait <= 0 ? 0 : Math.max(1, Math.min(wait, this.opts.pollMs ?? 5000))
  }

  /**
   * Charges a call costing `usd` now when it fits every budget (checked and charged in the same tick,
   * so concurrent calls cannot all pass before any is charged): returns its refund function, or null
   * when it does not fit (nothing charged).
   */
  tryCharge(client: string | undefined, usd: number): (() => void) | null {
    return this.callWaitMs(client, usd) > 0 ? null : this.charge(client, usd)
  }

  /** Records a call's price; returns a function that takes it back (the upstream billed nothing). */
  charge(client: string | undefined, usd: number): () => void {
    this.roll()
    const c: Charge = { at: this.now(), usd, client: client ?? '' }
    this.lastUsd = usd
    this.recent.push(c)
    this.dayUsd += usd
    if (client) this.byClient.set(client, (this.byClient.get(client) ?? 0) + usd)
    this.save()
    let refunded = false
    return () => {
      if (refunded) return
      refunded = true
      const i = this.recent.indexOf(c)
      if (i >= 0) this.recent.splice(i, 1)
      if (utcDay(c.at) === this.day) {
        this.dayUsd = Math.max(0, this.dayUsd - usd)
        if (client) this.byClient.set(client, Math.max(0, (this.byClient.get(client) ?? 0) - usd))
      }
      this.save()
    }
  }

  snapshot(): SpendSnapshot {
    this.roll()
    const wait = this.globalWaitMs(this.lastUsd)
    return {
      today_usd: round(this.dayUsd),
      last_10min_usd: round(this.windowUsd()),
      budget_usd_per_day: this.opts.budgetUsdPerDay ?? null,
      budget_usd_per_10min: this.opts.budgetUsdPer10Min ?? null,
      exhausted_for_seconds: wait > 0 ? Math.ceil(wait / 1000) : null,
    }
  }

  /** Today's spend of one client (USD). */
  clientToday(client: string): number {
    this.roll()
    return round(this.byClient.get(client) ?? 0)
  }

  /** Resolves once the totals are on disk. */
  async flush(): Promise<void> {
    while (this.saving) await this.saving
  }

  // ---------------------------------------------------------------------------------------------

  private exhausted(waitMs: number, what: string): ApiError {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000))
    return new ApiError(429, 'budget_exhausted', `The proxy has used up ${what}; new generations can start again in about ${formatWait(seconds)}`, {
      headers: { 'Retry-After': String(seconds) },
      details: [{ path: 'budget', message: what }],
    })
  }

  private which(usd: number): string {
    const dayBudget = this.opts.budgetUsdPerDay
    if (dayBudget !== undefined && this.dayUsd + usd > dayBudget) return `its daily budget of $${dayBudget.toFixed(2)}`
    return `its budget of $${(this.opts.budgetUsdPer10Min ?? 0).toFixed(2)} per 10 minutes`
  }

  /** ms until a call costing `usd` fits both global budgets (0: now). A zero-cost admission check is "over" only when at or past a limit. */
  private globalWaitMs(usd: number): number {
    this.roll()
    let wait = 0
    const day = this.opts.budgetUsdPerDay
    if (day !== undefined && (usd > 0 ? this.dayUsd + usd > day + 1e-9 : this.dayUsd >= day - 1e-9)) wait = Math.max(wait, this.msToNextDay())
    const win = this.opts.budgetUsdPer10Min
    if (win !== undefined) {
      let total = this.windowUsd()
      const over = () => (usd > 0 ? total + usd > win + 1e-9 : total >= win - 1e-9)
      if (over()) {
        // the earliest moment enough old charges have left the window
        const now = this.now()
        for (const c of this.recent) {
          total -= c.usd
          if (!over()) {
            wait = Math.max(wait, c.at + WINDOW_MS - now + 1)
            break
          }
        }
        if (over()) wait = Math.max(wait, WINDOW_MS)
      }
    }
    return wait
  }

  /** ms until the client's own daily budget allows a call costing `usd` (0: now, or no own budget). */
  private clientWaitMs(client: string | undefined, usd: number): number {
    const own = client !== undefined ? this.opts.clientBudgets?.get(client) : undefined
    if (own === undefined) return 0
    this.roll()
    const spent = this.byClient.get(client!) ?? 0
    const over = usd > 0 ? spent + usd > own + 1e-9 : spent >= own - 1e-9
    return over ? this.msToNextDay() : 0
  }

  private windowUsd(): number {
    return this.recent.reduce((a, c) => a + c.usd, 0)
  }

  private msToNextDay(): number {
    const now = this.now()
    const d = new Date(now)
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - now
  }

  /** Drops charges older than the window and starts a new day at UTC midnight. */
  private roll(): void {
    const now = this.now()
    const cutoff = now - WINDOW_MS
    while (this.recent.length && this.recent[0].at <= cutoff) this.recent.shift()
    const today = utcDay(now)
    if (today !== this.day) {
      this.day = today
      this.dayUsd = 0
      this.byClient.clear()
    }
  }

  private save(): void {
    if (!this.opts.file) return
    this.dirty = true
    if (this.saving) return
    const file = this.opts.file
    this.saving = (async () => {
      try {
        while (this.dirty) {
          this.dirty = false
          const data: Persisted = { day: this.day, day_usd: this.dayUsd, by_client: Object.fromEntries(this.byClient), recent: this.recent }
          await fs.mkdir(path.dirname(file), { recursive: true })
          await writeFileAtomic(file, JSON.stringify(data))
        }
      } catch {
        // the next charge tries again; totals stay right in memory
      } finally {
        this.saving = null
      }
    })()
  }
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

function formatWait(seconds: number): string {
  if (seconds < 120) return `${seconds} s`
  if (seconds < 7200) return `${Math.ceil(seconds / 60)} min`
  return `${Math.ceil(seconds / 3600)} h`
}

/** Code of the ProviderError a metered call throws when its budget does not allow it now (the page waits, it does not fail). */
export const BUDGET_WAIT = 'budget_wait'

/**
 * A provider that charges each call at list price before it starts (so concurrent calls cannot
 * overshoot together) and refunds a call the upstream answered with an error status. A call that
 * does not fit the budgets (global or the client's own) is not made: it throws a retryable
 * ProviderError with code BUDGET_WAIT and retryAfterMs = when to look again, which the page runner
 * turns into a wait that holds no upstream slot. The request's `client` is the batch owner.
 */
export function meteredProvider(inner: ImageProvider, guard: SpendGuard): ImageProvider {
  return {
    name: inner.name,
    model: inner.model,
    async generate(req): Promise<GeneratedImage> {
      const usd = guard.priceOf(inner.model, req.resolution)
      let refund: () => void = () => undefined
      if (usd > 0) {
        const charged = guard.tryCharge(req.client, usd)
        if (!charged) throw new ProviderError('retryable', BUDGET_WAIT, 'Waiting for the spend budget', { retryAfterMs: guard.recheckMs(req.client, usd) || 1 })
        refund = charged
      }
      try {
        return await inner.generate(req)
      } catch (err) {
        // an error answer from the upstream (HTTP status) was not billed
        if (err instanceof ProviderError && err.status !== undefined) refund()
        throw err
      }
    },
  }
}
