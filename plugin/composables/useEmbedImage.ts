// "Embed in deck": a JPEG data URL ≤ 1600 px wide, so PPTX export works offline. Always JPEG:
// PPTist's export mislabels WebP. The proxy makes that JPEG itself (`<id>.embed.jpg`), so the browser
// only reads its bytes into a data URL — no decode of a 7–30 MB PNG, no canvas on the main thread.
// Other URLs (or an older proxy without the variant) are fetched and re-encoded on a canvas.
export const EMBED_MAX_WIDTH = 1600
export const EMBED_QUALITY = 0.85

export type ImageEncoder = (blob: Blob, maxWidth: number, quality: number) => Promise<string>

/** Canvas re-encoding in the browser. */
export const canvasJpegEncoder: ImageEncoder = async (blob, maxWidth, quality) => {
  const bitmap = await createImageBitmap(blob)
  try {
    const scale = Math.min(1, maxWidth / bitmap.width)
    const width = Math.round(bitmap.width * scale)
    const height = Math.round(bitmap.height * scale)
    const canvas = document.createElement('canvas')
    canvas.width = width
    canvas.height = height
    const ctx = canvas.getContext('2d')
    if (!ctx) throw new Error('canvas 2d context unavailable')
    // JPEG has no alpha: paint white first so transparent PNG areas do not turn black.
    ctx.fillStyle = '#fff'
    ctx.fillRect(0, 0, width, height)
    ctx.drawImage(bitmap, 0, 0, width, height)
    const dataUrl = canvas.toDataURL('image/jpeg', quality)
    if (!dataUrl.startsWith('data:image/jpeg')) throw new Error('JPEG encoding unavailable')
    return dataUrl
  }
  finally {
    bitmap.close()
  }
}

export interface EmbedDeps {
  fetchImpl?: typeof fetch
  encoder?: ImageEncoder
}

/** The proxy's compact JPEG for one of its images (`…/api/v1/images/<id>.png` → `…/<id>.embed.jpg`), or null. */
export function embedVariantUrl(url: string): string | null {
  const m = /^(.*\/api\/v1\/images\/)([a-f0-9]{32})\.(png|jpg)$/.exec(url)
  return m ? `${m[1]}${m[2]}.embed.jpg` : null
}

/** A blob's bytes as a data URL, without decoding the image (FileReader works off the main thread). */
export function blobToDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(String(reader.result))
    reader.onerror = () => reject(reader.error ?? new Error('could not read the image'))
    reader.readAsDataURL(blob)
  })
}

export async function embedAsJpeg(url: string, deps: EmbedDeps = {}): Promise<string> {
  const doFetch = deps.fetchImpl ?? fetch
  const variant = embedVariantUrl(url)
  if (variant) {
    // high: a slide waits for it, while thumbnails and other images share the six connections
    // (cast: PPTist's TypeScript 5.3 DOM types predate RequestInit.priority)
    const init = { mode: 'cors', credentials: 'omit', priority: 'high' } as RequestInit
    const ready = await doFetch(variant, init).catch(() => null)
    if (ready?.ok && ready.headers.get('content-type')?.startsWith('image/jpeg')) {
      const jpeg = await ready.blob()
      return blobToDataUrl(jpeg.type === 'image/jpeg' ? jpeg : new Blob([jpeg], { type: 'image/jpeg' }))
    }
  }
  const response = await doFetch(url, { mode: 'cors', credentials: 'omit' })
  if (!response.ok) throw new Error(`image ${response.status}`)
  const blob = await response.blob()
  return (deps.encoder ?? canvasJpegEncoder)(blob, EMBED_MAX_WIDTH, EMBED_QUALITY)
}

export function looksLikeWebp(url: string): boolean {
  return /\.webp(\?|#|$)/i.test(url) || url.startsWith('data:image/webp')
}
