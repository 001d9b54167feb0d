import { describe, expect, it } from 'vitest'
import {
  contrastRatio, DARK_TEXT, LIGHT_TEXT, parseCssColor, pickReadableTextColor, readableOnBackground,
  recolorForBackground, relativeLuminance, textColorsOf,
} from '../../plugin/host/readableText'
import { boxToPixelRect, luminanceUnder, type ImagePixels } from '../../plugin/composables/useImageLuminance'
import type { Slide, TextElement } from '../../plugin/host/types'

const WHITE_BG = 1
const BLACK_BG = 0
const lum = (css: string) => relativeLuminance(parseCssColor(css)!)

describe('colour maths', () => {
  it('parses hex, short hex, rgb()/rgba() and names; nothing else', () => {
    expect(parseCssColor('#fff')).toEqual([255, 255, 255])
    expect(parseCssColor('#1F5FA8')).toEqual([31, 95, 168])
    expect(parseCssColor('#1f5fa880')).toEqual([31, 95, 168])
    expect(parseCssColor('rgb(10, 20, 30)')).toEqual([10, 20, 30])
    expect(parseCssColor('rgba(10,20,30,0.5)')).toEqual([10, 20, 30])
    expect(parseCssColor('white')).toEqual([255, 255, 255])
    expect(parseCssColor('inherit')).toBeNull()
    expect(parseCssColor('')).toBeNull()
  })

  it('WCAG luminance and contrast: black on white is 21, same colours 1', () => {
    expect(relativeLuminance([255, 255, 255])).toBeCloseTo(1)
    expect(relativeLuminance([0, 0, 0])).toBe(0)
    expect(contrastRatio(1, 0)).toBeCloseTo(21)
    expect(contrastRatio(0.4, 0.4)).toBe(1)
    // #777 on white is about 4.48 (a well-known reference value)
    expect(contrastRatio(1, lum('#777777'))).toBeCloseTo(4.48, 1)
  })
})

describe('pickReadableTextColor', () => {
  it('white text on a light background turns near-black', () => {
    expect(pickReadableTextColor(lum('#f4f8ee'), '#ffffff')).toBe(DARK_TEXT)
  })

  it('dark text on a dark background turns white', () => {
    expect(pickReadableTextColor(lum('#0b1a33'), '#1f5fa8')).toBe(LIGHT_TEXT)
    expect(pickReadableTextColor(BLACK_BG, '#333333')).toBe(LIGHT_TEXT)
  })

  it('keeps colours that already read (contrast ≥ 3), accents included', () => {
    expect(pickReadableTextColor(WHITE_BG, '#333333')).toBeNull()
    expect(pickReadableTextColor(WHITE_BG, '#1f5fa8')).toBeNull()
    expect(pickReadableTextColor(BLACK_BG, '#ffffff')).toBeNull()
    expect(pickReadableTextColor(BLACK_BG, '#f5a623')).toBeNull()
  })

  it('a mid-grey background gets whichever of the two contrasts more', () => {
    const midLight = lum('#a0a0a0') // contrast with black-ish beats white
    expect(pickReadableTextColor(midLight, '#a8a8a8')).toBe(DARK_TEXT)
    const midDark = lum('#505050')
    expect(pickReadableTextColor(midDark, '#555555')).toBe(LIGHT_TEXT)
  })

  it('leaves a colour it does not understand alone', () => {
    expect(pickReadableTextColor(WHITE_BG, 'var(--x)')).toBeNull()
  })
})

const textEl = (content: string, extra: Partial<TextElement> = {}): TextElement => ({
  id: 't', type: 'text', left: 40, top: 200, width: 240, height: 80, content, defaultColor: '#ffffff', ...extra,
})

