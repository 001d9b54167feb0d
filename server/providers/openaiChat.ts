// OpenAI-compatible chat relays (OpenRouter and others) — upstream.md §2.
// POST {baseUrl}/chat/completions with the references as image_url data URLs, then the prompt;
// `modalities` + `image_config`. The image comes back in one of five shapes (findChatImage).
import { ProviderError, timeoutFor, type GeneratedImage, type GenerateRequest, type ImageProvider } from './types.js'
import { base64Of, decodeDataUrl, toGeneratedImage } from './sniff.js'
import { answerShape, fromThrown, isRecord, upstreamText } from './errors.js'
import type { HostPolicy } from '../net/safeHttp.js'
import { DEFAULT_DOWNLOAD_TIMEOUT_MS, DEFAULT_MAX_DOWNLOAD_BYTES, downloadImage } from './download.js'
import { postOpenAI, type OpenAICallContext } from './openaiHttp.js'
import { callSignal } from './signals.js'
import { GEMINI_REFUSALS } from './gemini.js'
import { blobOf } from './answerReader.js'
import type { BufferPool } from './bufferPool.js'

export interface OpenAIProviderOptions {
  apiKey: string
  /** e.g. https://openrouter.ai/api/v1 (no trailing /chat/completions) */
  baseUrl: string
  model: string
  /** per call at 1K / 2K, ms */
  timeoutMs: number
  /** per call at 4K, ms (default timeoutMs) */
  timeoutMs4K?: number
  fetch?: typeof fetch
  /** cap for images downloaded from a URL the relay returned (default 64 MB, MAX_UPSTREAM_RESPONSE_MB) */
  maxDownloadBytes?: number
  /** destinations an image link may point at (default: public addresses only; ALLOW_PRIVATE_IMAGE_HOSTS) */
  imageHosts?: HostPolicy
  downloadTimeoutMs?: number
  /** where answers' inline images are decoded into (reused once released, see GeneratedImage.release) */
  buffers?: BufferPool
}

/** Where the image is: bytes already decoded, or a URL to download. */
export type FoundImage = { bytes: Buffer } | { url: string }

const MARKDOWN_IMAGE = /!\[[^\]]*\]\(\s*<?((?:data:image\/[\w.+-]+;base64,[A-Za-z0-9+/=\s]+)|(?:https?:\/\/[^\s)>]+))>?(?:\s+"[^"]*")?\s*\)/g
const DATA_URL_START = /data:image\/[\w.+-]+;base64,/g
const BARE_HTTP_URL = /https?:\/\/[^\s<>"'()\]]+/g

/**
 * A data URL (or one the answer reader decoded: "#blob:<n>" in `blobs`), an http(s) URL, or — with
 * `base` — a path on the relay's own origin (`/media/x.webp`, as some Images-API relays answer),
 * resolved against the base URL.
 */
function fromUrlString(value: unknown, base?: string, blobs: readonly Buffer[] = []): FoundImage | null {
  if (typeof value !== 'string' || !value) return null
  const blob = blobOf(value, blobs)
  if (blob) return blob.length ? { bytes: blob } : null
  const trimmed = value.trim()
  if (/^data:/i.test(trimmed)) {
    const bytes = decodeDataUrl(trimmed)
    return bytes && bytes.length ? { bytes } : null
  }
  if (/^https?:\/\//i.test(trimmed)) return { url: trimmed }
  if (base && /^\/(?!\/)\S*$/.test(trimmed)) {
    try {
      return { url: new URL(trimmed, base).href }
    }
    catch {
      return null
    }
  }
  return null
}

const B64_LINE = /^[A-Za-z0-9+/=]+$/

/**
 * Bare data URLs in message text. The base64 may be wrapped across lines (MIME style: equal full
 * lines, a shorter last one): continuation lines made only of base64 characters are joined until a
 * line that is shorter than the one before it or holds padding.
 */
export function bareDataUrls(content: string): string[] {
  const out: string[] = []
  for (const start of content.matchAll(DATA_URL_START)) {
    const from = start.index + start[0].length
    const lines = content.slice(from).split(/\r?\n/)
    const first = /^[A-Za-z0-9+/=]*/.exec(lines[0])![0]
    let data = first
    // only a first line that runs to its end (nothing after the base64) may continue on the next line
    if (first.length === lines[0].trimEnd().length && !first.includes('=')) {
      let previous = Infinity
      for (const raw of lines.slice(1)) {
        const line = raw.trim()
        if (!line || !B64_LINE.test(line) || line.length > previous) break
        data += line
        if (line.includes('=') || line.length < previous && previous !== Infinity) break
        previous = line.length
      }
    }
    if (data) out.push(start[0] + data)
  }
  return out
}

function fromBase64(value: unknown, blobs: readonly Buffer[]): FoundImage | null {
  if (typeof value !== 'string' || !value) return null
  const dataUrl = fromUrlString(value, undefined, blobs)
  if (dataUrl) return dataUrl
  const bytes = Buffer.from(value.replace(/\s+/g, ''), 'base64')
  return bytes.length ? { bytes } : null
}

function lastOf<T>(items: Array<T | null>): T | null {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]
    if (item) return item
  }
  return null
}

