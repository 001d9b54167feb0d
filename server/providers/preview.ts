// Offline preview provider: draws the slide locally in the template's style (no API key needed).
// Output is a PNG at the requested size, clearly marked as a preview.
import { Resvg } from '@resvg/resvg-js'
import type { GenerateRequest, GeneratedImage, ImageProvider } from './types.js'
import { outputSize } from '../render/size.js'

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }[c] ?? c))
}

export function createPreviewProvider(): ImageProvider {
  return {
    name: 'preview',
    model: 'preview',
    async generate(req: GenerateRequest): Promise<GeneratedImage> {
      const { width, height } = outputSize(req.aspectRatio, req.resolution)
      const color = req.page.template.metadata.color_scheme[0] ?? '#2563eb'
      const title = req.page.mode === 'background' ? '' : escapeXml(req.page.title.slice(0, 40))
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="${color}"/>
<text x="${width * 0.06}" y="${height * 0.45}" font-size="${height * 0.08}" fill="#ffffff" font-family="Noto Sans CJK SC, sans-serif" font-weight="bold">${title}</text>
<text x="${width * 0.98}" y="${height * 0.97}" text-anchor="end" font-size="${height * 0.025}" fill="#ffffff" fill-opacity="0.8" font-family="Noto Sans CJK SC, sans-serif">PREVIEW · 预览</text>
</svg>`
      const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'Noto Sans CJK SC' } }).render().asPng()
      return { bytes: Buffer.from(png), mime: 'image/png' }
    },
  }
}
