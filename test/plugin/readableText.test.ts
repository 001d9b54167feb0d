import { describe, expect, it } from 'vitest'
import {
  AA_BODY, AA_LARGE, blend, contrastOf, contrastRatio, parseCssColor, parseCssRgba, relativeLuminance, requiredContrast,
  worstContrast, type Rgb,
} from '../../plugin/host/contrast'
import { recolorTags, textRuns } from '../../plugin/host/richTextRuns'
import {
  DARK_TEXT, LIGHT_TEXT, measureRuns, pickReadableTextColor, readableColorOver, readableElement, readableOnBackground,
} from '../../plugin/host/readableText'
import { boxToPixelRect, luminanceUnder, regionsUnder, type ImagePixels } from '../../plugin/composables/useImageLuminance'
import type { Slide, TextElement } from '../../plugin/host/types'

const rgb = (css: string) => parseCssColor(css) as Rgb
const lum = (css: string) => relativeLuminance(rgb(css))

describe('WCAG colour maths', () => {
  it('parses hex (with alpha), rgb()/rgba() with commas, slashes or %, names and transparent; nothing else', () => {
    expect(parseCssColor('#fff')).toEqual([255, 255, 255])
    expect(parseCssColor('#1F5FA8')).toEqual([31, 95, 168])
    expect(parseCssRgba('#1f5fa880')).toEqual({ rgb: [31, 95, 168], alpha: 128 / 255 })
    expect(parseCssRgba('rgba(10,20,30,0.5)')).toEqual({ rgb: [10, 20, 30], alpha: 0.5 })
    expect(parseCssRgba('rgb(10 20 30 / 40%)')).toEqual({ rgb: [10, 20, 30], alpha: 0.4 })
    expect(parseCssRgba('transparent')?.alpha).toBe(0)
    expect(parseCssColor('white')).toEqual([255, 255, 255])
    expect(parseCssColor('inherit')).toBeNull()
    expect(parseCssColor('var(--x)')).toBeNull()
    expect(parseCssColor('')).toBeNull()
  })

  it('luminance and contrast give the known WCAG values', () => {
    expect(relativeLuminance([255, 255, 255])).toBeCloseTo(1)
    expect(relativeLuminance([0, 0, 0])).toBe(0)
    expect(contrastRatio(1, 0)).toBeCloseTo(21)
    expect(contrastRatio(0.4, 0.4)).toBe(1)
    // reference values (WebAIM contrast checker): #777 on white 4.48, #767676 4.54 (the lightest AA grey), #595959 7.0
    expect(contrastOf(rgb('#777777'), rgb('#ffffff'))).toBeCloseTo(4.48, 2)
    expect(contrastOf(rgb('#767676'), rgb('#ffffff'))).toBeCloseTo(4.54, 2)
    expect(contrastOf(rgb('#595959'), rgb('#ffffff'))).toBeCloseTo(7.0, 1)
    expect(contrastOf(rgb('#ffffff'), rgb('#ffffff'))).toBe(1)
    // the cases: white on gold, grey body on navy
    expect(contrastOf(rgb('#ffffff'), rgb('#c9a227'))).toBeLessThan(AA_LARGE)
    expect(contrastOf(rgb('#8a8f99'), rgb('#1e3a6e'))).toBeLessThan(AA_BODY)
  })

  it('blends like a browser and judges by the worst region', () => {
    expect(blend([255, 255, 255], 0.5, [0, 0, 0])).toEqual([127.5, 127.5, 127.5])
    expect(blend([10, 20, 30], 1, [0, 0, 0])).toEqual([10, 20, 30])
    const regions: Rgb[] = [[255, 255, 255], [240, 240, 240], [120, 120, 120]]
    expect(worstContrast([0, 0, 0], regions)).toBeCloseTo(contrastOf([0, 0, 0], [120, 120, 120]))
    expect(worstContrast([0, 0, 0], [])).toBe(Infinity)
  })

  it('large text is ≥ 24 px, or ≥ 18.66 px bold', () => {
    expect(requiredContrast(16, false)).toBe(4.5)
    expect(requiredContrast(23.9, false)).toBe(4.5)
    expect(requiredContrast(24, false)).toBe(3)
    expect(requiredContrast(18, true)).toBe(4.5)
    expect(requiredContrast(18.66, true)).toBe(3)
  })
})

