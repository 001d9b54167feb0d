// The spend ledger seam: where the running totals live (today's UTC total, the charges of the rolling
// 10 minutes, each client's total today) and the one atomic step "charge this call if it fits every
// budget". Two implementations, chosen in server/engine/setup.ts:
// - FileSpendLedger (here): this process's memory, persisted in DATA_DIR/spend.json (one replica);
// - RedisSpendLedger (server/redisSpendLedger.ts): shared by every replica (REDIS_URL).
// The budget arithmetic (does a call fit, how long until it does) is written once, as the pure
// functions below; SpendGuard (server/spend.ts) turns their answers into 429s and waits.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from './storage.js'

export const WINDOW_MS = 10 * 60_000

/** The totals a budget decision needs, at one moment. */
export interface SpendTotals {
  /** today's (UTC) spend, USD */
  dayUsd: number
  /** the charges of the rolling 10 minutes, oldest first (at: ms since the epoch) */
  recent: ReadonlyArray<{ at: number; usd: number }>
  /** the client's spend today, USD (0 without a client) */
  clientUsd: number
}

/** Budgets in USD; absent: no limit. */
export interface SpendBudgets {
  perDayUsd?: number
  per10MinUsd?: number
  /** the client's own daily budget (tokens file) */
  clientPerDayUsd?: number
}

/** Takes a charge back (the upstream billed nothing); calling it twice is harmless. */
export type Refund = () => Promise<void>

export interface SpendLedger {
  /** Loads what a previous run left (file) or connects (Redis); call once before use. */
  load(): Promise<void>
  /** The totals at `now` (ms); `client` selects clientUsd. */
  totals(client: string | undefined, now: number): Promise<SpendTotals>
  /**
   * In one atomic step: when a call of `client` costing `usd` fits `budgets` at `now`, charges it and
   * returns its refund; otherwise charges nothing and returns the totals it was checked against.
   * Concurrent calls (in this process or, for Redis, on any replica) cannot all pass before any is charged.
   */
  tryCharge(client: string | undefined, usd: number, budgets: SpendBudgets, now: number): Promise<{ refund: Refund } | { totals: SpendTotals }>
  /** Resolves once the totals are durable (file) — no-op for Redis. */
  flush(): Promise<void>
  close(): Promise<void>
}

const EPS = 1e-9

/** The UTC day of `ms`, e.g. "2026-12-01". */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

/** ms from `now` to the next UTC midnight. */
export function msToNextDay(now: number): number {
  const d = new Date(now)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - now
}

/** A call costing `usd` is over `limit` when spent + usd exceeds it; a zero-cost admission check is over only at or past the limit. */
function over(spent: number, usd: number, limit: number): boolean {
  return usd > 0 ? spent + usd > limit + EPS : spent >= limit - EPS
}

/** ms until a call costing `usd` fits both global budgets (0: now): the day budget frees at UTC midnight, the 10-minute one when enough old charges have left the window. */
export function globalWaitMs(t: SpendTotals, b: SpendBudgets, usd: number, now: number): number {
  let wait = 0
  if (b.perDayUsd !== undefined && over(t.dayUsd, usd, b.perDayUsd)) wait = msToNextDay(now)
  const win = b.per10MinUsd
  if (win !== undefined) {
    let total = t.recent.reduce((a, c) => a + c.usd, 0)
    if (over(total, usd, win)) {
      let freed = false
      for (const c of t.recent) {
        total -= c.usd
        if (!over(total, usd, win)) {
          wait = Math.max(wait, c.at + WINDOW_MS - now + 1)
          freed = true
          break
        }
      }
      if (!freed) wait = Math.max(wait, WINDOW_MS)
    }
  }
  return wait
}

/** ms until the client's own daily budget allows a call costing `usd` (0: now, or no own budget). */
export function clientWaitMs(t: SpendTotals, b: SpendBudgets, usd: number, now: number): number {
  return b.clientPerDayUsd !== undefined && over(t.clientUsd, usd, b.clientPerDayUsd) ? msToNextDay(now) : 0
}

/** true when a call costing `usd` fits every budget now. */
export function fits(t: SpendTotals, b: SpendBudgets, usd: number, now: number): boolean {
  return globalWaitMs(t, b, usd, now) === 0 && clientWaitMs(t, b, usd, now) === 0
}

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

/** The one-process ledger: totals in memory, written to `file` (DATA_DIR/spend.json) after each change when given. */
export class FileSpendLedger implements SpendLedger {
  private day = ''
  private dayUsd = 0
  private byClient = new Map<string, number>()
  private recent: Charge[] = []
  private saving: Promise<void> | null = null
  private dirty = false

  constructor(private readonly opts: { file?: string } = {}) {}

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
  }

  async totals(client: string | undefined, now: number): Promise<SpendTotals> {
    return this.totalsNow(client, now)
  }

  async tryCharge(client: string | undefined, usd: number, budgets: SpendBudgets, now: number): Promise<{ refund: Refund } | { totals: SpendTotals }> {
    // checked and charged with no await in between: concurrent calls see each other's charges
    const t = this.totalsNow(client, now)
    if (!fits(t, budgets, usd, now)) return { totals: t }
    return { refund: this.charge(client, usd, now) }
  }

  async flush(): Promise<void> {
    while (this.saving) await this.saving
  }

  async close(): Promise<void> {
    await this.flush()
  }

  private totalsNow(client: string | undefined, now: number): SpendTotals {
    this.roll(now)
    return { dayUsd: this.dayUsd, recent: this.recent.slice(), clientUsd: client ? this.byClient.get(client) ?? 0 : 0 }
  }

  private charge(client: string | undefined, usd: number, now: number): Refund {
    this.roll(now)
    const c: Charge = { at: now, usd, client: client ?? '' }
    this.recent.push(c)
    this.dayUsd += usd
    if (client) this.byClient.set(client, (this.byClient.get(client) ?? 0) + usd)
    this.save()
    let refunded = false
    return async () => {
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

  /** Drops charges older than the window and starts a new day at UTC midnight. */
  private roll(now: number): void {
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
