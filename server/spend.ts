// Spend guard: every upstream image call is metered at its list price (server/models.ts via the
// price function passed in) before it starts, with running totals per UTC day, per rolling 10
// minutes and per client per day, kept by a SpendLedger (server/spendLedger.ts): DATA_DIR/spend.json
// for one process (a restart does not reset them), or Redis, shared by every replica (REDIS_URL) so
// N replicas enforce one budget, not N.
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
import type { Resolution } from '../plugin/types/api.js'
import { ApiError } from './errors.js'
import { ProviderError, type GeneratedImage, type ImageProvider } from './providers/types.js'
import { clientWaitMs, FileSpendLedger, globalWaitMs, type Refund, type SpendBudgets, type SpendLedger, type SpendTotals } from './spendLedger.js'

/** USD list price of one image of `model` at `resolution`; null/undefined when unknown (metered as 0). */
export type PriceFn = (model: string, resolution: Resolution) => number | null | undefined

export interface SpendOptions {
  price: PriceFn
  budgetUsdPerDay?: number
  budgetUsdPer10Min?: number
  /** daily budget of named clients (tokens file) */
  clientBudgets?: ReadonlyMap<string, number>
  /** where the totals live (server/engine/setup.ts chooses: DATA_DIR/spend.json, or Redis shared by every replica); default: this process's memory */
  ledger?: SpendLedger
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

const round = (usd: number) => Math.round(usd * 10_000) / 10_000

export class SpendGuard {
  private readonly now: () => number
  readonly ledger: SpendLedger
  /** price of the latest call: /health reports "exhausted" when not even one more such call fits */
  private lastUsd = 0

  constructor(private readonly opts: SpendOptions) {
    this.now = opts.now ?? Date.now
    this.ledger = opts.ledger ?? new FileSpendLedger()
  }

  /** Loads the totals a previous run left (a missing or damaged file starts from zero) or connects the shared ledger. */
  async load(): Promise<void> {
    await this.ledger.load()
  }