function imageUrlOf(part: Record<string, unknown>, base: string | undefined, blobs: readonly Buffer[]): FoundImage | null {
  const imageUrl = part.image_url
  return fromUrlString(isRecord(imageUrl) ? imageUrl.url : imageUrl, base, blobs)
}

/**
 * The image of a chat completion, looked for in the order of upstream.md §2. `base` (the relay's
 * base URL) resolves links that are paths on the relay's own origin; `blobs`: the images the answer
 * reader decoded, referenced as "#blob:<n>" (OpenAIAnswer).
 */
export function findChatImage(body: Record<string, unknown>, base?: string, blobs: readonly Buffer[] = []): FoundImage | null {
  const choice = Array.isArray(body.choices) && isRecord(body.choices[0]) ? body.choices[0] : undefined
  const message = choice && isRecord(choice.message) ? choice.message : undefined
  if (message) {
    // 1. OpenRouter: message.images[].image_url.url (data URL)
    if (Array.isArray(message.images)) {
      const found = lastOf(message.images.filter(isRecord).map(part => imageUrlOf(part, base, blobs)))
      if (found) return found
    }
    // 2. content as parts: {type:'image_url', image_url:{url}} or {type:'image', image:{base64}}
    if (Array.isArray(message.content)) {
      const found = lastOf(message.content.filter(isRecord).map(part => {
        if (part.type === 'image_url' || part.image_url) return imageUrlOf(part, base, blobs)
        if (part.type === 'image' && isRecord(part.image)) return fromBase64(part.image.base64 ?? part.image.data ?? part.image.b64_json, blobs)
        return null
      }))
      if (found) return found
    }
    // 3. markdown ![..](data:…) or ![..](https://…) in string content; 4. a plain URL
    if (typeof message.content === 'string') {
      const content = message.content
      const markdown = lastOf([...content.matchAll(MARKDOWN_IMAGE)].map(m => fromUrlString(m[1].replace(/\s+/g, ''))))
      if (markdown) return markdown
      const dataUrl = lastOf(bareDataUrls(content).map(url => fromUrlString(url)))
      if (dataUrl) return dataUrl
      const plain = lastOf([...content.matchAll(BARE_HTTP_URL)].map(m => fromUrlString(m[0].replace(/[.,;:!?]+$/, ''))))
      if (plain) return plain
    }
  }
  // 5. Images-API shaped { data: [{ b64_json | url }] }
  if (Array.isArray(body.data) && isRecord(body.data[0])) {
    return fromBase64(body.data[0].b64_json, blobs) ?? fromUrlString(body.data[0].url, base, blobs)
  }
  return null
}

/** Bytes of a found image, downloading a URL under its own deadline and the caller's signal. */
export async function resolveFoundImage(found: FoundImage, req: GenerateRequest, opts: {
  source: string; hosts?: HostPolicy; maxDownloadBytes?: number; downloadTimeoutMs?: number; secrets: string[]
}): Promise<GeneratedImage> {
  if ('bytes' in found) return toGeneratedImage(found.bytes, opts.source)
  const timeoutMs = opts.downloadTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS
  const call = callSignal(req.signal, timeoutMs)
  try {
    const bytes = await downloadImage(found.url, { signal: call.signal, maxBytes: opts.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES, hosts: opts.hosts, source: opts.source })
    return await toGeneratedImage(bytes, opts.source)
  }
  catch (err) {
    throw fromThrown(err, { signal: req.signal, timedOut: call.timedOut(), timeoutMs, source: `${opts.source} (image download)`, secrets: opts.secrets })
  }
  finally {
    call.dispose()
  }
}

