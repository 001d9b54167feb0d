// OpenAI Images API (gpt-image models and compatible services) — upstream.md §3.
// No references: POST {baseUrl}/images/generations (JSON). With references: POST {baseUrl}/images/edits
// (multipart, one `image[]` file per reference).
import type { AspectRatio, Resolution } from '../../plugin/types/api.js'
import { ProviderError, timeoutFor, type GeneratedImage, type GenerateRequest, type ImageProvider } from './types.js'
import { answerShape, isRecord } from './errors.js'
import { cropToAspect, safeAreaNote } from './fitAspect.js'
import { postOpenAI, type OpenAIAnswer, type OpenAICallContext } from './openaiHttp.js'
import { findChatImage, resolveFoundImage, withRelease, type OpenAIProviderOptions } from './openaiChat.js'

/** Models that only accept the three fixed sizes (gpt-image-1, gpt-image-1-mini, gpt-image-1.5, dall-e-*). */
export function hasFixedSizes(model: string): boolean {
  return /(^|\/)(gpt-image-1|dall-e)/i.test(model)
}

const LONG_EDGE: Record<Resolution, number> = { '1K': 1536, '2K': 2560, '4K': 3840 }

/**
 * The `size` parameter for an aspect ratio and resolution:
 * - fixed-size models: the closest of 1536x1024 (landscape), 1024x1536 (portrait), 1024x1024 (square);
 *   dall-e-3: 1792x1024 / 1024x1792 / 1024x1024; dall-e-2: 1024x1024 only (the proxy crops to the slide's ratio);
 * - other models (any W×H divisible by 16): long edge 1536 / 2560 / 3840 for 1K / 2K / 4K,
 *   the short edge from the ratio, rounded to 16 (16:9 → 1536x864, 2560x1440, 3840x2160).
 */
export function imagesApiSize(model: string, aspectRatio: AspectRatio, resolution: Resolution): string {
  const [w, h] = aspectRatio.split(':').map(Number)
  const ratio = w / h
  if (/(^|\/)dall-e-2/i.test(model)) return '1024x1024'
  if (/(^|\/)dall-e-3/i.test(model)) {
    // dall-e-3 draws 1024x1024, 1792x1024, 1024x1792 only (OpenAI Images API reference)
    if (ratio > 1.1) return '1792x1024'
    if (ratio < 0.9) return '1024x1792'
    return '1024x1024'
  }
  if (hasFixedSizes(model)) {
    if (ratio > 1.1) return '1536x1024'
    if (ratio < 0.9) return '1024x1536'
    return '1024x1024'
  }
  const long = LONG_EDGE[resolution]
  const short = Math.round(long / Math.max(ratio, 1 / ratio) / 16) * 16
  return ratio >= 1 ? `${long}x${short}` : `${short}x${long}`
}

/** `quality`: gpt-image models take low|medium|high, dall-e-3 standard|hd. */
export function imagesApiQuality(model: string, resolution: Resolution): string {
  if (/dall-e/i.test(model)) return resolution === '1K' ? 'standard' : 'hd'
  return resolution === '1K' ? 'medium' : 'high'
}

export function createOpenAIImagesProvider(opts: OpenAIProviderOptions): ImageProvider {
  const fetchImpl = opts.fetch ?? fetch
  const source = 'The image API'
  const baseCtx: OpenAICallContext = { source, model: opts.model, keyEnv: 'OPENAI_API_KEY', modelEnv: 'OPENAI_IMAGE_MODEL', apiKey: opts.apiKey, timeoutMs: opts.timeoutMs, fetch: fetchImpl, maxResponseBytes: opts.maxDownloadBytes, buffers: opts.buffers }
  const base = opts.baseUrl.replace(/\/+$/, '')

  async function generate(req: GenerateRequest): Promise<GeneratedImage> {
    const ctx: OpenAICallContext = { ...baseCtx, timeoutMs: timeoutFor(opts, req.resolution) }
    const size = imagesApiSize(opts.model, req.aspectRatio, req.resolution)
    const quality = imagesApiQuality(opts.model, req.resolution)
    // a fixed size that is not the slide's ratio: tell the model what survives the crop below
    const prompt = req.prompt + safeAreaNote(size, req.aspectRatio)
    // dall-e answers with a URL unless asked for base64; gpt-image models always answer base64
    const responseFormat = /dall-e/i.test(opts.model) ? { response_format: 'b64_json' } : {}
    let answer: OpenAIAnswer
    if (req.references.length === 0) {
      const body = JSON.stringify({ model: opts.model, prompt, size, quality, n: 1, ...responseFormat })
      answer = await postOpenAI(`${base}/images/generations`, body, req.signal, ctx)
    }
    else {
      const form = new FormData()
      form.append('model', opts.model)
      form.append('prompt', prompt)
      form.append('size', size)
      form.append('quality', quality)
      form.append('n', '1')
      if (responseFormat.response_format) form.append('response_format', responseFormat.response_format)
      req.references.forEach((ref, i) => {
        const ext = ref.mime === 'image/png' ? 'png' : 'jpg'
        form.append('image[]', new Blob([new Uint8Array(ref.bytes)], { type: ref.mime }), `reference-${i + 1}.${ext}`)
      })
      answer = await postOpenAI(`${base}/images/edits`, form, req.signal, ctx)
    }
    const { body: answerBody, blobs } = answer
    return withRelease(answer.release, async () => {
      const first = Array.isArray(answerBody.data) && isRecord(answerBody.data[0]) ? answerBody.data[0] : undefined
      const found = first ? findChatImage({ data: [first] }, opts.baseUrl, blobs) : null
      if (!found) {
        const revised = typeof first?.revised_prompt === 'string' ? ` (${first.revised_prompt.slice(0, 120)})` : ''
        throw new ProviderError('retryable', 'no_image', `${source} answered without an image${revised}`, { answerShape: answerShape(answerBody) })
      }
      const image = await resolveFoundImage(found, req, { source, hosts: opts.imageHosts, maxDownloadBytes: opts.maxDownloadBytes, downloadTimeoutMs: opts.downloadTimeoutMs, secrets: [opts.apiKey] })
      // the stored image has the slide's ratio (within 1 %), whatever size the model drew
      return cropToAspect(image, req.aspectRatio, source)
    })
  }

  return { name: 'openai-images', model: opts.model, generate }
}
