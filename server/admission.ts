// Admission of paid work, shared by every route that creates a batch or retries a page
// (POST /batches, POST /decks, POST …/pages/{n}/retry): the spend guard (429 budget_exhausted), the
// storage check (503 storage_unavailable, before anything is paid), the client's pages per minute and
// retries per page per hour (429 rate_limited), and batch ownership (another client's batch is a 404).
// The per-client queue share is the batch engine's (BatchManager.create / retryPage with the client).
// Order: what the request itself gets wrong (unknown template, a page that cannot be retried now)
// first, so a bad request is a 400/404/409 and uses up nothing; then the budget, the storage, the
// limits. Admission resolves to an undo that gives the limits back when the work is refused after
// all (a full queue, a page that became busy meanwhile): a refused request does not count.
import type { Resolution } from '../plugin/types/api.js'
import type { BatchManager } from './batches.js'
import type { ClientLimiter, Undo } from './clients.js'
import { ApiError, notFound } from './errors.js'
import type { SpendGuard } from './spend.js'

export interface AdmissionDeps {
  batches: Pick<BatchManager, 'ownerOf' | 'resolutionOf' | 'checkTemplate' | 'checkRetry'>
  /** the proxy's model (its list price is what a page costs) */
  model: string
  defaultResolution: Resolution
  spend?: SpendGuard
  limits?: ClientLimiter
  /**
   * why new images could not be stored (unwritable / full DATA_DIR), or null; asked on every admission,
   * so it is cached by its owner (server/app.ts: a second, and replaced at once when a store fails)
   */
  storageProblem?: () => Promise<string | null>
}

export interface Admission {
  /**
   * Before a new batch of `pages` pages at `resolution` (default size when absent) with `templateId`
   * is created; throws the ApiError to answer, or resolves to the undo to call if creating it fails.
   */
  newBatch(client: string | undefined, pages: number, resolution?: Resolution, templateId?: string): Promise<Undo>
  /** Before a manual retry of page `page` of `batchId`: priced at the batch's own size; resolves to the undo as newBatch. */
  retry(client: string | undefined, batchId: string, page: number): Promise<Undo>
  /** Resolves when `client` may see the batch; 404 (the same as for an unknown id) when it belongs to another client. */
  own(client: string | undefined, batchId: string): Promise<void>
}

const noUndo: Undo = async () => undefined

export function createAdmission(deps: AdmissionDeps): Admission {
  const requireStorage = async (): Promise<void> => {
    const problem = await deps.storageProblem?.()
    if (problem) throw new ApiError(503, 'storage_unavailable', `The proxy cannot store images right now: ${problem}. Ask the administrator`, { headers: { 'Retry-After': '60' } })
  }
  const admitSpend = async (client: string | undefined, resolution: Resolution) => {
    await deps.spend?.admit(client, deps.spend.priceOf(deps.model, resolution), resolution)
  }
  return {
    async newBatch(client, pages, resolution, templateId) {
      if (templateId !== undefined) deps.batches.checkTemplate(templateId)
      await admitSpend(client, resolution ?? deps.defaultResolution)
      await requireStorage()
      return (client && (await deps.limits?.takePages(client, pages))) || noUndo
    },
    async retry(client, batchId, page) {
      await deps.batches.checkRetry(batchId, page)
      await admitSpend(client, await deps.batches.resolutionOf(batchId))
      await requireStorage()
      const undoRetry = (await deps.limits?.takeRetry(batchId, page)) ?? noUndo
      let undoPages: Undo = noUndo
      try {
        if (client && deps.limits) undoPages = await deps.limits.takePages(client, 1)
      } catch (err) {
        await undoRetry()
        throw err
      }
      return async () => {
        await undoRetry()
        await undoPages()
      }
    },
    async own(client, batchId) {
      const owner = await deps.batches.ownerOf(batchId)
      if (owner !== undefined && owner !== client) throw notFound('Batch')
    },
  }
}
