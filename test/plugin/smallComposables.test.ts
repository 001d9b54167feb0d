import { afterEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { formatSlideRange, parseSlideRange } from '../../plugin/composables/useSlideRange'
import { estimateBatch, pricePerImage, resolutionsOf } from '../../plugin/composables/useEstimate'
import { GEMINI_MODELS, GPT_IMAGE_MODELS } from './fakes/proxyApi'
import { embedAsJpeg, EMBED_MAX_WIDTH, looksLikeWebp } from '../../plugin/composables/useEmbedImage'
import { useProgressPolling } from '../../plugin/composables/useProgressPolling'
import { createThumbnailRetry } from '../../plugin/composables/useThumbnailRetry'
import { defaultOptions, mergeRemembered, STORAGE_KEY, useRememberedOptions } from '../../plugin/composables/useRememberedOptions'
import { deckTextLanguage } from '../../plugin/host/deckLanguage'
import type { Slide } from '../../plugin/host/types'
import { aspectRatioFor } from '../../plugin/host/aspectRatio'
import { resolveConfig, resolveServerUrl } from '../../plugin/config'
import { createDeckHost, HostNotFoundError, resolveHostStores } from '../../plugin/host/pptistHost'
import { setupPptist, useSlidesStore } from './fakes/pptistStores'
import { deck } from './fixtures/deck'
import { progressOf } from './fakes/proxyApi'

describe('parseSlideRange / formatSlideRange', () => {
  it('parses pages and ranges into sorted unique 0-based indexes', () => {
    expect(parseSlideRange('1-3,5', 8)).toEqual({ ok: true, indexes: [0, 1, 2, 4] })
    expect(parseSlideRange(' 5，2 ; 2-3 ', 8)).toEqual({ ok: true, indexes: [1, 2, 4] })
    expect(parseSlideRange('7～8', 8)).toEqual({ ok: true, indexes: [6, 7] })
  })

  it('explains empty, malformed, reversed and out-of-range input', () => {
    expect(parseSlideRange('  ', 8)).toEqual({ ok: false, problem: { key: 'errRangeEmpty' } })
    expect(parseSlideRange('1-x', 8)).toEqual({ ok: false, problem: { key: 'errRangeSyntax', params: { part: '1-x' } } })
    expect(parseSlideRange('5-2', 8)).toEqual({ ok: false, problem: { key: 'errRangeOrder', params: { part: '5-2' } } })
    expect(parseSlideRange('0', 8)).toEqual({ ok: false, problem: { key: 'errRangeOut', params: { page: 0, total: 8 } } })
    expect(parseSlideRange('2-9', 8)).toEqual({ ok: false, problem: { key: 'errRangeOut', params: { page: 9, total: 8 } } })
  })

  it('formats indexes back to the shortest text', () => {
    expect(formatSlideRange([4, 0, 1, 2, 6, 7])).toBe('1-3,5,7-8')
    expect(formatSlideRange([])).toBe('')
  })
})

describe('estimateBatch', () => {
  it('uses the price per image the proxy reports for its model and size', () => {
    expect(pricePerImage(GEMINI_MODELS, '2K')).toBe(0.134)
    expect(pricePerImage(GEMINI_MODELS, '4K')).toBe(0.24)
    expect(estimateBatch({ pages: 10, resolution: '4K', pricePerImage: pricePerImage(GEMINI_MODELS, '4K'), preview: false, styleChain: false }).cost).toBe(2.4)
  })

  it('an unknown price stays unknown: no catalogue, a model without a price, a size the model lacks', () => {
    expect(pricePerImage(null, '2K')).toBeNull()
    expect(pricePerImage(GPT_IMAGE_MODELS, '2K')).toBeNull()
    expect(pricePerImage(GPT_IMAGE_MODELS, '4K')).toBeNull()
    expect(estimateBatch({ pages: 10, resolution: '2K', pricePerImage: null, preview: false, styleChain: false }).cost).toBeNull()
  })

  it('offers the sizes of the proxy\'s model, all three when it does not say', () => {
    expect(resolutionsOf(GPT_IMAGE_MODELS)).toEqual(['1K', '2K'])
    expect(resolutionsOf(null)).toEqual(['1K', '2K', '4K'])
  })

  it('is free in preview', () => {
    expect(estimateBatch({ pages: 10, resolution: '4K', pricePerImage: null, preview: true, styleChain: true }).cost).toBe(0)
  })

  it('time: the style-chain page runs alone, the rest in parallel', () => {
    expect(estimateBatch({ pages: 5, resolution: '2K', pricePerImage: 0.134, preview: false, styleChain: true, concurrency: 2 }).seconds).toBe(75)
    expect(estimateBatch({ pages: 5, resolution: '2K', pricePerImage: 0.134, preview: false, styleChain: false, concurrency: 5 }).seconds).toBe(25)
    expect(estimateBatch({ pages: 0, resolution: '2K', pricePerImage: 0.134, preview: false, styleChain: true }).seconds).toBe(0)
  })
})

describe('embedAsJpeg', () => {
  it('fetches with CORS and re-encodes as JPEG at most 1600 px wide', async () => {
    const fetchImpl = vi.fn(async () => new Response(new Blob(['png-bytes'], { type: 'image/png' })))
    const encoder = vi.fn(async (_blob: Blob, _maxWidth: number, _quality: number) => 'data:image/jpeg;base64,AAAA')
    const result = await embedAsJpeg('http://127.0.0.1:8787/api/v1/images/a.png', { fetchImpl: fetchImpl as unknown as typeof fetch, encoder })
    expect(result).toBe('data:image/jpeg;base64,AAAA')
    expect(fetchImpl).toHaveBeenCalledWith('http://127.0.0.1:8787/api/v1/images/a.png', { mode: 'cors', credentials: 'omit' })
    expect(encoder.mock.calls[0][1]).toBe(EMBED_MAX_WIDTH)
    expect(EMBED_MAX_WIDTH).toBe(1600)
  })

  it('takes the proxy\'s compact JPEG variant as it is, without decoding or re-encoding', async () => {
    const id = 'ab'.repeat(16)
    const fetchImpl = vi.fn(async (_url: string, _init?: RequestInit) => new Response(new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xd9])], { type: 'image/jpeg' }), { headers: { 'Content-Type': 'image/jpeg' } }))
    const encoder = vi.fn()
    const result = await embedAsJpeg(`http://127.0.0.1:8787/api/v1/images/${id}.png`, { fetchImpl: fetchImpl as unknown as typeof fetch, encoder })
    expect(fetchImpl).toHaveBeenCalledTimes(1)
    expect(fetchImpl.mock.calls[0][0]).toBe(`http://127.0.0.1:8787/api/v1/images/${id}.embed.jpg`)
    // a slide waits for it: ahead of the thumbnails in the browser's queue
    expect(fetchImpl.mock.calls[0][1]).toMatchObject({ priority: 'high' })
    expect(encoder).not.toHaveBeenCalled()
    expect(result).toBe('data:image/jpeg;base64,/9j/2Q==')
  })

  it('an older proxy without the variant: the image is re-encoded in the browser', async () => {
    const id = 'cd'.repeat(16)
    const fetchImpl = vi.fn(async (url: string) => (url.endsWith('.embed.jpg') ? new Response('{"error":{}}', { status: 404, headers: { 'Content-Type': 'application/json' } }) : new Response(new Blob(['png'], { type: 'image/png' }))))
    const encoder = vi.fn(async () => 'data:image/jpeg;base64,BBBB')
    expect(await embedAsJpeg(`http://h/api/v1/images/${id}.png`, { fetchImpl: fetchImpl as unknown as typeof fetch, encoder })).toBe('data:image/jpeg;base64,BBBB')
    expect(fetchImpl.mock.calls.map(c => c[0])).toEqual([`http://h/api/v1/images/${id}.embed.jpg`, `http://h/api/v1/images/${id}.png`])
  })

  it('fails on an HTTP error (the caller falls back to the URL)', async () => {
    const fetchImpl = vi.fn(async () => new Response('nope', { status: 404 }))
    await expect(embedAsJpeg('x', { fetchImpl: fetchImpl as unknown as typeof fetch, encoder: vi.fn() })).rejects.toThrow('404')
  })

  it('spots WebP sources', () => {
    expect(looksLikeWebp('http://a/b.webp')).toBe(true)
    expect(looksLikeWebp('data:image/webp;base64,xx')).toBe(true)
    expect(looksLikeWebp('http://a/b.png')).toBe(false)
  })
})

