// .pptx in, .pptx out (api.md "Decks"): POST /api/v1/decks reads an uploaded deck and answers its pages
// (or creates a batch from it straight away); GET /api/v1/slide-generations/batches/{id}/pptx writes the
// deck back with the finished pages' images. Uploads are multipart (multer) written to a temporary file
// (at most maxUploadBytes, maxUploadsInFlight at once), so a slow or large upload holds no memory; a
// deck is read into memory only inside the `concurrency` slots, so memory stays bounded.
import { readFile, rm } from 'node:fs/promises'
import express, { type NextFunction, type Request, type Response, type Router } from 'express'
import multer from 'multer'
import PQueue from 'p-queue'
import { estimateBatch } from '../plugin/composables/useEstimate.js'
import type { BatchManager } from './batches.js'
import { ApiError, notFound, validationError } from './errors.js'
import type { ImageProvider } from './providers/types.js'
import type { Deck } from './pptx/deck.js'
import { DEFAULT_INSPECT_LIMITS, DeckError, inspectPptx } from './pptx/inspect.js'
import { deckToPages, parsePageRange, tooManySlides } from './pptx/pages.js'
import { readDeck } from './pptx/read.js'
import type { DeckStore } from './pptx/store.js'
import { writeDeck, type RenderedImage } from './pptx/write.js'
import type { RateLimiterAbstract } from 'rate-limiter-flexible'
import { clientOf, identify, memoryLimitStores, wrongTokenLimiter, type ClientToken } from './clients.js'
import type { Admission } from './admission.js'
import { BATCH_ID_RE, createBatchSchema, LIMITS } from './schemas.js'
import type { ImageStore } from './engine/imageStore.js'

export interface DeckLimits {
  /** largest upload, bytes (MAX_UPLOAD_MB, default 50 MB) */
  maxUploadBytes: number
  /** largest total unpacked size of a deck, bytes (default 256 MB) */
  maxUncompressedBytes: number
  /** decks read or written at once (default 2); more wait, beyond 4× that the caller gets 429 */
  concurrency: number
  /** uploads being received or read at once (default 8, each a temporary file); more get 429 busy before their body is read */
  maxUploadsInFlight: number
}

export const DEFAULT_DECK_LIMITS: DeckLimits = {
  maxUploadBytes: 50 * 1024 * 1024,
  maxUncompressedBytes: DEFAULT_INSPECT_LIMITS.maxUncompressedBytes,
  concurrency: 2,
  maxUploadsInFlight: 8,
}

export interface DeckRoutesDeps {
  batches: BatchManager
  /** the engine's image store: the finished pages' images go into the returned deck */
  images: Pick<ImageStore, 'readImage'>
  provider: ImageProvider
  decks: DeckStore
  proxyToken?: string
  /** every client token (PROXY_TOKEN, PROXY_TOKENS, …); when given it replaces proxyToken */
  tokens?: readonly ClientToken[]
  /** the proxy's wrong-token counts (clients.ts wrongTokenLimiter), shared with the batch routes */
  wrongTokens?: RateLimiterAbstract
  limits?: Partial<DeckLimits>
  defaultResolution: '1K' | '2K' | '4K'
  concurrency: number
  /** US dollars per image of the proxy's model at this size (models.ts), null when unknown */
  price: (resolution: '1K' | '2K' | '4K') => number | null
  /** the guards of every route that starts paid work (budgets, storage, per-client limits, ownership) */
  admission?: Admission
}

const PPTX_MIME = 'application/vnd.openxmlformats-officedocument.presentationml.presentation'

function apiError(err: unknown): unknown {
  return err instanceof DeckError ? new ApiError(err.status, err.code, err.message, { details: err.details }) : err
}

function field(req: Request, name: string): string | undefined {
  const v = (req.body as Record<string, unknown> | undefined)?.[name]
  return typeof v === 'string' && v.trim() ? v.trim() : undefined
}

function boolField(req: Request, name: string): boolean | undefined {
  const v = field(req, name)
  if (v === undefined) return undefined
  if (/^(1|true|yes|on)$/i.test(v)) return true
  if (/^(0|false|no|off)$/i.test(v)) return false
  throw new ApiError(400, 'invalid_request', `${name} must be true or false (got "${v}")`)
}