/**
 * The image `make` returns, carrying `release` (its bytes may be a view of the answer's pooled
 * buffer: whoever stores it hands the buffer back); when `make` throws, released at once.
 */
export async function withRelease(release: () => void, make: () => Promise<GeneratedImage>): Promise<GeneratedImage> {
  try {
    return { ...await make(), release }
  }
  catch (err) {
    release()
    throw err
  }
}

function textOf(message: Record<string, unknown> | undefined): string {
  if (!message) return ''
  if (typeof message.content === 'string') return message.content
  if (Array.isArray(message.content)) return message.content.filter(isRecord).map(p => (typeof p.text === 'string' ? p.text : '')).join(' ')
  return typeof message.refusal === 'string' ? message.refusal : ''
}

/** Why a 200 answer has no image: refused (content filter / Gemini safety reason) or retryable. */
function noImageError(body: Record<string, unknown>, source: string, secrets: string[]): ProviderError {
  const choice = Array.isArray(body.choices) && isRecord(body.choices[0]) ? body.choices[0] : undefined
  const message = choice && isRecord(choice.message) ? choice.message : undefined
  const finish = typeof choice?.finish_reason === 'string' ? choice.finish_reason : ''
  const native = typeof choice?.native_finish_reason === 'string' ? choice.native_finish_reason.toUpperCase() : ''
  const text = upstreamText(textOf(message), secrets)
  const said = text ? `: ${text}` : ''
  if (GEMINI_REFUSALS[native] || finish === 'content_filter' || (message && typeof message.refusal === 'string' && message.refusal)) {
    const reason = native || finish || 'refusal'
    return new ProviderError('refused', 'safety_refused', `${source} refused to draw this page (${reason})${said}. Rephrase the page's text or the extra prompt and try again.`)
  }
  return new ProviderError('retryable', 'no_image', `${source} answered without an image${finish ? ` (${native || finish})` : ''}${said}`,
    { answerShape: answerShape(body) })
}

export function createOpenAIChatProvider(opts: OpenAIProviderOptions): ImageProvider {
  const fetchImpl = opts.fetch ?? fetch
  const source = 'The chat relay'
  const baseCtx: OpenAICallContext = { source, model: opts.model, keyEnv: 'OPENAI_API_KEY', modelEnv: 'NANO_BANANA_MODEL', apiKey: opts.apiKey, timeoutMs: opts.timeoutMs, fetch: fetchImpl, maxResponseBytes: opts.maxDownloadBytes, buffers: opts.buffers }
  const url = `${opts.baseUrl.replace(/\/+$/, '')}/chat/completions`

  async function generate(req: GenerateRequest): Promise<GeneratedImage> {
    const ctx: OpenAICallContext = { ...baseCtx, timeoutMs: timeoutFor(opts, req.resolution) }
    const content = [
      ...req.references.map(ref => ({ type: 'image_url', image_url: { url: `data:${ref.mime};base64,${base64Of(ref.bytes)}` } })),
      { type: 'text', text: req.prompt },
    ]
    const body = JSON.stringify({
      model: opts.model,
      messages: [{ role: 'user', content }],
      modalities: ['image', 'text'],
      image_config: { aspect_ratio: req.aspectRatio, image_size: req.resolution },
    })
    const answer = await postOpenAI(url, body, req.signal, ctx)
    return withRelease(answer.release, async () => {
      const found = findChatImage(answer.body, opts.baseUrl, answer.blobs)
      if (!found) throw noImageError(answer.body, source, [opts.apiKey])
      return resolveFoundImage(found, req, { source, hosts: opts.imageHosts, maxDownloadBytes: opts.maxDownloadBytes, downloadTimeoutMs: opts.downloadTimeoutMs, secrets: [opts.apiKey] })
    })
  }

  return { name: 'openai-chat', model: opts.model, generate }
}
