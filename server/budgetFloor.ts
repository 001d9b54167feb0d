// Budgets below the price of one image (tester B11): a budget smaller than one call can never allow
// it, so the pages would wait — and the users be told "again in about 10 min" — for ever.
// - at start-up: a global budget (BUDGET_USD_PER_DAY, BUDGET_USD_PER_10MIN) below the cheapest size
//   the model offers is a configuration error (the proxy could generate nothing); below some sizes'
//   price, or a client's own daily budget below the cheapest, is a warning naming the variable, the
//   client and the price;
// - at admission: SpendGuard.admit answers such a batch or retry with 422 budget_below_price (no
//   Retry-After: waiting never helps).
// Prices are the ones the spend guard meters: the catalogue's list price, or PRICE_PER_IMAGE_USD.
import type { Resolution } from '../plugin/types/api.js'
import type { ClientToken } from './clients.js'
import { pricePerImageUsd, proxySizes, type PriceOverride } from './models.js'

export interface BudgetFloorInput {
  /** the model the proxy calls */
  model: string
  priceOverride?: PriceOverride
  budget?: { perDayUsd?: number; per10MinUsd?: number }
  tokens?: readonly ClientToken[]
}

export interface BudgetFloor {
  /** the configuration error (a global budget below every size's price), or null */
  error: string | null
  warnings: string[]
}

const EPS = 1e-9
const usd = (n: number) => `$${Number(n.toFixed(4))}`

/**
 * Compares the budgets with the price of one image at each size the proxy can request of `model`
 * (server/models.ts proxySizes; sizes of unknown or zero price are left out: nothing to compare).
 */
export function checkBudgetFloor(input: BudgetFloorInput): BudgetFloor {
  const prices = proxySizes(input.model)
    .map(size => ({ size, usd: pricePerImageUsd(input.model, size, input.priceOverride) ?? 0 }))
    .filter((p): p is { size: Resolution; usd: number } => p.usd > 0)
    .sort((a, b) => a.usd - b.usd)
  const out: BudgetFloor = { error: null, warnings: [] }
  if (prices.length === 0) return out
  const cheapest = prices[0]
  const source = input.priceOverride !== undefined ? 'PRICE_PER_IMAGE_USD' : 'list price; PRICE_PER_IMAGE_USD overrides it'
  const globals: Array<[string, number | undefined]> = [['BUDGET_USD_PER_DAY', input.budget?.perDayUsd], ['BUDGET_USD_PER_10MIN', input.budget?.per10MinUsd]]
  for (const [name, value] of globals) {
    if (value === undefined) continue
    if (value + EPS < cheapest.usd) {
      out.error ??= `${name}=${value} is below the price of one image: ${input.model} costs ${usd(cheapest.usd)} at ${cheapest.size}, its cheapest size (${source}), so no page could ever be generated. Set ${name} to at least ${cheapest.usd}, or leave it unset`
      continue
    }
    const over = prices.filter(p => value + EPS < p.usd)
    if (over.length) out.warnings.push(`${name}=${value} is below the price of one ${over.map(p => `${p.size} image (${usd(p.usd)})`).join(' or one ')} of ${input.model}: batches at ${over.length === 1 ? 'that size' : 'those sizes'} are refused (422 budget_below_price)`)
  }
  for (const t of input.tokens ?? []) {
    if (t.dailyBudgetUsd !== undefined && t.dailyBudgetUsd + EPS < cheapest.usd) {
      out.warnings.push(`client "${t.name}" has a daily budget of ${usd(t.dailyBudgetUsd)} (PROXY_TOKENS / PROXY_TOKENS_FILE), below the price of one image (${usd(cheapest.usd)} at ${cheapest.size}): its batches are refused (422 budget_below_price)`)
    }
  }
  return out
}
