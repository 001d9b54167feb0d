// Offline preview provider: draws the slide locally in the template's style with the page's own
// title and text (no API key, no network). The image carries a "PREVIEW · 预览" mark.
import type { GenerateRequest, GeneratedImage, ImageProvider } from './types.js'
import { ProviderError } from './types.js'
import type { FontSet } from '../render/fonts.js'
import { defaultFontSet } from '../render/fonts.js'
import { outputSize } from '../render/size.js'
import { layoutSlide, rasterize } from '../render/slide.js'
import { styleFor } from '../render/styles/index.js'

export interface PreviewProviderOptions {
  /** fonts to draw with; the process-wide set by default (opened once, on first use) */
  fonts?: FontSet
}

export function createPreviewProvider(opts: PreviewProviderOptions = {}): ImageProvider {
  return {
    name: 'preview',
    model: 'preview',
    async generate(req: GenerateRequest): Promise<GeneratedImage> {
      if (req.signal.aborted) throw new ProviderError('aborted', 'aborted', 'preview cancelled')
      const { width, height } = outputSize(req.aspectRatio, req.resolution)
      const p = req.page
      const layout = layoutSlide(styleFor(p.template), {
        pageType: p.pageType,
        title: p.title,
        content: p.content,
        deckTitle: p.deckTitle,
        pageNumber: p.pageNumber,
        totalPages: p.totalPages,
        mode: p.mode,
        language: p.language,
        ...(p.textBoxes ? { textBoxes: p.textBoxes } : {}),
      }, { width, height, previewMark: true, fonts: opts.fonts ?? defaultFontSet() })
      try {
        const bytes = await rasterize(layout)
        if (req.signal.aborted) throw new ProviderError('aborted', 'aborted', 'preview cancelled')
        const shortened = layout.texts.some(t => t.truncated)
        return { bytes, mime: 'image/png', ...(shortened ? { shortened: true } : {}) }
      } catch (err) {
        if (req.signal.aborted) throw new ProviderError('aborted', 'aborted', 'preview cancelled', { cause: err })
        throw new ProviderError('retryable', 'preview_failed', `preview renderer failed: ${(err as Error).message}`, { cause: err })
      }
    },
  }
}
