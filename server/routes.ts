// /api/v1 routes (api.md). Input is validated here with zod; everything thrown becomes an api.md
// error through errorMiddleware (express 5 forwards rejected async handlers to it).
import { timingSafeEqual, createHash } from 'node:crypto'
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express'
import { NANO_BANANA_TEMPLATES } from '../plugin/configs/nanoBananaTemplates.js'
import type { HealthResponse } from '../plugin/types/api.js'
import type { BatchManager } from './batches.js'
import type { RateLimiterAbstract } from 'rate-limiter-flexible'
import { clientOf, identify, memoryLimitStores, wrongTokenLimiter, type ClientLimiter, type ClientToken } from './clients.js'
import type { SpendGuard } from './spend.js'
import type { Admission } from './admission.js'
import { ApiError, notFound, validationError } from './errors.js'
import { streamBatch, type SseOptions } from './events.js'
import type { ImageProvider } from './providers/types.js'
import { describeModels, type DescribeOptions } from './models.js'
import { BATCH_ID_RE, createBatchSchema, LIMITS, pageNumberSchema, retryPageSchema } from './schemas.js'
import { pipeline } from 'node:stream/promises'
import type { ImageStore } from './engine/imageStore.js'
import { IMAGE_KEY_RE } from './storage.js'

export interface RoutesDeps {
  /** why a callback_url is refused here, or null (webhooks) */
  callbackRefusal?: (url: string) => string | null
  batches: BatchManager
  /** the engine's image store (DATA_DIR/images or S3) */
  images: ImageStore
  provider: ImageProvider
  /** client tokens (PROXY_TOKEN, PROXY_TOKENS, …); empty or absent: clients are IP addresses */
  tokens?: readonly ClientToken[]
  /** the proxy's wrong-token counts (clients.ts wrongTokenLimiter), shared with the deck routes */
  wrongTokens?: RateLimiterAbstract
  /** per-client open streams (the other limits are the admission's) */
  limits?: ClientLimiter
  /** /health's spend totals */
  spend?: SpendGuard
  /** budgets, storage, per-client limits and ownership for new batches and retries (shared with the deck routes) */
  admission: Admission
  sse: SseOptions
  /** what GET /models reports besides the provider's model (price override, deadlines, default size) */
  models: Omit<DescribeOptions, 'provider' | 'model'>
}

/** Catalogue asset path (`./imgs/…`) → root-absolute URL (`/imgs/…`). */
export function assetUrl(p: string): string {
  return '/' + p.replace(/^\.?\/+/, '')
}

