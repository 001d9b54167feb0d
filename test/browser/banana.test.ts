// The whole product in a real browser: the built demo host served by the real proxy (preview
// provider), driven in headless Chromium like a PPTist user would: click 🍌, pick the third style,
// generate all 8 slides, watch the float reach 100 %, then undo once. Where timing or failures matter
// (a slide deleted mid-run, a refused page, a cancel) the proxy talks to a fake Gemini (test/fakes).
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { PPTistDeckFile } from '../../src/types/slides'
import { artifactPath, buildDemo, launchChromium, startProxy, type RunningProxy } from './harness'
import { startFakeGemini } from '../fakes/geminiServer'

const TEXT = {
  zh: { start: '开始生成', exportJson: '导出 JSON', float: '🍌 生成进度' },
  en: { start: 'Generate', exportJson: 'Export JSON', float: '🍌 Generation progress' },
} as const

type Locale = keyof typeof TEXT

let proxy: RunningProxy | undefined
let browser: Browser | undefined

beforeAll(async () => {
  buildDemo()
  proxy = await startProxy()
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close().catch(() => undefined)
  await proxy?.stop()
})

async function openEditor(locale: Locale, baseUrl = proxy!.baseUrl): Promise<{ page: Page, errors: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1440, height: 900 }, acceptDownloads: true })
  const errors: string[] = []
  page.on('pageerror', err => errors.push(err.message))
  // whatever the page looked like when a step failed is the first thing to look at
  onTestFailed(async ({ task }) => {
    await page.screenshot({ path: artifactPath(`failed-${task.name.replace(/\W+/g, '-').slice(0, 40)}.png`) }).catch(() => undefined)
  })
  await page.goto(`${baseUrl}/${locale === 'en' ? '?lang=en' : ''}`)
  await page.locator('.thumbnail-item').nth(7).waitFor()
  return { page, errors }
}

// The deck as the user would save it: through the header's "export JSON" (PPTist's JSON format).
async function exportDeck(page: Page, locale: Locale): Promise<PPTistDeckFile> {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: TEXT[locale].exportJson }).click(),
  ])
  return JSON.parse(await readFile(await download.path(), 'utf8')) as PPTistDeckFile
}

async function thumbnailBackgrounds(page: Page): Promise<string[]> {
  return page.locator('.thumbnail-item .slide-background').evaluateAll(nodes =>
    nodes.map(node => getComputedStyle(node).backgroundImage))
}

// Each URL fetched by a fresh <img>: resolves to its natural width (0 when it does not load).
async function naturalWidths(page: Page, urls: string[]): Promise<number[]> {
  return page.evaluate(list => Promise.all(list.map(src => new Promise<number>(resolve => {
    const img = new Image()
    img.onload = () => resolve(img.naturalWidth)
    img.onerror = () => resolve(0)
    img.src = src
  }))), urls)
}

function cssUrl(backgroundImage: string): string {
  return /url\("?(.*?)"?\)/.exec(backgroundImage)?.[1] ?? ''
}