describe('rich-text runs', () => {
  const html = '<p style="text-align: left;"><span style="font-size: 40px; color: #ffffff; font-weight: bold;">目录</span></p>'
    + '<p>正文 <code>npm ci</code> <span style="background-color: #fff59d">高亮</span> <strong>粗</strong></p>'
    + '<p style="font-size: 20px"><span style="color:#1f5fa8"><em>1.5em</em> <span style="font-size: 1.5em">大</span></span></p>'

  it('tells each run its colour, owner, own background, size and weight', () => {
    const runs = textRuns(html, '#333333')
    expect(runs.map(r => [r.text.trim(), r.color, r.owner, r.background, r.sizePx, r.bold])).toEqual([
      ['目录', '#ffffff', 1, null, 40, true],
      ['正文', '#333333', 'default', null, 16, false],
      ['npm ci', '#333333', 3, '#f1f1f1', 16, false], // code: PPTist paints it #f1f1f1; its colour is decided there
      ['高亮', '#333333', 4, '#fff59d', 16, false],
      ['粗', '#333333', 'default', null, 16, true],
      ['1.5em', '#1f5fa8', 7, null, 20, false],
      ['大', '#1f5fa8', 7, null, 30, false],
    ])
  })

  it('recolours the chosen tags only (a colour added where none was), everything else byte for byte', () => {
    const out = recolorTags(html, new Map([[1, '#1f1f1f'], [3, '#000000'], [7, '#ffffff']]))
    expect(out).toBe(html
      .replace('color: #ffffff;', 'color: #1f1f1f;')
      .replace('<code>', '<code style="color: #000000;">')
      .replace('color:#1f5fa8', 'color: #ffffff'))
    expect(recolorTags('<p><span style="font-size: 20px">a</span></p>', new Map([[1, '#000']]))).toBe('<p><span style="font-size: 20px; color: #000;">a</span></p>')
    expect(recolorTags(html, new Map())).toBe(html)
  })
})

const textEl = (content: string, extra: Partial<TextElement> = {}): TextElement => ({
  id: 't', type: 'text', left: 40, top: 200, width: 240, height: 80, content, defaultColor: '#ffffff', ...extra,
})
const GOLD: Rgb = [201, 162, 39]
const NAVY: Rgb = [30, 58, 110]
/** the worst run of an element measured against regions: contrast / required */
const worstMargin = (el: TextElement, regions: Rgb[]) => Math.min(...measureRuns(el, regions).map(r => r.contrast / r.required))