describe('useProgressPolling', () => {
  afterEach(() => vi.useRealTimers())

  it('polls every interval until the handler says stop, without overlapping requests', async () => {
    vi.useFakeTimers()
    let n = 0
    const fetchProgress = vi.fn(async () => progressOf('b1', ++n >= 3 ? 'completed' : 'generating', []))
    const seen: string[] = []
    const polling = useProgressPolling({
      fetchProgress,
      intervalMs: 2000,
      onProgress: p => { seen.push(p.status); return p.status === 'completed' },
      onError: () => false,
    })
    polling.start()
    await vi.advanceTimersByTimeAsync(0)
    expect(fetchProgress).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1999)
    expect(fetchProgress).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(fetchProgress).toHaveBeenCalledTimes(2)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(fetchProgress).toHaveBeenCalledTimes(3)
    expect(seen).toEqual(['generating', 'generating', 'completed'])
    expect(polling.isActive.value).toBe(false)
  })

  it('stops on an error the handler deems final', async () => {
    vi.useFakeTimers()
    const fetchProgress = vi.fn(async () => { throw new Error('404') })
    const onError = vi.fn(() => true)
    const polling = useProgressPolling({ fetchProgress, onProgress: () => false, onError })
    polling.start()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(fetchProgress).toHaveBeenCalledTimes(1)
    expect(onError).toHaveBeenCalledOnce()
  })
})