async function generateWholeDeck(page: Page, locale: Locale, shotPrefix: string, whileRunning?: () => Promise<void>): Promise<void> {
  // The 🍌 button sits in the header's extension slot.
  await page.locator('.editor-header .extensions').getByRole('button').first().click()
  const dialog = page.getByRole('dialog')
  await dialog.waitFor()
  const templates = dialog.getByRole('listbox').getByRole('option')
  await expect.poll(() => templates.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3)
  await templates.nth(2).click()
  await expect.poll(() => templates.nth(2).getAttribute('aria-selected')).toBe('true')
  // every template cover shown in the grid actually loads
  await expect.poll(() => dialog.locator('.cover img').evaluateAll(imgs =>
    imgs.every(img => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0)), { timeout: 10_000 }).toBe(true)
  // "recommended for" tags: whole words or not shown at all, never cut mid-word
  const tagFit = await dialog.locator('.tags').evaluateAll(rows => rows.map(row => {
    const bottom = row.getBoundingClientRect().bottom
    const shown = [...row.querySelectorAll<HTMLElement>('.tag')].filter(tag => tag.getBoundingClientRect().top < bottom - 1)
    return { shown: shown.map(tag => tag.textContent), cut: shown.filter(tag => tag.scrollWidth > tag.clientWidth + 1).map(tag => tag.textContent) }
  }))
  for (const row of tagFit) {
    expect(row.shown.length).toBeGreaterThan(0)
    expect(row.cut).toEqual([])
  }
  if (locale === 'zh') expect(tagFit[0].shown[0]).toBe('商务')
  await dialog.screenshot({ path: artifactPath(`${shotPrefix}-dialog.png`) })

  await dialog.getByRole('button', { name: TEXT[locale].start }).click()
  await dialog.waitFor({ state: 'detached' })
  await whileRunning?.()

  const float = page.getByRole('region', { name: TEXT[locale].float })
  await float.waitFor()
  const bar = float.getByRole('progressbar')
  // The preview provider is quick: catch the float as soon as the first page has landed.
  await page.waitForFunction(() => Number(document.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow')) > 0,
    undefined, { polling: 'raf', timeout: 60_000 })
  await page.screenshot({ path: artifactPath(`${shotPrefix}-float-running.png`) })
  await expect.poll(() => bar.getAttribute('aria-valuenow'), { timeout: 90_000 }).toBe('100')
  expect(await float.textContent()).toContain('100%')
  // page numbers sit on a dark translucent badge, readable on light thumbnails
  const badges = await float.locator('.thumb .number').evaluateAll(nodes => nodes.map(node => getComputedStyle(node).backgroundColor))
  expect(badges.length).toBeGreaterThan(0)
  for (const color of badges) expect(color).toBe('rgba(0, 0, 0, 0.6)')
  await float.screenshot({ path: artifactPath(`${shotPrefix}-float-done.png`) })
}

describe('🍌 in the demo editor (preview provider, real proxy, Chromium)', () => {
  it('loads a PPTist JSON export and refuses a file that is not one', async () => {
    const { page, errors } = await openEditor('zh')
    const exported = await exportDeck(page, 'zh')
    const imported: PPTistDeckFile = { ...exported, title: '导入的演示文稿', slides: exported.slides.slice(0, 3) }
    await page.getByTestId('import-json').setInputFiles({ name: 'deck.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(imported)) })
    await expect.poll(() => page.locator('.thumbnail-item').count()).toBe(3)
    expect(await page.getByTestId('deck-title').textContent()).toBe('导入的演示文稿')
    expect((await exportDeck(page, 'zh')).slides).toEqual(imported.slides)

    await page.getByTestId('import-json').setInputFiles({ name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"hello":"world"}') })
    await page.getByRole('status').filter({ hasText: '无法正确读取' }).waitFor()
    expect(await page.locator('.thumbnail-item').count()).toBe(3)

    // importing is one undoable step, like any other edit
    await page.getByTestId('undo').click()
    await expect.poll(() => page.locator('.thumbnail-item').count()).toBe(8)
    expect(errors).toEqual([])
    await page.close()
  })

  it('turns all 8 slides into image backgrounds and one undo brings the deck back', async () => {
    const { page, errors } = await openEditor('zh')
    const original = await exportDeck(page, 'zh')
    expect(original.slides).toHaveLength(8)
    expect((await thumbnailBackgrounds(page)).some(bg => bg.includes('/api/v1/images/'))).toBe(false)

    await generateWholeDeck(page, 'zh', 'zh')

    // every thumbnail and the canvas show a served, loadable image background
    await expect.poll(async () => (await thumbnailBackgrounds(page)).filter(bg => bg.includes('/api/v1/images/')).length, { timeout: 10_000 }).toBe(8)
    const urls = (await thumbnailBackgrounds(page)).map(cssUrl)
    expect(new Set(urls).size).toBe(8)
    for (const width of await naturalWidths(page, urls)) expect(width).toBeGreaterThan(0)
    const canvasBg = await page.locator('[data-testid="canvas-slide"] .slide-background').evaluate(node => getComputedStyle(node).backgroundImage)
    expect(canvasBg).toContain('/api/v1/images/')

    // each slide showed the proxy's compact JPEG until its full image had loaded: the deck ends on the full images
    await expect.poll(async () => (await exportDeck(page, 'zh')).slides.filter(s => /\/api\/v1\/images\/[a-f0-9]{32}\.(png|jpg)$/.test(s.background?.image?.src ?? '')).length, { timeout: 10_000 }).toBe(8)
    expect(await page.evaluate(() => performance.getEntriesByType('resource').filter(e => e.name.endsWith('.embed.jpg')).length)).toBe(8)
    const generated = await exportDeck(page, 'zh')
    for (const slide of generated.slides) {
      expect(slide.background?.type).toBe('image')
      expect(slide.background?.image?.size).toBe('cover')
    }
    await page.screenshot({ path: artifactPath('zh-finished-deck.png') })

    // ONE undo restores the original deck exactly
    await page.locator('[data-testid="canvas-slide"]').click()
    await page.keyboard.press('Control+z')
    await expect.poll(async () => (await thumbnailBackgrounds(page)).filter(bg => bg.includes('/api/v1/images/')).length).toBe(0)
    const restored = await exportDeck(page, 'zh')
    expect(restored.slides).toEqual(original.slides)
    await page.screenshot({ path: artifactPath('zh-after-undo.png') })
    // and redo brings the generated deck back
    await page.keyboard.press('Control+y')
    expect((await exportDeck(page, 'zh')).slides).toEqual(generated.slides)

    expect(errors).toEqual([])
    await page.close()
  })

  it('background mode keeps the contents page readable; "修改…" revises a finished page', async () => {
    const { page, errors } = await openEditor('zh')
    await page.locator('.thumbnail-item[data-index="1"]').click()
    const before = (await exportDeck(page, 'zh')).slides[1]
    const titleBefore = before.elements.find(el => el.id === 'contents-title') as { content: string }
    expect(titleBefore.content).toContain('#ffffff') // white on the template's blue side panel

    await page.locator('.editor-header .extensions').getByRole('button').first().click()
    const dialog = page.getByRole('dialog')
    await dialog.waitFor()
    const templates = dialog.getByRole('listbox').getByRole('option')
    await expect.poll(() => templates.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3)
    await templates.nth(2).click()
    await dialog.getByRole('radio', { name: '当前页' }).click()
    await dialog.getByRole('radio', { name: '仅背景' }).click()
    expect(await dialog.locator('.mode-hint').textContent()).toContain('文字颜色会按背景自动调整以保证可读')
    await dialog.getByRole('button', { name: '开始生成' }).click()
    await dialog.waitFor({ state: 'detached' })

    const float = page.getByRole('region', { name: TEXT.zh.float })
    await expect.poll(() => float.locator('.summary').textContent().catch(() => ''), { timeout: 60_000 }).toBe('1 页完成')
    // the float counts a page done when the proxy says so; the slide changes once its image has loaded
    await expect.poll(async () => (await exportDeck(page, 'zh')).slides[1].background?.type, { timeout: 30_000 }).toBe('image')
    const generated = (await exportDeck(page, 'zh')).slides[1]
    // the blue side panel is gone; the white "目录" on the now light image turned near-black
    expect(generated.elements.some(el => el.id === 'contents-side')).toBe(false)
    const title = generated.elements.find(el => el.id === 'contents-title') as { defaultColor?: string, content: string }
    expect(title.content).not.toContain('#ffffff')
    expect(title.content).toContain('#1f1f1f')
    await page.screenshot({ path: artifactPath('zh-background-mode.png') })

    // revise the page with a short instruction: a new image replaces the old one
    const firstSrc = generated.background?.image?.src
    await float.locator('[data-page="1"] .revise-btn').click()
    const input = float.locator('.revise-box input')
    await input.fill('标题更醒目一些')
    await float.screenshot({ path: artifactPath('zh-float-revise.png') })
    await input.press('Enter')
    await expect.poll(async () => (await exportDeck(page, 'zh')).slides[1].background?.image?.src, { timeout: 60_000 }).not.toBe(firstSrc)
    await expect.poll(() => float.locator('.summary').textContent().catch(() => ''), { timeout: 60_000 }).toBe('1 页完成')
    expect(errors).toEqual([])
    await page.close()
  })

  it('speaks English with ?lang=en, and a slide deleted mid-run stays deleted', async () => {
    // The preview provider can finish all 8 pages before the slide is deleted; a fake Gemini that takes
    // most of a second per image keeps the batch running while the user deletes it.
    const gemini = await startFakeGemini({ latencyMs: [600, 900], mislabelRate: 0 })
    const slowProxy = await startProxy({ IMAGE_PROVIDER: 'gemini', GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.url })
    try {
      const { page, errors } = await openEditor('en', slowProxy.baseUrl)
      expect(await page.getByTestId('page-number').textContent()).toBe('Slide 1 / 8')
      await generateWholeDeck(page, 'en', 'en', async () => {
        // the user deletes the last slide while the batch runs
        await page.locator('.thumbnail-item[data-index="7"]').click()
        await page.keyboard.press('Delete')
        await expect.poll(() => page.locator('.thumbnail-item').count()).toBe(7)
      })
      await expect.poll(async () => (await thumbnailBackgrounds(page)).filter(bg => bg.includes('/api/v1/images/')).length, { timeout: 10_000 }).toBe(7)
      const deck = await exportDeck(page, 'en')
      expect(deck.slides.map(slide => slide.id)).not.toContain('nb-end')
      expect(deck.slides).toHaveLength(7)
      const float = page.getByRole('region', { name: TEXT.en.float })
      expect(await float.locator('.summary').textContent()).toBe('7 done, 1 skipped')
      await page.screenshot({ path: artifactPath('en-finished-deck.png') })
      expect(errors).toEqual([])
      await page.close()
    }
    finally {
      await slowProxy.stop()
      await gemini.close()
    }
  })

  it('a refused page says why in Chinese; a batch cancelled with nothing done reads 0 / 8, not 100 %', async () => {
    // a fake Gemini behind the real proxy: the first request is refused by the safety filter, every
    // other one hangs until the cancel aborts it
    const gemini = await startFakeGemini({ script: index => (index === 0 ? 'safety' : 'hang') })
    const geminiProxy = await startProxy({ IMAGE_PROVIDER: 'gemini', GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.url })
    try {
      const { page, errors } = await openEditor('zh', geminiProxy.baseUrl)
      await page.locator('.editor-header .extensions').getByRole('button').first().click()
      const dialog = page.getByRole('dialog')
      await expect.poll(() => dialog.getByRole('listbox').getByRole('option').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3)
      await dialog.getByRole('button', { name: TEXT.zh.start }).click()
      await dialog.waitFor({ state: 'detached' })

      const float = page.getByRole('region', { name: TEXT.zh.float })
      const reason = float.locator('[data-page="1"] .reason')
      await reason.waitFor({ timeout: 30_000 })
      expect(await reason.textContent()).toBe('模型的安全过滤拒绝了这一页：请改写这页的文字或补充要求后重试。')
      // the proxy's own words (which filter, which reason) stay in the tooltip
      expect(await reason.getAttribute('title')).toContain('IMAGE_SAFETY')

      await float.getByRole('button', { name: '取消生成' }).click()
      await expect.poll(() => float.locator('.summary').textContent(), { timeout: 15_000 }).toBe('已取消：0 页完成，1 页失败')
      expect(await float.locator('.count').textContent()).toBe('0 / 8')
      expect(await float.locator('.percentage').textContent()).toBe('0%')
      expect(await float.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('0')
      await float.screenshot({ path: artifactPath('zh-float-cancelled.png') })
      expect(errors).toEqual([])
      await page.close()
    }
    finally {
      await geminiProxy.stop()
      await gemini.close()
    }
  })
})