describe('recolouring a PPTist text element', () => {
  it('rewrites defaultColor and unreadable inline colours; keeps readable accents, background-color and the words', () => {
    const el = textEl(
      '<p style="text-align: left;"><span style="font-size: 44px; color: #ffffff; font-weight: bold;">目录</span></p>'
      + '<p><span style="color:#1f5fa8;background-color: #ffffff">color: white 是文字</span></p>',
    )
    expect(textColorsOf(el)).toEqual(['#ffffff', '#ffffff', '#1f5fa8'])
    const recolored = recolorForBackground(el, lum('#f4f8ee'))!
    expect(recolored.defaultColor).toBe(DARK_TEXT)
    expect(recolored.content).toBe(
      '<p style="text-align: left;"><span style="font-size: 44px; color: #1f1f1f; font-weight: bold;">目录</span></p>'
      + '<p><span style="color:#1f5fa8;background-color: #ffffff">color: white 是文字</span></p>',
    )
    expect(el.defaultColor).toBe('#ffffff') // the input is not mutated
  })

  it('returns null when everything already reads', () => {
    expect(recolorForBackground(textEl('<p><span style="color: #333">a</span></p>', { defaultColor: '#333333' }), WHITE_BG)).toBeNull()
  })

  it('readableOnBackground: only text drawn on the image, with the luminance under its own box', () => {
    const elements: Slide['elements'] = [
      textEl('<p>目录</p>', { id: 'on-light' }),
      textEl('<p>CONTENTS</p>', { id: 'on-dark', left: 600 }),
      textEl('<p>boxed</p>', { id: 'filled', fill: '#1f5fa8' }),
      textEl('<p>unknown</p>', { id: 'unknown', left: 900 }),
      { id: 'pic', type: 'image', src: 'x.png', left: 0, top: 0, width: 100, height: 100 },
    ]
    const seen: string[] = []
    const result = readableOnBackground(elements, box => {
      seen.push(`${box.left},${box.top},${box.width},${box.height}`)
      if (box.left === 900) return null
      return box.left < 500 ? lum('#f4f8ee') : lum('#102030')
    })!
    expect(seen).toEqual(['40,200,240,80', '600,200,240,80', '900,200,240,80'])
    expect(result.map(el => (el as TextElement).defaultColor)).toEqual([DARK_TEXT, '#ffffff', '#ffffff', '#ffffff', undefined])
    expect(result[4]).toBe(elements[4])
    expect(readableOnBackground(elements, () => lum('#000000'))).toBeNull()
  })
})

describe('image luminance under a slide box', () => {
  // 16 × 9 pixels: left half white, right half black
  function halfAndHalf(width = 16, height = 9): ImagePixels {
    const data = new Uint8ClampedArray(width * height * 4)
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4
        const v = x < width / 2 ? 255 : 0
        data.set([v, v, v, 255], i)
      }
    }
    return { data, width, height }
  }

  it('maps slide units to pixels (same aspect ratio)', () => {
    expect(boxToPixelRect({ left: 0, top: 0, width: 500, height: 562.5 }, 1000, 562.5, { width: 16, height: 9 }))
      .toEqual({ x0: 0, y0: 0, x1: 8, y1: 9 })
  })

  it('maps through a cover crop when the image is wider than the slide', () => {
    // 32 × 9 image on a 16:9 slide: drawn 2000 wide, 500 cut off each side
    expect(boxToPixelRect({ left: 0, top: 0, width: 1000, height: 562.5 }, 1000, 562.5, { width: 32, height: 9 }))
      .toEqual({ x0: 8, y0: 0, x1: 24, y1: 9 })
  })

  it('averages the luminance under the box; null when it misses the image', () => {
    const pixels = halfAndHalf()
    expect(luminanceUnder(pixels, { left: 50, top: 100, width: 300, height: 200 }, 1000, 562.5)).toBeCloseTo(1)
    expect(luminanceUnder(pixels, { left: 600, top: 100, width: 300, height: 200 }, 1000, 562.5)).toBe(0)
    expect(luminanceUnder(pixels, { left: 0, top: 0, width: 1000, height: 562.5 }, 1000, 562.5)).toBeCloseTo(0.5)
    expect(luminanceUnder(pixels, { left: 1200, top: 0, width: 100, height: 100 }, 1000, 562.5)).toBeNull()
  })
})
