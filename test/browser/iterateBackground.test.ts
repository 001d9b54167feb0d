// Background mode in the demo editor (real proxy → fake Gemini, Chromium): the user edits a kept text
// box after the run, then restores the page from the float. Restore takes off what the run did (the
// image, the recoloured text) and keeps the edit (tester B12: it used to put the old text back).
import { describe, expect, it } from 'vitest'
import { artifactPath } from './harness'
import { deckNow, floatOf, importSlides, startRun, waitForRunEnd, withImage, demoOnFakeGemini } from './demoPage'

const demo = demoOnFakeGemini({ latencyMs: 50, mislabelRate: 0 })

const TITLE = '有理数的大小比较'
const EDITED = '有理数的大小比较（修订版）'

describe('background mode: restore keeps what the user edited after the run', () => {
  it('bg run → the user edits the recoloured title → 还原: the edit stays, in the deck\'s own colour', async () => {
    const page = await demo.browser.newPage({ viewport: { width: 1440, height: 900 } })
    const errors: string[] = []
    page.on('pageerror', err => errors.push(err.message))
    await page.goto(`${demo.proxy.baseUrl}/`)
    await page.locator('.thumbnail-item').nth(7).waitFor()
    const cover = (await deckNow(page)).slides[0]
    await importSlides(page, [cover])
    const imported = (await deckNow(page)).slides[0]
    const titleOf = (slide: typeof imported) => slide.elements.find(el => el.type === 'text' && el.content.includes(TITLE)) as { id: string, content: string }
    const ownColor = /color:\s*(#[0-9a-f]{6})/i.exec(titleOf(imported).content)![1]

    await startRun(page, 0, dialog => dialog.getByRole('radio', { name: '仅背景' }).click())
    await waitForRunEnd(page, '1 页完成')
    await expect.poll(async () => withImage(await deckNow(page)).length, { timeout: 20_000 }).toBe(1)
    // the fake's image is a saturated blue: the run recoloured the title (what restore must take off)
    expect(titleOf((await deckNow(page)).slides[0]).content).not.toContain(ownColor)

    // the user edits the title as PPTist's editor does: the box's HTML changes, then a snapshot
    await page.evaluate(([from, to]) => {
      const pinia = (document.querySelector('#app') as unknown as { __vue_app__: { config: { globalProperties: { $pinia: { _s: Map<string, Record<string, unknown>> } } } } }).__vue_app__.config.globalProperties.$pinia
      const slides = pinia._s.get('slides') as { slides: { id: string, elements: { type: string, content?: string }[] }[], updateSlide: (props: unknown, id: string) => void }
      const slide = slides.slides[0]
      const elements = slide.elements.map(el => el.type === 'text' && el.content?.includes(from) ? { ...el, content: el.content.replace(from, to) } : el)
      slides.updateSlide({ elements }, slide.id)
      const snapshot = pinia._s.get('snapshot') as { addSnapshot?: () => Promise<void> } | undefined
      return snapshot?.addSnapshot?.()
    }, [TITLE, EDITED])

    const float = floatOf(page)
    await float.locator('.page[data-page="1"] .restore-btn').click()
    await expect.poll(() => float.locator('.status-text').allTextContents()).toEqual(['已恢复可编辑'])
    const restored = (await deckNow(page)).slides[0]
    // the edit stays, in the title's own colour; the image is gone, the removed decoration is back
    expect(titleOf(restored).content).toBe(titleOf(imported).content.replace(TITLE, EDITED))
    expect(restored.background).toEqual(imported.background)
    expect(restored.elements.map(el => el.id)).toEqual(imported.elements.map(el => el.id))
    for (const [i, el] of restored.elements.entries()) {
      if (el.id !== titleOf(imported).id) expect(el).toEqual(imported.elements[i])
    }
    expect('nanoBananaSource' in restored).toBe(false)
    await page.screenshot({ path: artifactPath('iterate-bg-restore-keeps-edit.png') })
    expect(errors).toEqual([])
    await page.close()
  })
})