  /** how often a waiting page looks again at most (ms) */
  get pollMs(): number {
    return this.opts.pollMs ?? 5000
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
   * Rejects with 429 budget_exhausted (with Retry-After) when a global budget is used up, or the
   * client's own daily budget. Called before accepting a new batch or a retry; `usd` is the price of
   * its next call (the work is refused when not even that one fits now), `size` its size for the
   * message. A budget smaller than `usd` itself can never allow the call: 422 budget_below_price,
   * without Retry-After.
   */
  async admit(client: string | undefined, usd = 0, size?: string): Promise<void> {
    const never = this.belowPrice(client, usd)
    if (never) {
      // waiting never helps: no Retry-After (server/budgetFloor.ts warned at start-up)
      const what = `${size ? `one ${size} image` : 'one image'} costs $${usd}`
      throw new ApiError(422, 'budget_below_price', `${what[0].toUpperCase()}${what.slice(1)}, more than ${never}: such a page can never start on this proxy. Choose a smaller size if it costs less, or ask the administrator to raise the budget`, {
        details: [{ path: 'budget', message: never }, { path: 'options.resolution', message: what }],
      })
    }
    const now = this.now()
    const t = await this.ledger.totals(client, now)
    const b = this.budgets(client)
    const wait = globalWaitMs(t, b, usd, now)
    if (wait > 0) throw this.exhausted(wait, this.which(t, usd))
    const own = clientWaitMs(t, b, usd, now)
    if (own > 0) throw this.exhausted(own, `your daily budget of $${(b.clientPerDayUsd ?? 0).toFixed(2)}`)
  }

  /** How long a page whose call does not fit now sleeps before it looks again (ms, ≥ 1); 0 when it fits now. */
  async recheckMs(client: string | undefined, usd: number): Promise<number> {
    return (await this.wait(client, usd)).recheckMs
  }

  /**
   * For a page whose call costs `usd`: `recheckMs` — how long it sleeps before it looks again (ms,
   * ≤ pollMs; 0 when it fits now) — and `resumesInMs` — when the budgets allow it by the totals now
   * (ms; 0 when it fits now, and when no wait can ever allow it: see belowPrice): the rolling 10 minutes' oldest charges leaving the window, or the next
   * UTC midnight for a daily budget, whichever is later. Either ledger (file or Redis) gives the same
   * totals, so the answer is the same on every replica. A refund or a price change may free it earlier.
   */
  async wait(client: string | undefined, usd: number): Promise<{ recheckMs: number; resumesInMs: number }> {
    // no wait helps a call dearer than a whole budget (accepted before the budget was lowered): it goes
    // on to the metered call, which fails it unpaid (budget_below_price) rather than waiting for ever
    if (this.belowPrice(client, usd)) return { recheckMs: 0, resumesInMs: 0 }
    const now = this.now()
    const t = await this.ledger.totals(client, now)
    const resumesInMs = this.waitMs(t, client, usd, now)
    return { recheckMs: resumesInMs <= 0 ? 0 : Math.max(1, Math.min(resumesInMs, this.pollMs)), resumesInMs: Math.max(0, resumesInMs) }
  }

  /**
   * Charges a call costing `usd` now when it fits every budget (checked and charged in one atomic
   * step of the ledger, so concurrent calls — on any replica, with the Redis ledger — cannot all pass
   * before any is charged): returns its refund, or { waitMs } (when to look again) when it does not fit.
   */
  async tryCharge(client: string | undefined, usd: number): Promise<{ refund: Refund } | { waitMs: number }> {
    const now = this.now()
    const r = await this.ledger.tryCharge(client, usd, this.budgets(client), now)
    if ('totals' in r) return { waitMs: this.pollDelay(r.totals, client, usd, now) || 1 }
    this.lastUsd = usd
    return r
  }

  /** Records a call's price whatever the budgets say; returns its refund (tests, and calls already made). */
  async charge(client: string | undefined, usd: number): Promise<Refund> {
    const r = await this.ledger.tryCharge(client, usd, {}, this.now())
    if (!('refund' in r)) throw new Error('a charge without budgets was refused')
    this.lastUsd = usd
    return r.refund
  }

  /** Totals and budgets for /health. */
  async snapshot(): Promise<SpendSnapshot> {
    const now = this.now()
    const t = await this.ledger.totals(undefined, now)
    const wait = globalWaitMs(t, this.budgets(undefined), this.lastUsd, now)
    return {
      today_usd: round(t.dayUsd),
      last_10min_usd: round(t.recent.reduce((a, c) => a + c.usd, 0)),
      budget_usd_per_day: this.opts.budgetUsdPerDay ?? null,
      budget_usd_per_10min: this.opts.budgetUsdPer10Min ?? null,
      exhausted_for_seconds: wait > 0 ? Math.ceil(wait / 1000) : null,
    }
  }

  /** Today's spend of one client (USD). */
  async clientToday(client: string): Promise<number> {
    return round((await this.ledger.totals(client, this.now())).clientUsd)
  }

  /** Resolves once the totals are durable. */
  async flush(): Promise<void> {
    await this.ledger.flush()
  }

  // ---------------------------------------------------------------------------------------------

  /** The budget (described for a message) whose whole amount is below a call costing `usd` — no wait can ever allow it — or null. */
  belowPrice(client: string | undefined, usd: number): string | null {
    if (usd <= 0) return null
    const b = this.budgets(client)
    const EPS = 1e-9
    if (b.per10MinUsd !== undefined && b.per10MinUsd + EPS < usd) return `the proxy's whole budget of $${b.per10MinUsd.toFixed(2)} per 10 minutes (BUDGET_USD_PER_10MIN)`
    if (b.perDayUsd !== undefined && b.perDayUsd + EPS < usd) return `the proxy's whole daily budget of $${b.perDayUsd.toFixed(2)} (BUDGET_USD_PER_DAY)`
    if (b.clientPerDayUsd !== undefined && b.clientPerDayUsd + EPS < usd) return `your whole daily budget of $${b.clientPerDayUsd.toFixed(2)}`
    return null
  }

  private budgets(client: string | undefined): SpendBudgets {
    const own = client !== undefined ? this.opts.clientBudgets?.get(client) : undefined
    return {
      ...(this.opts.budgetUsdPerDay !== undefined ? { perDayUsd: this.opts.budgetUsdPerDay } : {}),
      ...(this.opts.budgetUsdPer10Min !== undefined ? { per10MinUsd: this.opts.budgetUsdPer10Min } : {}),
      ...(own !== undefined ? { clientPerDayUsd: own } : {}),
    }
  }

  private waitMs(t: SpendTotals, client: string | undefined, usd: number, now: number): number {
    const b = this.budgets(client)
    return Math.max(globalWaitMs(t, b, usd, now), clientWaitMs(t, b, usd, now))
  }

  private pollDelay(t: SpendTotals, client: string | undefined, usd: number, now: number): number {
    const wait = this.waitMs(t, client, usd, now)
    return wait <= 0 ? 0 : Math.max(1, Math.min(wait, this.pollMs))
  }

  private exhausted(waitMs: number, what: string): ApiError {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000))
    return new ApiError(429, 'budget_exhausted', `The proxy has used up ${what}; new generations can start again in about ${formatWait(seconds)}`, {
      headers: { 'Retry-After': String(seconds) },
      details: [{ path: 'budget', message: what }],
    })
  }

  private which(t: SpendTotals, usd: number): string {
    const dayBudget = this.opts.budgetUsdPerDay
    if (dayBudget !== undefined && globalWaitMs({ ...t, recent: [] }, { perDayUsd: dayBudget }, usd, this.now()) > 0) return `its daily budget of $${dayBudget.toFixed(2)}`
    return `its budget of $${(this.opts.budgetUsdPer10Min ?? 0).toFixed(2)} per 10 minutes`
  }
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
      let refund: Refund = async () => undefined
      if (usd > 0) {
        const never = guard.belowPrice(req.client, usd)
        if (never) throw new ProviderError('fatal', 'budget_below_price', `One ${req.resolution} image costs $${usd}, more than ${never}: this page can never start on this proxy, so it was not generated and nothing was paid. Ask the administrator`)
        let charged: Awaited<ReturnType<SpendGuard['tryCharge']>>
        try {
          charged = await guard.tryCharge(req.client, usd)
        } catch (err) {
          // the shared ledger is unreachable (Redis down): nothing is charged and nothing is called; the page waits
          throw new ProviderError('retryable', BUDGET_WAIT, `Waiting for the spend ledger (${err instanceof Error ? err.message : String(err)})`, { retryAfterMs: guard.pollMs })
        }
        if ('waitMs' in charged) throw new ProviderError('retryable', BUDGET_WAIT, 'Waiting for the spend budget', { retryAfterMs: charged.waitMs })
        refund = charged.refund
      }
      try {
        return await inner.generate(req)
      } catch (err) {
        // an error answer from the upstream (HTTP status) was not billed
        if (err instanceof ProviderError && err.status !== undefined) await refund().catch(() => undefined)
        throw err
      }
    },
  }
}
