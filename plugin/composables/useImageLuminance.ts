// Reads a generated image's pixels in the browser to know what is under each text box, region by
// region (background mode, see host/readableText.ts). The proxy serves images with CORS, so a
// fetch (or a crossOrigin='anonymous' load) keeps the canvas readable; if it is tainted anyway, or the image does
// not load, the caller gets null and leaves the text as it is.
import type { Box } from '../host/extractText'
import { relativeLuminance, type Rgb } from '../host/contrast'
import { embedVariantUrl } from './useEmbedImage'

export interface ImagePixels {
  /** RGBA bytes, row by row */
  data: Uint8ClampedArray
  width: number
  height: number
}

// Enough detail for regions of REGION_UNITS (640 px for a 1000-unit slide: 12.8 px a region);
// keeps getImageData cheap.
const SAMPLE_WIDTH = 640
/** side of a region, in slide units: about a line of body text (PPTist's 16–24 px) */
export const REGION_UNITS = 20
const MAX_REGIONS_PER_SIDE = 64
const LOAD_TIMEOUT_MS = 15_000

/** A slide box → the pixel rectangle it covers in an image drawn with `background-size: cover`. */
export function boxToPixelRect(box: Box, slideWidth: number, slideHeight: number, image: { width: number; height: number }) {
  const scale = Math.max(slideWidth / image.width, slideHeight / image.height)
  const offsetX = (slideWidth - image.width * scale) / 2
  const offsetY = (slideHeight - image.height * scale) / 2
  const clampX = (x: number) => Math.min(image.width, Math.max(0, x))
  const clampY = (y: number) => Math.min(image.height, Math.max(0, y))
  const x0 = clampX(Math.floor((box.left - offsetX) / scale))
  const y0 = clampY(Math.floor((box.top - offsetY) / scale))
  const x1 = clampX(Math.ceil((box.left + box.width - offsetX) / scale))
  const y1 = clampY(Math.ceil((box.top + box.height - offsetY) / scale))
  return { x0, y0, x1, y1 }
}

/** Mean WCAG luminance of the image under a slide box; null when the box misses the image. */
export function luminanceUnder(pixels: ImagePixels, box: Box, slideWidth: number, slideHeight: number): number | null {
  const { x0, y0, x1, y1 } = boxToPixelRect(box, slideWidth, slideHeight, pixels)
  if (x1 <= x0 || y1 <= y0) return null
  let sum = 0
  let count = 0
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * pixels.width + x) * 4
      sum += relativeLuminance([pixels.data[i], pixels.data[i + 1], pixels.data[i + 2]])
      count++
    }
  }
  return count ? sum / count : null
}

// sRGB channel → linear light, for per-pixel luminance without pow() in the loop
const LINEAR = Float64Array.from({ length: 256 }, (_, v) => {
  const c = v / 255
  return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
})
/** the share of a region's pixels left out at each end (anti-aliasing, a stray pixel) */
export const REGION_TAIL = 0.05

/**
 * What text over a slide box is drawn on, region by region: the box is cut into a grid of regions of
 * about `regionUnits` slide units (at least one pixel each) and each region gives two colours, its
 * dark end and its light end (the pixels at the 5th and 95th luminance percentile) — so a region
 * crossed by stripes or a thin line counts by its extremes, not by a mean that no pixel has.
 * Row by row, two colours a region; null when the box misses the image. The same function judges
 * the text (host/readableText.ts) and checks the rendered slide in the browser test.
 */