describe('readable text by measure', () => {
  it('white title over a gold shape: switches to near-black, measured ≥ 3:1 over every region', () => {
    const el = textEl('<p><span style="font-size: 40px; font-weight: bold">目录</span></p>')
    const regions: Rgb[] = [GOLD, GOLD, [214, 178, 60], [190, 150, 30]]
    expect(worstMargin(el, regions)).toBeLessThan(1)
    const fixed = readableElement(el, regions)!
    expect(fixed.defaultColor).toBe(DARK_TEXT)
    expect(fixed.fill).toBeUndefined()
    expect(Math.min(...measureRuns(fixed, regions).map(r => r.contrast))).toBeGreaterThanOrEqual(3)
  })

  it('grey body on navy: 16 px needs 4.5:1, so it turns white', () => {
    const el = textEl('<p>季度营收同比增长</p>', { defaultColor: '#8a8f99' })
    const fixed = readableElement(el, [NAVY, [28, 52, 100]])!
    expect(fixed.defaultColor).toBe(LIGHT_TEXT)
    expect(measureRuns(fixed, [NAVY, [28, 52, 100]])[0].contrast).toBeGreaterThanOrEqual(4.5)
  })

  it('the same grey as a 28 px title only needs 3:1 and keeps the template colour if it reaches it', () => {
    const el = textEl('<p><span style="font-size: 28px">标题</span></p>', { defaultColor: '#a9b4c8' })
    expect(measureRuns(el, [NAVY])[0].contrast).toBeGreaterThan(3 * 1.06)
    expect(readableElement(el, [NAVY])).toBeNull()
  })

  it('judges by the worst region, not the average', () => {
    // mostly white with one dark patch: the average reads for #333, the patch does not
    const regions: Rgb[] = [...Array(9).fill([255, 255, 255]), [40, 40, 40]]
    const el = textEl('<p>正文</p>', { defaultColor: '#333333' })
    const mean = regions.reduce((sum, r) => sum + relativeLuminance(r), 0) / regions.length
    expect(contrastRatio(mean, lum('#333333'))).toBeGreaterThan(4.5)
    const fixed = readableElement(el, regions)!
    expect(fixed).not.toBeNull()
    expect(worstMargin(fixed, regions)).toBeGreaterThanOrEqual(1)
  })

  it('a code span on its light grey keeps dark text while the body around it turns white', () => {
    const el = textEl('<p>运行 <code>npm ci</code> 安装</p>', { defaultColor: '#333333' })
    const fixed = readableElement(el, [NAVY])!
    expect(fixed.defaultColor).toBe(LIGHT_TEXT)
    // the code span gets a colour of its own, dark, judged against #f1f1f1
    expect(fixed.content).toMatch(/^<p>运行 <code style="color: #[0-9a-f]{6};">npm ci<\/code> 安装<\/p>$/)
    const runs = measureRuns(fixed, [NAVY])
    expect(runs.find(r => r.text === 'npm ci')!.contrast).toBeGreaterThanOrEqual(4.5)
    expect(runs.find(r => r.text === 'npm ci')!.color).not.toBe(LIGHT_TEXT)
    for (const run of runs) expect(run.contrast).toBeGreaterThanOrEqual(run.required)
  })

  it('a dark code span colour that already reads on #f1f1f1 is left as it is', () => {
    const el = textEl('<p>运行 <code>npm ci</code></p>', { defaultColor: '#333333' })
    const fixed = readableElement(el, [NAVY])!
    // #333 on #f1f1f1 is 11.4:1 — it only gains an explicit colour so the new white default does not reach it
    expect(fixed.content).toBe('<p>运行 <code style="color: #333333;">npm ci</code></p>')
  })

  it('a busy region no colour can read on gets the least opaque scrim that passes, and then measures ≥ AA', () => {
    const busy: Rgb[] = [[250, 250, 250], [15, 15, 15], [250, 220, 60], [20, 40, 90]]
    const el = textEl('<p>正文在繁忙背景上</p>', { defaultColor: '#333333' })
    for (const color of [DARK_TEXT, LIGHT_TEXT, '#000000']) expect(worstContrast(rgb(color), busy)).toBeLessThan(4.5)
    const fixed = readableElement(el, busy)!
    const scrim = parseCssRgba(fixed.fill)!
    expect(scrim.alpha).toBeGreaterThan(0)
    expect(scrim.alpha).toBeLessThan(1)
    expect(worstMargin(fixed, busy)).toBeGreaterThanOrEqual(1)
    // and no lighter scrim of the same tone would have done
    const lighter = { ...fixed, fill: `rgba(${scrim.rgb.join(', ')}, ${scrim.alpha - 0.12})` }
    expect(worstMargin(lighter, busy)).toBeLessThan(1.06)
  })

  it('random images and colours: every result measures at or above AA on the regions it was judged on', () => {
    let seed = 7
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)
    const channel = () => Math.round(random() * 255)
    let scrims = 0
    let recoloured = 0
    for (let i = 0; i < 150; i++) {
      const regions = Array.from({ length: 1 + Math.floor(random() * 12) }, () => [channel(), channel(), channel()] as Rgb)
      const color = `rgb(${channel()}, ${channel()}, ${channel()})`
      const size = [14, 16, 20, 24, 36][Math.floor(random() * 5)]
      const opacity = [undefined, undefined, 0.5, 0.85][Math.floor(random() * 4)]
      const el = textEl(`<p><span style="font-size: ${size}px">文字</span> <code>x</code></p>`, { defaultColor: color, opacity })
      const fixed = readableElement(el, regions) ?? el
      if (fixed.fill) scrims++
      if (fixed.defaultColor !== color) recoloured++
      const worst = Math.min(...measureRuns(fixed, regions).map(run => run.contrast / run.required))
      if (worst < 1) expect.fail(`${color} ${size}px on ${JSON.stringify(regions)}: ${worst}`)
    }
    // both remedies were exercised
    expect(scrims).toBeGreaterThan(10)
    expect(recoloured).toBeGreaterThan(10)
  })

  it('a box with an opacity below 1 is judged by the colours drawn through it; raised (never past what is needed) when nothing else reads', () => {
    const NIGHT: Rgb = [16, 32, 80]
    // white on night blue reads well opaque; at 40 % it is a grey-blue on the same blue
    expect(worstMargin(textEl('<p>正文</p>'), [NIGHT])).toBeGreaterThan(2)
    const faded = textEl('<p>正文</p>', { opacity: 0.4 })
    expect(worstMargin(faded, [NIGHT])).toBeLessThan(1)
    const fixed = readableElement(faded, [NIGHT])!
    expect(worstMargin(fixed, [NIGHT])).toBeGreaterThanOrEqual(1)
    expect(fixed.opacity).toBe(0.6)
    // a translucent fill fades with the box: white through 40 % of a 90 % black veil over light grey
    const veiled = textEl('<p>正文</p>', { opacity: 0.4, fill: 'rgba(0, 0, 0, 0.9)' })
    expect(worstMargin(veiled, [[230, 230, 230]])).toBeLessThan(1)
    expect(worstMargin(readableElement(veiled, [[230, 230, 230]])!, [[230, 230, 230]])).toBeGreaterThanOrEqual(1)
    // a faint watermark is decoration: left as designed
    expect(readableElement(textEl('<p>DRAFT</p>', { opacity: 0.2 }), [[250, 250, 250]])).toBeNull()
  })

  it('a rotated box is judged over the image under its whole rotated outline', () => {
    const seen: string[] = []
    const elements = [textEl('<p>竖排</p>', { rotate: 90 }), textEl('<p>斜</p>', { rotate: -45, left: 500, top: 100, width: 100, height: 100 })]
    // dark everywhere except the strip a 90° box reaches only when turned (y < 160): light there
    const result = readableOnBackground(elements, box => {
      seen.push([box.left, box.top, box.width, box.height].map(n => Math.round(n)).join(','))
      return box.top < 160 ? [[12, 12, 12], [245, 245, 245]] : [[12, 12, 12]]
    })!
    expect(seen).toEqual(['120,120,80,240', '479,79,141,141'])
    // white over the light strip fails: the rotated box got a remedy, measured over both regions
    expect(worstMargin(result[0] as TextElement, [[12, 12, 12], [245, 245, 245]])).toBeGreaterThanOrEqual(1)
  })

  it('returns null when everything already reads', () => {
    expect(readableElement(textEl('<p><span style="color: #333">a</span></p>', { defaultColor: '#333333' }), [[255, 255, 255]])).toBeNull()
  })

  it('readableOnBackground: text drawn on the image (or through a translucent fill), each with the regions under its own box', () => {
    const elements: Slide['elements'] = [
      textEl('<p>目录</p>', { id: 'on-light' }),
      textEl('<p>CONTENTS</p>', { id: 'on-dark', left: 600 }),
      textEl('<p>boxed</p>', { id: 'filled', fill: '#1f5fa8' }),
      textEl('<p>veiled</p>', { id: 'veiled', left: 300, fill: 'rgba(0, 0, 0, 0.8)' }),
      textEl('<p>unknown</p>', { id: 'unknown', left: 900 }),
      { id: 'pic', type: 'image', src: 'x.png', left: 0, top: 0, width: 100, height: 100 },
    ]
    const seen: string[] = []
    const result = readableOnBackground(elements, box => {
      seen.push(`${box.left},${box.top},${box.width},${box.height}`)
      if (box.left === 900) return null
      return box.left < 500 ? [rgb('#f4f8ee')] : [rgb('#102030')]
    })!
    expect(seen).toEqual(['40,200,240,80', '600,200,240,80', '300,200,240,80', '900,200,240,80'])
    // white on light → dark; white on dark stays; the opaque box is not judged against the image;
    // white through an 80 % black veil over light still reads; unknown stays
    expect(result.map(el => (el as TextElement).defaultColor)).toEqual([DARK_TEXT, '#ffffff', '#ffffff', '#ffffff', '#ffffff', undefined])
    expect(result[5]).toBe(elements[5])
    expect(readableOnBackground(elements, () => [[0, 0, 0]])).toBeNull()
  })
})

