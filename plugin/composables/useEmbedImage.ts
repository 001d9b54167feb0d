// "Embed in deck": fetch the proxy's image (CORS) and re-encode it as a JPEG data URL ≤ 1600 px wide,
// so PPTX export works offline. Always JPEG: PPTist's export mislabels WebP.
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

export async function embedAsJpeg(url: string, deps: EmbedDeps = {}): Promise<string> {
  const doFetch = deps.fetchImpl ?? fetch
  const response = await doFetch(url, { mode: 'cors', credentials: 'omit' })
  if (!response.ok) throw new Error(`image ${response.status}`)
  const blob = await response.blob()
  return (deps.encoder ?? canvasJpegEncoder)(blob, EMBED_MAX_WIDTH, EMBED_QUALITY)
}

export function looksLikeWebp(url: string): boolean {
  return /\.webp(\?|#|$)/i.test(url) || url.startsWith('data:image/webp')
}
