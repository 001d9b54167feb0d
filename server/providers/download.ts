// Downloads an image URL handed back by a relay (often short-lived): http(s) only, a byte cap and
// a timeout, cancelled with the caller's signal.
import { ProviderError } from './types.js'

export const DEFAULT_MAX_DOWNLOAD_BYTES = 30 * 1024 * 1024
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 60_000

export interface DownloadOptions {
  signal: AbortSignal
  maxBytes: number
  fetch: typeof fetch
  source: string
}

export async function downloadImage(url: string, opts: DownloadOptions): Promise<Buffer> {
  let parsed: URL
  try {
    parsed = new URL(url)
  }
  catch {
    throw new ProviderError('retryable', 'bad_response', `${opts.source} returned an image link that is not a valid URL`)
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ProviderError('retryable', 'bad_response', `${opts.source} returned an image link with an unsupported scheme (${parsed.protocol})`)
  }
  const tooLarge = () => new ProviderError('fatal', 'image_too_large',
    `${opts.source} returned an image larger than ${Math.round(opts.maxBytes / 1024 / 1024)} MB — the relay is misbehaving; ask the administrator`)

  const res = await opts.fetch(parsed, { signal: opts.signal, redirect: 'follow' })
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined)
    throw new ProviderError('retryable', 'download_failed', `Could not download the image ${opts.source} returned (HTTP ${res.status})`, { status: res.status })
  }
  const declared = Number(res.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > opts.maxBytes) {
    await res.body?.cancel().catch(() => undefined)
    throw tooLarge()
  }
  if (!res.body) return Buffer.alloc(0)
  const chunks: Uint8Array[] = []
  let total = 0
  const reader = res.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > opts.maxBytes) {
      await reader.cancel().catch(() => undefined)
      throw tooLarge()
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}