describe('readableColorOver (one run, no scrim: the PPTX export)', () => {
  it('keeps a colour that reaches AA over the worst region, else the best of near-black, white and black', () => {
    expect(readableColorOver([NAVY, [28, 52, 100]], '#8a8f99', 16, false)).toBe(LIGHT_TEXT)
    expect(readableColorOver([NAVY], '#a9b4c8', 28, false)).toBe('#a9b4c8')
    expect(readableColorOver([GOLD], '#ffffff', 32, true)).toBe(DARK_TEXT)
    // black and white stripes: nothing passes for body text; a mid grey gets furthest (2.9:1), so it stays
    expect(readableColorOver([[250, 250, 250], [15, 15, 15]], '#8a8f99', 16, false)).toBe('#8a8f99')
    expect(readableColorOver([[250, 250, 250], [15, 15, 15]], '#ffffff', 16, false)).not.toBe('#ffffff')
    expect(readableColorOver([[255, 255, 255]], 'var(--x)', 16, false)).toBe('var(--x)')
  })
})

describe('pickReadableTextColor (one mean luminance, for the PPTX export)', () => {
  it('switches unreadable colours, keeps readable ones and colours it does not understand', () => {
    expect(pickReadableTextColor(lum('#f4f8ee'), '#ffffff')).toBe(DARK_TEXT)
    expect(pickReadableTextColor(lum('#0b1a33'), '#1f5fa8')).toBe(LIGHT_TEXT)
    expect(pickReadableTextColor(1, '#333333')).toBeNull()
    expect(pickReadableTextColor(0, '#f5a623')).toBeNull()
    expect(pickReadableTextColor(1, 'var(--x)')).toBeNull()
  })
})