function sameToken(given: string, expected: string): boolean {
  // compare digests so neither the length nor the content leaks through timing
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/**
 * PROXY_TOKEN: `Authorization: Bearer <token>`; on the stream and polling endpoints also `?token=`
 * (a plain browser EventSource cannot send headers).
 */
export function requireToken(token: string | undefined, allowQuery: boolean): RequestHandler {
  return (req, _res, next) => {
    if (!token) return next()
    const header = req.get('Authorization')
    const m = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null
    let given = m?.[1]
    if (!given && allowQuery && typeof req.query.token === 'string') given = req.query.token
    if (given && sameToken(given, token)) return next()
    next(new ApiError(401, 'unauthorized', given ? 'The proxy token is wrong' : 'This proxy needs a token: send Authorization: Bearer <PROXY_TOKEN>'))
  }
}

function batchId(req: Request): string {
  const id = String(req.params.batch_id ?? '')
  if (!BATCH_ID_RE.test(id)) throw notFound('Batch')
  return id
}

export function createApiRouter(deps: RoutesDeps): Router {
  const r = express.Router()
  // strict: false so a JSON null or number reaches zod and is answered 'expected object', not 'not valid JSON'
  const json = express.json({ limit: LIMITS.bodyLimit, strict: false, type: () => true })
  const wrongTokens = deps.wrongTokens ?? wrongTokenLimiter(memoryLimitStores())
  const auth = identify(deps.tokens ?? [], false, wrongTokens)
  const authStream = identify(deps.tokens ?? [], true, wrongTokens)
  /** the batch id of the request, when this client owns it; anyone else gets the same 404 as for an unknown id */
  const ownBatch = async (req: Request, res: Response): Promise<string> => {
    const id = batchId(req)
    await deps.admission.own(clientOf(res), id)
    return id
  }

  r.get('/health', async (_req, res) => {
    const body: HealthResponse = {
      ok: true,
      provider: deps.provider.name,
      model: deps.provider.model,
      ...(deps.provider.name === 'preview' ? { preview: true } : {}),
      queue: await deps.batches.stats(),
      limits: {
        max_pages: LIMITS.maxPages,
        max_page_text_chars: LIMITS.maxPageTextChars,
        max_text_boxes: LIMITS.maxTextBoxes,
        max_extra_prompt_chars: LIMITS.maxExtraPromptChars,
        max_instruction_chars: LIMITS.maxInstructionChars,
        max_deck_title_chars: LIMITS.maxDeckTitleChars,
      },
      ...(deps.spend ? { spend: await deps.spend.snapshot() } : {}),
    }
    res.json(body)
  })

  r.get('/models', (_req, res) => {
    res.json(describeModels({ ...deps.models, provider: deps.provider.name, model: deps.provider.model }))
  })

  r.get('/templates', (_req, res) => {
    res.json({
      templates: NANO_BANANA_TEMPLATES.map(t => ({
        id: t.id,
        name: t.name,
        name_en: t.name_en,
        description: t.description,
        description_en: t.description_en,
        cover: assetUrl(t.cover),
        thumbnail: assetUrl(t.thumbnail),
        metadata: t.metadata,
      })),
    })
  })

  // images and their variants: CORS (the app-wide middleware) and cache headers; with S3_PUBLIC_BASE_URL
  // a redirect to the CDN, otherwise the file (ranges) or the S3 object streamed through, never buffered
  r.get('/images/:key', async (req, res, next) => {
    const key = String(req.params.key ?? '')
    if (!IMAGE_KEY_RE.test(key)) throw notFound('Image')
    const storeDown = (err: unknown) => new ApiError(503, 'storage_unavailable', `The image store cannot be read right now (${err instanceof Error ? err.message || err.name : String(err)}). Try again shortly`, { headers: { 'Retry-After': '5' } })
    // A thumbnail still being made is not waited for: browsers allow six connections per host, and
    // thumbnail requests held open on a busy image worker starved the event stream and the images
    // the editor needs. The client asks again (Retry-After) or once the page's image has landed.
    if (key.endsWith('.thumb.jpg') && await deps.images.variantReady(key).catch((err: unknown) => { throw storeDown(err) }) === 'making') {
      throw new ApiError(404, 'not_ready', 'The thumbnail is still being made: ask again in a moment', { headers: { 'Retry-After': '1', 'Cache-Control': 'no-store' } })
    }
    const publicUrl = deps.images.publicUrl(key)
    if (publicUrl) {
      // the key must exist (a variant is made first) so that an unknown one stays an api.md 404
      const found = await deps.images.resolveImage(key).catch((err: unknown) => { throw storeDown(err) })
      if (!found) throw notFound('Image')
      // the target never changes for a key, but S3_PUBLIC_BASE_URL may: cache the redirect for an hour
      res.setHeader('Cache-Control', 'public, max-age=3600')
      res.redirect(302, publicUrl)
      return
    }
    const found = await deps.images.openImage(key).catch((err: unknown) => { throw storeDown(err) })
    if (!found) throw notFound('Image')
    res.setHeader('Content-Type', found.mime)
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable')
    res.setHeader('X-Content-Type-Options', 'nosniff')
    if ('file' in found) {
      res.sendFile(found.file, { dotfiles: 'deny', lastModified: true, cacheControl: false }, err => {
        if (err && !res.headersSent) next(notFound('Image'))
      })
      return
    }
    res.setHeader('Content-Length', String(found.size))
    if (req.method === 'HEAD') {
      found.stream.destroy()
      res.end()
      return
    }
    // a client that goes away ends the S3 read too; an S3 read that fails mid-way cuts the response
    await pipeline(found.stream, res).catch(() => { if (!res.destroyed) res.destroy() })
  })

  r.post('/slide-generations/batches', auth, json, async (req, res) => {
    const parsed = createBatchSchema.safeParse(req.body)
    if (!parsed.success) throw validationError(parsed.error)
    const callback = parsed.data.callback_url
    const refused = !callback ? null : deps.callbackRefusal ? deps.callbackRefusal(callback) : 'This proxy sends no webhooks'
    if (refused) throw new ApiError(400, 'invalid_request', 'The request is not valid', { details: [{ path: 'callback_url', message: refused }] })
    const client = clientOf(res)
    const undo = await deps.admission.newBatch(client, parsed.data.pages.length, parsed.data.options?.resolution, parsed.data.template_id)
    let created
    try {
      created = await deps.batches.create(parsed.data, { client })
    } catch (err) {
      await undo() // refused after all (a full queue): the pages do not count against the client
      throw err
    }
    res.status(202).json(created)
  })

  r.get('/slide-generations/batches/:batch_id/progress', authStream, async (req, res) => {
    const progress = await deps.batches.progress(await ownBatch(req, res))
    res.setHeader('Cache-Control', 'no-store')
    res.json(progress)
  })

  r.get('/slide-generations/batches/:batch_id/events', authStream, async (req, res) => {
    const id = await ownBatch(req, res)
    const client = clientOf(res)
    const release = client && deps.limits ? await deps.limits.openStream(client) : undefined
    // (the client may have gone while the slot was taken: its 'close' has fired already)
    if (release) {
      if (res.closed) release()
      else res.on('close', release)
    }
    try {
      await streamBatch(req, res, await deps.batches.sseSource(id), deps.sse)
    } catch (err) {
      release?.()
      throw err
    }
  })

  r.post('/slide-generations/batches/:batch_id/cancel', auth, async (req, res) => {
    res.json(await deps.batches.cancel(await ownBatch(req, res)))
  })

  r.post('/slide-generations/batches/:batch_id/pages/:page_number/retry', auth, json, async (req, res) => {
    const id = await ownBatch(req, res)
    const page = pageNumberSchema.safeParse(req.params.page_number)
    if (!page.success) throw notFound(`Page ${String(req.params.page_number)}`)
    const body = retryPageSchema.safeParse(req.body ?? {})
    if (!body.success) throw validationError(body.error)
    const undo = await deps.admission.retry(clientOf(res), id, page.data)
    let retried
    try {
      retried = await deps.batches.retryPage(id, page.data, body.data.instruction)
    } catch (err) {
      await undo() // refused after all (busy meanwhile, a full queue): the retry does not count
      throw err
    }
    res.status(202).json(retried)
  })

  r.use((req: Request, _res: Response, next: NextFunction) => {
    next(new ApiError(404, 'not_found', `No such endpoint: ${req.method} ${req.baseUrl}${req.path}`))
  })

  return r
}