export function regionsUnder(pixels: ImagePixels, box: Box, slideWidth: number, slideHeight: number, regionUnits = REGION_UNITS): Rgb[] | null {
  const { x0, y0, x1, y1 } = boxToPixelRect(box, slideWidth, slideHeight, pixels)
  if (x1 <= x0 || y1 <= y0) return null
  const cols = Math.max(1, Math.min(MAX_REGIONS_PER_SIDE, x1 - x0, Math.round(box.width / regionUnits)))
  const rows = Math.max(1, Math.min(MAX_REGIONS_PER_SIDE, y1 - y0, Math.round(box.height / regionUnits)))
  const { data, width } = pixels
  const colors: Rgb[] = []
  const cell: { lum: number; i: number }[] = []
  for (let row = 0; row < rows; row++) {
    const ry0 = y0 + Math.floor((y1 - y0) * row / rows)
    const ry1 = y0 + Math.floor((y1 - y0) * (row + 1) / rows)
    for (let col = 0; col < cols; col++) {
      const rx0 = x0 + Math.floor((x1 - x0) * col / cols)
      const rx1 = x0 + Math.floor((x1 - x0) * (col + 1) / cols)
      cell.length = 0
      for (let y = ry0; y < ry1; y++) {
        for (let x = rx0, i = (y * width + rx0) * 4; x < rx1; x++, i += 4) {
          cell.push({ lum: 0.2126 * LINEAR[data[i]] + 0.7152 * LINEAR[data[i + 1]] + 0.0722 * LINEAR[data[i + 2]], i })
        }
      }
      if (!cell.length) continue
      cell.sort((a, b) => a.lum - b.lum)
      const tail = Math.min(Math.floor((cell.length - 1) / 2), Math.round(cell.length * REGION_TAIL))
      for (const k of [tail, cell.length - 1 - tail]) {
        const i = cell[k].i
        colors.push([data[i], data[i + 1], data[i + 2]])
      }
    }
  }
  return colors.length ? colors : null
}

/** The image's pixels (downscaled), or null if it cannot be loaded or read (tainted canvas). */
export function loadImagePixels(src: string, timeoutMs = LOAD_TIMEOUT_MS): Promise<ImagePixels | null> {
  if (typeof document === 'undefined') return Promise.resolve(null)
  if (typeof createImageBitmap === 'function' && typeof fetch === 'function') {
    // the proxy's compact JPEG of the same picture (≈ 1/100 of a 2K PNG's bytes, same framing) is
    // plenty for a 320 px sample; the full image only when there is none (older proxy, other URLs)
    const variant = embedVariantUrl(src)
    const fromVariant = variant ? loadPixelsOffThread(variant, timeoutMs) : Promise.resolve(null)
    return fromVariant.then(pixels => pixels ?? loadPixelsOffThread(src, timeoutMs))
  }
  return loadPixelsWithImage(src, timeoutMs)
}

/**
 * fetch → Blob → createImageBitmap shrunk to SAMPLE_WIDTH: the browser decodes the image off the main
 * thread (an <img> drawn on a canvas decodes the full 2K/4K image on it, a long task per page), and
 * only the small bitmap is drawn. The proxy serves images with CORS; a data URL needs none.
 */
async function loadPixelsOffThread(src: string, timeoutMs: number): Promise<ImagePixels | null> {
  try {
    const response = await fetch(src, { mode: 'cors', credentials: 'omit', signal: AbortSignal.timeout(timeoutMs) })
    if (!response.ok) return null
    const bitmap = await createImageBitmap(await response.blob(), { resizeWidth: SAMPLE_WIDTH, resizeQuality: 'low' })
    try {
      const canvas = document.createElement('canvas')
      canvas.width = bitmap.width
      canvas.height = bitmap.height
      const context = canvas.getContext('2d')
      if (!context) return null
      context.drawImage(bitmap, 0, 0)
      const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height)
      return { data, width: bitmap.width, height: bitmap.height }
    }
    finally {
      bitmap.close()
    }
  }
  catch {
    return null
  }
}

function loadPixelsWithImage(src: string, timeoutMs: number): Promise<ImagePixels | null> {
  if (typeof Image === 'undefined') return Promise.resolve(null)
  return new Promise(resolve => {
    const image = new Image()
    image.crossOrigin = 'anonymous'
    image.decoding = 'async'
    const timer = setTimeout(() => resolve(null), timeoutMs)
    image.onerror = () => {
      clearTimeout(timer)
      resolve(null)
    }
    image.onload = () => {
      clearTimeout(timer)
      try {
        const width = Math.max(1, Math.min(SAMPLE_WIDTH, image.naturalWidth))
        const height = Math.max(1, Math.round(image.naturalHeight * width / Math.max(1, image.naturalWidth)))
        const canvas = document.createElement('canvas')
        canvas.width = width
        canvas.height = height
        const context = canvas.getContext('2d')
        if (!context) return resolve(null)
        context.drawImage(image, 0, 0, width, height)
        const { data } = context.getImageData(0, 0, width, height) // throws SecurityError when tainted
        resolve({ data, width, height })
      }
      catch {
        resolve(null)
      }
    }
    image.src = src
  })
}