/** The download's file name: `<upload name>.banana.pptx`, header-safe. */
function downloadName(fileName: string): string {
  const base = fileName.replace(/\.pptx$/i, '').replace(/[\\/\r\n"]/g, '_').slice(0, 120) || 'deck'
  return `${base}.banana.pptx`
}

function pageSummary(deck: Deck) {
  return deck.slides.map(s => ({
    page_number: s.index,
    title: s.title,
    content: s.content,
    notes: s.notes,
    text_boxes: s.textBoxes.length,
    tables: s.tables.length,
    charts: s.charts.length,
    formulas: s.formulas.length,
    pictures: s.pictures.length,
  }))
}

export function createDeckRouter(deps: DeckRoutesDeps): Router {
  const limits: DeckLimits = { ...DEFAULT_DECK_LIMITS, ...deps.limits }
  const work = new PQueue({ concurrency: limits.concurrency })
  const r = express.Router()
  const tokens = deps.tokens ?? (deps.proxyToken ? [{ name: 'default', token: deps.proxyToken }] : [])
  const wrongTokens = deps.wrongTokens ?? wrongTokenLimiter(memoryLimitStores())
  const auth = identify(tokens, false, wrongTokens)
  const authDownload = identify(tokens, true, wrongTokens)
  // to a temporary file (os.tmpdir()), removed when the answer is sent: ten 50 MB uploads held in memory took the RSS to 730 MB
  const upload = multer({ storage: multer.diskStorage({}), limits: { fileSize: limits.maxUploadBytes, files: 1, fields: 20, fieldSize: 16 * 1024, parts: 25 } }).single('file')

  /** Runs a deck job when a slot is free; refuses with 429 when too many already wait. */
  async function bounded<T>(job: () => Promise<T>): Promise<T> {
    if (work.size >= limits.concurrency * 4) {
      throw new ApiError(429, 'busy', 'Too many decks are being read right now; try again in a few seconds', { headers: { 'Retry-After': '5' } })
    }
    return await work.add(job) as T
  }

  let uploadsInFlight = 0
  const receive = (req: Request, res: Response, next: NextFunction) => {
    if (!req.is('multipart/form-data')) return next(new ApiError(415, 'unsupported_media_type', 'Send the .pptx as multipart/form-data, in a field named "file"'))
    if (uploadsInFlight >= limits.maxUploadsInFlight) {
      // the body is not read: the connection closes after this answer
      res.setHeader('Connection', 'close')
      return next(new ApiError(429, 'busy', 'Too many decks are being uploaded right now; try again in a few seconds', { headers: { 'Retry-After': '5' } }))
    }
    uploadsInFlight++
    res.once('close', () => {
      uploadsInFlight--
      if (req.file?.path) void rm(req.file.path, { force: true })
    })
    upload(req, res, err => {
      if (!err) return next()
      if (err instanceof multer.MulterError) {
        if (err.code === 'LIMIT_FILE_SIZE') return next(new ApiError(413, 'file_too_large', `The file is larger than the upload limit of ${Math.round(limits.maxUploadBytes / 1048576)} MB (MAX_UPLOAD_MB)`))
        return next(new ApiError(400, 'invalid_request', `The upload is not valid: ${err.message}${err.field ? ` (${err.field})` : ''}`))
      }
      next(new ApiError(400, 'invalid_request', `The upload could not be read: ${(err as Error).message}`))
    })
  }

  r.post('/decks', auth, receive, async (req, res) => {
    const file = req.file
    if (!file) throw new ApiError(400, 'invalid_request', 'No file: send the .pptx in a multipart field named "file"')
    const deck = await bounded(async () => {
      const bytes = await readFile(file.path)
      await inspectPptx(bytes, { ...DEFAULT_INSPECT_LIMITS, maxUncompressedBytes: limits.maxUncompressedBytes })
      return await readDeck(bytes)
    }).catch(err => {
      throw apiError(err)
    })
    const fileName = Buffer.from(file.originalname, 'latin1').toString('utf8')
    const range = field(req, 'pages')
    let slides: number[]
    try {
      slides = range ? parsePageRange(range, deck.slides.length) : deck.slides.map(s => s.index)
    }
    catch (err) {
      throw apiError(err)
    }
    const templateId = field(req, 'template_id')
    const resolution = (field(req, 'resolution') ?? deps.defaultResolution) as '1K' | '2K' | '4K'
    const styleChain = boolField(req, 'style_chain') ?? true
    const size = ['1K', '2K', '4K'].includes(resolution) ? resolution : deps.defaultResolution
    const estimate = estimateBatch({ pages: slides.length, resolution: size, pricePerImage: deps.price(size), preview: deps.provider.name === 'preview', concurrency: deps.concurrency, styleChain })
    const summary = {
      file_name: fileName,
      slide_count: deck.slides.length,
      width: deck.width,
      height: deck.height,
      aspect_ratio: deck.aspectRatio,
      selected_pages: slides,
    }
    if (!templateId) {
      const tooMany = slides.length > LIMITS.maxPages ? tooManySlides(slides.length, LIMITS.maxPages) : null
      res.json({
        deck: { ...summary, pages: pageSummary(deck) },
        estimate: { pages: slides.length, resolution, cost: estimate.cost, price_per_image: estimate.pricePerImage, seconds: estimate.seconds, preview: deps.provider.name === 'preview' },
        ...(tooMany ? { warning: { code: tooMany.code, message: tooMany.message, details: tooMany.details } } : {}),
      })
      return
    }
    if (slides.length > LIMITS.maxPages) throw apiError(tooManySlides(slides.length, LIMITS.maxPages))
    const mode = field(req, 'mode') ?? 'full'
    const body = {
      template_id: templateId,
      deck_title: field(req, 'deck_title') ?? (deck.slides[0]?.title || fileName.replace(/\.pptx$/i, '')).slice(0, LIMITS.maxDeckTitleChars),
      pages: deckToPages(deck, slides),
      options: {
        aspect_ratio: field(req, 'aspect_ratio') ?? deck.aspectRatio,
        resolution,
        mode,
        ...(field(req, 'language') ? { language: field(req, 'language') } : {}),
        ...(field(req, 'extra_prompt') ? { extra_prompt: field(req, 'extra_prompt') } : {}),
        style_chain: styleChain,
      },
    }
    const parsed = createBatchSchema.safeParse(body)
    if (!parsed.success) throw validationError(parsed.error)
    const client = clientOf(res)
    const undo = await deps.admission?.newBatch(client, parsed.data.pages.length, parsed.data.options?.resolution, parsed.data.template_id)
    let created
    try {
      created = await deps.batches.create(parsed.data, { client })
    }
    catch (err) {
      await undo?.() // refused after all (a full queue): the pages do not count against the client
      throw err
    }
    try {
      await deps.decks.save(created.batch_id, { deck, fileName, mode: parsed.data.options?.mode ?? 'full', language: parsed.data.options?.language ?? '', pageSlides: slides })
    }
    catch (err) {
      await deps.batches.cancel(created.batch_id).catch(() => undefined)
      throw err
    }
    res.status(202).json({ ...created, deck: summary, estimate: { cost: estimate.cost, price_per_image: estimate.pricePerImage } })
  })

  r.get('/slide-generations/batches/:batch_id/pptx', authDownload, async (req, res) => {
    const id = String(req.params.batch_id ?? '')
    if (!BATCH_ID_RE.test(id) || !(await deps.batches.has(id))) throw notFound('Batch')
    await deps.admission?.own(clientOf(res), id)
    const record = await deps.decks.load(id)
    if (!record) throw new ApiError(404, 'no_deck', 'No deck is stored for this batch: it was not made from a .pptx upload (POST /api/v1/decks), or its deck is past IMAGE_RETENTION_HOURS; export from the editor instead')
    const progress = await deps.batches.progress(id)
    const images = new Map<number, RenderedImage>()
    const failed: number[] = []
    for (const result of progress.results) {
      const slide = record.pageSlides[result.page_number - 1]
      if (result.status === 'failed') failed.push(slide)
      if (result.status !== 'completed' || !result.image_url) continue
      const key = result.image_url.split('/').pop() ?? ''
      const data = await deps.images.readImage(key)
      if (data) images.set(slide, { data, mime: key.endsWith('.png') ? 'image/png' : 'image/jpeg' })
    }
    const out = await bounded(() => writeDeck(record.deck, {
      mode: record.mode,
      images,
      ...(record.language === 'zh' || record.language === 'en' ? { language: record.language } : {}),
    }))
    const name = downloadName(record.fileName)
    res.setHeader('Content-Type', PPTX_MIME)
    res.setHeader('Content-Disposition', `attachment; filename="${name.replace(/[^\x20-\x7e]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`)
    res.setHeader('Cache-Control', 'no-store')
    res.setHeader('X-Batch-Status', progress.status)
    res.setHeader('X-Slides-Rendered', [...images.keys()].sort((a, b) => a - b).join(',') || 'none')
    res.setHeader('X-Slides-Failed', failed.join(',') || 'none')
    res.setHeader('Access-Control-Expose-Headers', 'Retry-After, Content-Disposition, X-Batch-Status, X-Slides-Rendered, X-Slides-Failed')
    res.send(out)
  })

  return r
}
