// Fixed-size image models (gpt-image-1: 1536x1024, 1024x1536, 1024x1024) cannot draw a 16:9 slide.
// Stored as is, PPTist crops the 3:2 image (top and bottom lost) and the PPTX export stretches it.
// The model is told the safe area in the prompt (safeAreaNote) and the proxy crops the answer to the
// deck's aspect ratio, centred (cropToAspect), so the stored image has the slide's ratio within 1 %.
import sharp from 'sharp'
import type { AspectRatio } from '../../plugin/types/api.js'
import { ProviderError, type GeneratedImage } from './types.js'

/** Ratios within this relative difference count as equal (1 %). */
export const RATIO_TOLERANCE = 0.01

export function ratioOf(aspectRatio: AspectRatio): number {
  const [w, h] = aspectRatio.split(':').map(Number)
  return w / h
}

/** The largest centred rectangle of `target` ratio inside width × height, in whole pixels. */
export function centredCrop(width: number, height: number, target: number): { left: number; top: number; width: number; height: number } {
  if (width / height > target) {
    const w = Math.round(height * target)
    return { left: Math.floor((width - w) / 2), top: 0, width: w, height }
  }
  const h = Math.round(width / target)
  return { left: 0, top: Math.floor((height - h) / 2), width, height: h }
}

/**
 * A sentence for the prompt when the drawn size (`size` "WxH") is not the slide's ratio: which central
 * band survives the crop, so the model keeps titles and text inside it. Empty when no crop is needed.
 */
export function safeAreaNote(size: string, aspectRatio: AspectRatio): string {
  const m = /^(\d+)x(\d+)$/.exec(size)
  if (!m) return ''
  const [width, height] = [Number(m[1]), Number(m[2])]
  const target = ratioOf(aspectRatio)
  if (Math.abs(width / height / target - 1) <= RATIO_TOLERANCE) return ''
  const crop = centredCrop(width, height, target)
  const cut = crop.top > 0
    ? `${crop.top} px at the top and ${height - crop.height - crop.top} px at the bottom`
    : `${crop.left} px at the left and ${width - crop.width - crop.left} px at the right`
  return `\n\nImportant layout constraint: the ${width}×${height} picture will be cropped to the slide's ${aspectRatio} format, `
    + `keeping only the central ${crop.width}×${crop.height} px area (${cut} are cut off). `
    + 'Put every title, every text and every important element well inside that central area; let only background continue into the edges.'
}

/** Centre-crops an image to the aspect ratio (PNG stays PNG, JPEG stays JPEG); unchanged when within 1 %. */
export async function cropToAspect(image: GeneratedImage, aspectRatio: AspectRatio, source: string): Promise<GeneratedImage> {
  const target = ratioOf(aspectRatio)
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>
  try {
    meta = await sharp(image.bytes).metadata()
  }
  catch (err) {
    throw new ProviderError('retryable', 'invalid_image', `${source} returned an image that could not be read`, { cause: err })
  }
  const { width, height } = meta
  if (!width || !height || Math.abs(width / height / target - 1) <= RATIO_TOLERANCE) return image
  const crop = centredCrop(width, height, target)
  const cropped = sharp(image.bytes).extract(crop)
  const bytes = image.mime === 'image/jpeg' ? await cropped.jpeg({ quality: 92 }).toBuffer() : await cropped.png().toBuffer()
  return { ...image, bytes }
}
