// Downloading an image a relay linked to instead of inlining it. The link comes from an answer we do
// not control (a relay can echo a URL from slide text), so it goes through the SSRF-filtered client
// (server/net/safeHttp.ts): http(s) only, no internal addresses after DNS or on any redirect, and a
// byte cap so one huge answer cannot take the memory. Bounded by its own deadline and cancelled with
// the caller's signal.
import { BlockedDestinationError, PUBLIC_ONLY, ResponseTooLargeError, safeRequest, type HostPolicy } from '../net/safeHttp.js'
import { ProviderError } from './types.js'
import { midSentence } from './errors.js'

export const DEFAULT_MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 60_000

export interface DownloadOptions {
  signal: AbortSignal
  maxBytes: number
  source: string
  /** which destinations are allowed (default: public addresses only) */
  hosts?: HostPolicy
}

/**
 * GET the image at `url` → its bytes. Errors (ProviderError): `image_url_blocked` (fatal: internal
 * address, bad scheme, too many redirects), `image_too_large` (fatal), `download_failed` (retryable,
 * non-2xx), `bad_response` (retryable, not a URL); network errors and aborts are rethrown as they are.
 */
export async function downloadImage(url: string, opts: DownloadOptions): Promise<Buffer> {
  try {
    new URL(url)
  }
  catch {
    throw new ProviderError('retryable', 'bad_response', `${opts.source} returned an image link that is not a valid URL`)
  }
  try {
    const res = await safeRequest(url, { signal: opts.signal, maxBytes: opts.maxBytes, policy: opts.hosts ?? PUBLIC_ONLY, headers: { accept: 'image/*' } })
    if (res.status < 200 || res.status >= 300) {
      throw new ProviderError('retryable', 'download_failed', `Could not download the image ${midSentence(opts.source)} returned (HTTP ${res.status})`, { status: res.status })
    }
    return res.body
  }
  catch (err) {
    if (err instanceof ResponseTooLargeError) {
      throw new ProviderError('fatal', 'image_too_large',
        `${opts.source} returned an image larger than ${Math.round(opts.maxBytes / 1024 / 1024)} MB — the relay is misbehaving; ask the administrator`)
    }
    if (err instanceof BlockedDestinationError) {
      throw new ProviderError('fatal', 'image_url_blocked',
        `${opts.source} linked its image at a destination the proxy does not fetch: ${err.message}. For a relay on an intranet set ALLOW_PRIVATE_IMAGE_HOSTS`)
    }
    throw err
  }
}
