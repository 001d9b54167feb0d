// Steps in the demo editor shared by the iterate browser tests: import a deck, start a 🍌 run, read
// the deck straight from its Pinia store (no download per look), and watch that no slide ever loses
// its elements before the browser has its image.
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, expect } from 'vitest'
import type { PPTistDeckFile, Slide } from '../../src/types/slides'
import { buildDemo, launchChromium, startProxy, type RunningProxy } from './harness'
import { startFakeGemini, type FakeGeminiOptions } from '../fakes/geminiServer'
import type { FakeServer } from '../fakes/common'

export interface DemoOnFakeGemini {
  readonly browser: Browser
  readonly gemini: FakeServer
  readonly proxy: RunningProxy
}

/**
 * The file's set-up, registered as its beforeAll/afterAll: the demo built, a fake Gemini with `fake`'s
 * options (default 50 ms, no mislabelled images), the real proxy on it, Chromium. The getters throw
 * until beforeAll has run.
 */
export function demoOnFakeGemini(fake: FakeGeminiOptions = {}): DemoOnFakeGemini {
  let set: { browser: Browser; gemini: FakeServer; proxy: RunningProxy } | undefined
  let gemini: FakeServer | undefined
  let proxy: RunningProxy | undefined
  let browser: Browser | undefined
  beforeAll(async () => {
    buildDemo()
    gemini = await startFakeGemini({ latencyMs: 50, mislabelRate: 0, ...fake })
    proxy = await startProxy({ IMAGE_PROVIDER: 'gemini', GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.url })
    browser = await launchChromium()
    set = { browser, gemini, proxy }
  })
  afterAll(async () => {
    await browser?.close().catch(() => undefined)
    await proxy?.stop()
    await gemini?.close()
  })
  const ready = () => {
    if (!set) throw new Error('the demo set-up has not run (demoOnFakeGemini is for a test file\'s top level)')
    return set
  }
  return {
    get browser() { return ready().browser },
    get gemini() { return ready().gemini },
    get proxy() { return ready().proxy },
  }
}

/** The deck as the editor holds it right now: { slides, title, … } from the `slides` store. */
export async function deckNow(page: Page): Promise<PPTistDeckFile> {
  return page.evaluate(() => {
    const app = (document.querySelector('#app') as unknown as { __vue_app__: { config: { globalProperties: { $pinia: { _s: Map<string, { $state: unknown }> } } } } }).__vue_app__
    const state = app.config.globalProperties.$pinia._s.get('slides')?.$state as { title: string, slides: unknown[] }
    return JSON.parse(JSON.stringify({ title: state.title, slides: state.slides })) as PPTistDeckFile
  })
}

/** Slides whose background is one of the proxy's images (a page applied). */
export const withImage = (deck: PPTistDeckFile): Slide[] => deck.slides.filter(s => s.background?.image?.src?.includes('/api/v1/images/'))

/** Replaces the deck through the demo's "import JSON" input (the user's path: one undo step). */
export async function importSlides(page: Page, slides: Slide[]): Promise<void> {
  const deck: PPTistDeckFile = { title: '迭代测试', slides }
  await page.getByTestId('import-json').setInputFiles({ name: 'deck.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(deck)) })
  await expect.poll(() => page.locator('.thumbnail-item').count()).toBe(slides.length)
}

export const floatOf = (page: Page): Locator => page.getByRole('region', { name: '🍌 生成进度' })

/**
 * Opens the 🍌 dialog, picks the template at `templateIndex`, lets `choose` set the dialog's other
 * options (mode, resolution, …) and starts; returns once the dialog closed.
 */
export async function startRun(page: Page, templateIndex = 0, choose?: (dialog: Locator) => Promise<void>): Promise<void> {
  await page.locator('.editor-header .extensions').getByRole('button').first().click()
  const dialog = page.getByRole('dialog')
  await dialog.waitFor()
  const templates = dialog.getByRole('listbox').getByRole('option')
  await expect.poll(() => templates.count(), { timeout: 10_000 }).toBeGreaterThan(templateIndex)
  await templates.nth(templateIndex).click()
  await choose?.(dialog)
  await dialog.getByRole('button', { name: '开始生成' }).click()
  await dialog.waitFor({ state: 'detached' })
}

/** Waits until the float's progress bar is full and its summary reads `summary` (e.g. '3 页完成'). */
export async function waitForRunEnd(page: Page, summary: string): Promise<void> {
  const float = floatOf(page)
  await expect.poll(() => float.getByRole('progressbar').getAttribute('aria-valuenow'), { timeout: 60_000 }).toBe('100')
  await expect.poll(() => float.locator('.summary').textContent(), { timeout: 10_000 }).toBe(summary)
}

/**
 * Watches the deck from inside the page, at every store mutation (synchronously) and every 50 ms:
 * a slide that had elements and now has none must have a background image the browser has already
 * loaded (a resource-timing entry with status 200 for that URL). Read the findings with blankSlides().
 */
export async function watchForBlankSlides(page: Page): Promise<void> {
  await page.evaluate(() => {
    performance.setResourceTimingBufferSize(100_000)
    const app = (document.querySelector('#app') as unknown as { __vue_app__: { config: { globalProperties: { $pinia: { _s: Map<string, unknown> } } } } }).__vue_app__
    const store = app.config.globalProperties.$pinia._s.get('slides') as {
      slides: { id: string, elements: unknown[], background?: { image?: { src?: string } } }[]
      $subscribe(cb: () => void, options: { flush: 'sync' }): void
    }
    const had = new Map(store.slides.map(s => [s.id, s.elements.length]))
    const watch = { blank: [] as string[], looks: 0 }
    ;(window as unknown as { __nbWatch: typeof watch }).__nbWatch = watch
    const loaded = (src: string) => {
      if (src.startsWith('data:')) return true
      const url = new URL(src, location.href).href
      return performance.getEntriesByName(url).some(e => (e as PerformanceResourceTiming).responseStatus === 200)
    }
    const look = () => {
      watch.looks++
      for (const slide of store.slides) {
        if (!had.get(slide.id) || slide.elements.length > 0) continue
        const src = slide.background?.image?.src
        if (!src || !loaded(src)) watch.blank.push(`${slide.id} ${src ?? '(no image)'}`)
      }
    }
    store.$subscribe(look, { flush: 'sync' })
    setInterval(look, 50)
  })
}

/** What watchForBlankSlides() saw: slides left blank (should be none) and how many times it looked. */
export async function blankSlides(page: Page): Promise<{ blank: string[], looks: number }> {
  return page.evaluate(() => (window as unknown as { __nbWatch: { blank: string[], looks: number } }).__nbWatch)
}