describe('useRememberedOptions', () => {
  it('remembers options in localStorage and fills options added later with defaults', () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ templateId: 'nano_banana_2', resolution: '4K' }))
    const options = useRememberedOptions('en')
    expect(options.value).toMatchObject({ templateId: 'nano_banana_2', resolution: '4K', mode: 'full', styleChain: true, embed: false })
    localStorage.removeItem(STORAGE_KEY)
  })
})

describe('aspectRatioFor', () => {
  it('maps PPTist viewport ratios to the nearest supported ratio', () => {
    expect(aspectRatioFor(0.5625)).toBe('16:9')
    expect(aspectRatioFor(0.75)).toBe('4:3')
    expect(aspectRatioFor(0.625)).toBe('3:2') // 16:10 is not supported; 3:2 is the closest
    expect(aspectRatioFor(16 / 9)).toBe('9:16') // portrait deck
  })
})

describe('config', () => {
  it('normalises the server URL and resolves proxy paths against it', () => {
    const config = resolveConfig({ serverUrl: 'http://127.0.0.1:8787/api/v1/' })
    expect(config.serverUrl).toBe('http://127.0.0.1:8787')
    expect(config.apiBase).toBe('http://127.0.0.1:8787/api/v1')
    expect(config.locale).toBe('zh')
    expect(resolveServerUrl(config.serverUrl, '/api/v1/images/a.png')).toBe('http://127.0.0.1:8787/api/v1/images/a.png')
    expect(resolveServerUrl(config.serverUrl, './imgs/x.png')).toBe('http://127.0.0.1:8787/imgs/x.png')
    expect(resolveServerUrl(config.serverUrl, 'https://cdn/x.png')).toBe('https://cdn/x.png')
  })
})

describe('host adapter', () => {
  it('finds PPTist\'s stores by id in the active Pinia', async () => {
    setActivePinia(createPinia())
    await setupPptist(deck)
    const host = createDeckHost(resolveHostStores(undefined))
    expect(host.slides()).toHaveLength(5)
    expect(host.title()).toBe('有理数的大小比较')
    expect(host.goToSlide('chart01')).toBe(true)
    expect(useSlidesStore().slideIndex).toBe(3)
    expect(host.updateSlide('missing', { remark: 'x' })).toBe(false)
    expect(useSlidesStore().slides).toHaveLength(5)
    expect(host.stores.snapshot).not.toBeNull()
  })

  it('accepts stores handed in, and fails clearly when none can be found', () => {
    setActivePinia(createPinia())
    expect(() => resolveHostStores(undefined)).toThrow(HostNotFoundError)
    const slides = { slides: [], slideIndex: 0, updateSlide: vi.fn() }
    expect(resolveHostStores(undefined, { slides }).slides).toBe(slides)
  })
})