describe('the image under a slide box', () => {
  // 16 × 9 pixels: left half white, right half black
  function halfAndHalf(width = 16, height = 9): ImagePixels {
    const data = new Uint8ClampedArray(width * height * 4)
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = x < width / 2 ? 255 : 0
        data.set([v, v, v, 255], (y * width + x) * 4)
      }
    }
    return { data, width, height }
  }

  it('maps slide units to pixels (same aspect ratio)', () => {
    expect(boxToPixelRect({ left: 0, top: 0, width: 500, height: 562.5 }, 1000, 562.5, { width: 16, height: 9 }))
      .toEqual({ x0: 0, y0: 0, x1: 8, y1: 9 })
  })

  it('maps through a cover crop when the image is wider than the slide', () => {
    expect(boxToPixelRect({ left: 0, top: 0, width: 1000, height: 562.5 }, 1000, 562.5, { width: 32, height: 9 }))
      .toEqual({ x0: 8, y0: 0, x1: 24, y1: 9 })
  })

  it('averages the luminance under the box; null when it misses the image', () => {
    const pixels = halfAndHalf()
    expect(luminanceUnder(pixels, { left: 50, top: 100, width: 300, height: 200 }, 1000, 562.5)).toBeCloseTo(1)
    expect(luminanceUnder(pixels, { left: 0, top: 0, width: 1000, height: 562.5 }, 1000, 562.5)).toBeCloseTo(0.5)
    expect(luminanceUnder(pixels, { left: 1200, top: 0, width: 100, height: 100 }, 1000, 562.5)).toBeNull()
  })

  it('splits the box into regions, each giving its dark and light end, so a dark half is not averaged away', () => {
    const pixels = halfAndHalf()
    const regions = regionsUnder(pixels, { left: 0, top: 0, width: 1000, height: 562.5 }, 1000, 562.5, 250)!
    // 4 × 2 regions, two colours each
    expect(regions).toHaveLength(16)
    expect(regions.slice(0, 8)).toEqual([[255, 255, 255], [255, 255, 255], [255, 255, 255], [255, 255, 255], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]])
    // one region over both halves: its dark end and its light end, not a grey no pixel has
    expect(regionsUnder(pixels, { left: 0, top: 0, width: 1000, height: 562.5 }, 1000, 562.5, 2000)).toEqual([[0, 0, 0], [255, 255, 255]])
    expect(regionsUnder(pixels, { left: 1200, top: 0, width: 100, height: 100 }, 1000, 562.5)).toBeNull()
    expect(regionsUnder(pixels, { left: 100, top: 100, width: 100, height: 100 }, 1000, 562.5, 250)).toEqual([[255, 255, 255], [255, 255, 255]])
  })

  it('leaves out the outer 5 % of a region (a stray pixel does not decide)', () => {
    // 20 × 1: one black pixel among white ones
    const data = new Uint8ClampedArray(20 * 4).fill(255)
    data.set([0, 0, 0, 255], 0)
    expect(regionsUnder({ data, width: 20, height: 1 }, { left: 0, top: 0, width: 1000, height: 50 }, 1000, 50, 2000)).toEqual([[255, 255, 255], [255, 255, 255]])
    data.set([0, 0, 0, 255], 4)
    expect(regionsUnder({ data, width: 20, height: 1 }, { left: 0, top: 0, width: 1000, height: 50 }, 1000, 50, 2000)![0]).toEqual([0, 0, 0])
  })
})
