// Admission of paid work, shared by every route that creates a batch or retries a page
// (POST /batches, POST /decks, POST …/pages/{n}/retry): the spend guard (429 budget_exhausted), the
// storage check (503 storage_unavailable, before anything is paid), the client's pages per minute and
// retries per page per hour (429 rate_limited), and batch ownership (another client's batch is a 404).
// The per-client queue share is the batch engine's (BatchManager.create / retryPage with the client).
import type { Resolution } from '../plugin/types/api.js'
import type { BatchManager } from './batches.js'
import type { ClientLimiter } from './clients.js'
import { ApiError, notFound } from './errors.js'
import type { SpendGuard } from './spend.js'

export interface AdmissionDeps {
  batches: Pick<BatchManager, 'ownerOf' | 'resolutionOf'>
  /** the proxy's model (its list price is what a page costs) */
  model: string
  defaultResolution: Resolution
  spend?: SpendGuard
  limits?: ClientLimiter
  /** why new images could not be stored (unwritable / full DATA_DIR), or null */
  storageProblem?: () => Promise<string | null>
  now?: () => number
}

export interface Admission {
  /** Before a new batch of `pages` pages at `resolution` (default size when absent) is created; throws the ApiError to answer. */
  newBatch(client: string | undefined, pages: number, resolution?: Resolution): Promise<void>
  /** Before a manual retry of page `page` of `batchId`: priced at the batch's own size. */
  retry(client: string | undefined, batchId: string, page: number): Promise<void>
  /** Resolves when `client` may see the batch; 404 (the same as for an unknown id) when it belongs to another client. */
  own(client: string | undefined, batchId: string): Promise<void>
}

export function createAdmission(deps: AdmissionDeps): Admission {
  const now = deps.now ?? Date.now
  // the storage check is cached for a second (it stats the disk)
  let checked: { at: number; problem: Promise<string | null> } | undefined
  const requireStorage = async (): Promise<void> => {
    if (!deps.storageProblem) return
    if (!checked || now() - checked.at > 1000) checked = { at: now(), problem: deps.storageProblem() }
    const problem = await checked.problem
    if (problem) throw new ApiError(503, 'storage_unavailable', `The proxy cannot store images right now: ${problem}. Ask the administrator`, { headers: { 'Retry-After': '60' } })
  }
  const admitSpend = async (client: string | undefined, resolution: Resolution) => {
    await deps.spend?.admit(client, deps.spend.priceOf(deps.model, resolution))
  }
  return {
    async newBatch(client, pages, resolution) {
      await admitSpend(client, resolution ?? deps.defaultResolution)
      await requireStorage()
      if (client) await deps.limits?.takePages(client, pages)
    },
    async retry(client, batchId, page) {
      await admitSpend(client, await deps.batches.resolutionOf(batchId))
      await requireStorage()
      await deps.limits?.takeRetry(batchId, page)
      if (client) await deps.limits?.takePages(client, 1)
    },
    async own(client, batchId) {
      const owner = await deps.batches.ownerOf(batchId)
      if (owner !== undefined && owner !== client) throw notFound('Batch')
    },
  }
}