describe('host adapter selection', () => {
  it('drops removed elements from the editor selection on the current slide only', async () => {
    setActivePinia(createPinia())
    const { mainStore } = await setupPptist(deck)
    const host = createDeckHost(resolveHostStores(undefined))
    mainStore.setActiveElementIdList(['title1', 'deco1'])
    host.updateSlide('contents01', { elements: [] }) // not the current slide: selection untouched
    expect(mainStore.activeElementIdList).toEqual(['title1', 'deco1'])
    host.updateSlide('cover01', { elements: deck[0].elements.filter(el => el.id === 'title1') })
    expect(mainStore.activeElementIdList).toEqual(['title1'])
  })
})

describe('deckTextLanguage', () => {
  const slideWith = (id: string, html: string): Slide => ({
    id, type: 'content', background: { type: 'solid', color: '#fff' }, animations: [],
    elements: [{
      id: `${id}-t`, type: 'text', left: 0, top: 0, width: 800, height: 60, rotate: 0,
      defaultFontName: '', defaultColor: '#333', content: `<p>${html}</p>`,
    } as Slide['elements'][number]],
  })

  it('Chinese when CJK characters dominate the slides\' text, English otherwise, null without text', () => {
    expect(deckTextLanguage(deck)).toBe('zh')
    expect(deckTextLanguage([slideWith('a', 'Quarterly results'), slideWith('b', 'Revenue grew 12% year on year')])).toBe('en')
    // Chinese with English terms is still Chinese
    expect(deckTextLanguage([slideWith('a', '用 PyTorch 训练 Transformer 模型')])).toBe('zh')
    // an English deck with one Chinese name is English
    expect(deckTextLanguage([slideWith('a', 'Welcome to the annual meeting of our company'), slideWith('b', '王小明')])).toBe('en')
    expect(deckTextLanguage([slideWith('a', '')])).toBeNull()
    expect(deckTextLanguage([])).toBeNull()
  })
})

describe('mergeRemembered', () => {
  it('fills new options; an old entry\'s language counts as picked only when it differs from the default', () => {
    expect(mergeRemembered({ language: 'fr' }, defaultOptions('zh'))).toMatchObject({ language: 'fr', languageChosen: true, mode: 'full' })
    expect(mergeRemembered({ language: 'zh' }, defaultOptions('zh'))).toMatchObject({ language: 'zh', languageChosen: false })
    expect(mergeRemembered({}, defaultOptions('en'))).toMatchObject({ language: 'en', languageChosen: false })
    expect(mergeRemembered({ language: 'en', languageChosen: false }, defaultOptions('zh')).languageChosen).toBe(false)
  })
})

describe('thumbnail retry (a thumbnail still being made is answered 404 at once)', () => {
  it('hides a failed thumbnail, asks again under a new URL after each pause, then gives up', () => {
    const timers: Array<{ run: () => void; ms: number }> = []
    const retry = createThumbnailRetry([1000, 2000], (run, ms) => timers.push({ run, ms }), () => undefined)
    const url = 'http://h/api/v1/images/ab.thumb.jpg'
    expect(retry.src(url)).toBe(url)
    retry.failed(url)
    retry.failed(url) // the same failure reported twice waits once
    expect(timers.map(t => t.ms)).toEqual([1000])
    expect(retry.src(url)).toBeNull() // no broken-image icon while waiting
    timers[0].run()
    expect(retry.src(url)).toBe(`${url}?try=1`)
    retry.failed(url)
    expect(retry.src(url)).toBeNull()
    timers[1].run()
    expect(retry.src(url)).toBe(`${url}?try=2`)
    retry.failed(url)
    expect(timers).toHaveLength(2)
    expect(retry.src(url)).toBeNull()
  })
})
