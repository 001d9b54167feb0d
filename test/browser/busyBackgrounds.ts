// Background images a model that ignores "keep these areas calm" could draw, for the fake Gemini
// (its `image` option): the text rectangles named in the prompt get exactly what makes the slide's
// text unreadable. Picked by the template named in the prompt:
//   Business Pro    — a cream, textured page with a gold shape under the first (top) text box
//   Tech Future     — a navy page with a faint grid and a cyan glow (grey body text on navy)
//   Fresh Education — green/cream diagonal stripes and yellow dots everywhere (no colour reads)
import sharp from 'sharp'

export interface PromptRect { x: number; y: number; w: number; h: number }

/** The rectangles of "from 6% to 94% across, 5% to 16% down; …" as fractions of the canvas. */
export function rectsOf(prompt: string): PromptRect[] {
  const rects: PromptRect[] = []
  for (const m of prompt.matchAll(/from (\d+)% to (\d+)% across, (\d+)% to (\d+)% down/g)) {
    const [x0, x1, y0, y1] = [1, 2, 3, 4].map(i => Number(m[i]) / 100)
    rects.push({ x: x0, y: y0, w: x1 - x0, h: y1 - y0 })
  }
  return rects
}

/** paper grain: a fine dot pattern (cheaper to draw than an feTurbulence filter) */
const grain = (id: string) => `<pattern id="${id}" width="6" height="6" patternUnits="userSpaceOnUse">`
  + '<rect x="1" y="2" width="1" height="1" fill="#000" fill-opacity="0.08"/><rect x="4" y="4" width="1" height="1" fill="#fff" fill-opacity="0.3"/></pattern>'

function svgFor(prompt: string, W: number, H: number): string {
  const rects = rectsOf(prompt)
  const px = (r: PromptRect, pad = 0) => ({ x: (r.x - pad) * W, y: (r.y - pad) * H, w: (r.w + 2 * pad) * W, h: (r.h + 2 * pad) * H })
  const parts: string[] = []
  let defs = ''
  if (prompt.includes('Business Pro')) {
    defs = grain('grain')
    parts.push(`<rect width="${W}" height="${H}" fill="#efe6d2"/>`, `<rect width="${W}" height="${H}" fill="url(#grain)"/>`)
    parts.push(`<path d="M0 ${H * 0.82} Q ${W * 0.5} ${H * 0.7} ${W} ${H * 0.86} L ${W} ${H} L 0 ${H} Z" fill="#c9a227"/>`)
    parts.push(`<circle cx="${W * 0.95}" cy="${H * 0.08}" r="${H * 0.12}" fill="#d8b64a"/>`)
    // the gold shape under the top text box (where white text sits on this template's covers)
    const top = rects[0]
    if (top) {
      const r = px(top, 0.02)
      parts.push(`<rect x="${r.x}" y="${r.y}" width="${r.w}" height="${r.h}" rx="${H * 0.02}" fill="#c9a227"/>`)
      parts.push(`<rect x="${r.x}" y="${r.y + r.h * 0.45}" width="${r.w}" height="${r.h * 0.12}" fill="#b8901c"/>`)
    }
  }
  else if (prompt.includes('Tech Future')) {
    defs = `<linearGradient id="navy" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#1a3464"/><stop offset="1" stop-color="#22427a"/></linearGradient>`
      + `<radialGradient id="glow"><stop offset="0" stop-color="#4fd1e8" stop-opacity="0.55"/><stop offset="1" stop-color="#4fd1e8" stop-opacity="0"/></radialGradient>`
    parts.push(`<rect width="${W}" height="${H}" fill="url(#navy)"/>`)
    for (let x = 0; x < W; x += W / 24) parts.push(`<line x1="${x}" y1="0" x2="${x}" y2="${H}" stroke="#2b4f8f" stroke-width="1"/>`)
    for (let y = 0; y < H; y += H / 14) parts.push(`<line x1="0" y1="${y}" x2="${W}" y2="${y}" stroke="#2b4f8f" stroke-width="1"/>`)
    parts.push(`<circle cx="${W * 0.85}" cy="${H * 0.2}" r="${H * 0.35}" fill="url(#glow)"/>`)
  }
  else {
    defs = `<pattern id="stripes" width="56" height="56" patternUnits="userSpaceOnUse" patternTransform="rotate(35)">`
      + `<rect width="56" height="56" fill="#f7f3e8"/><rect width="28" height="56" fill="#2d6a4f"/></pattern>`
    parts.push(`<rect width="${W}" height="${H}" fill="url(#stripes)"/>`)
    for (let i = 0; i < 14; i++) parts.push(`<circle cx="${(i * 0.137 + 0.05) % 1 * W}" cy="${(i * 0.311 + 0.1) % 1 * H}" r="${H * 0.05}" fill="#f4d35e"/>`)
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><defs>${defs}</defs>${parts.join('')}</svg>`
}

/** A PNG of `width` × `height` for the prompt (see the file comment). */
export async function busyBackground(prompt: string, width: number, height: number): Promise<Buffer> {
  return sharp(Buffer.from(svgFor(prompt, width, height))).png({ compressionLevel: 3 }).toBuffer()
}
