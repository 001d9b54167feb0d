// Iterating in the demo editor (real proxy → fake Gemini, Chromium): a full run, the notes panel
// right after it, a second run with another template that sends the same text (asserted on what the
// fake upstream received), a formula, a chart's values and a table's rows in the prompt and the
// notes, a slide with 6,000 characters of notes that still renders, and "restore all editable".
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type { PPTistDeckFile } from '../../src/types/slides'
import { artifactPath } from './harness'
import { startRun, waitForRunEnd, demoOnFakeGemini } from './demoPage'

const demo = demoOnFakeGemini({ latencyMs: 50, mislabelRate: 0 })

async function exportDeck(page: Page): Promise<PPTistDeckFile> {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: '导出 JSON' }).click(),
  ])
  return JSON.parse(await readFile(await download.path(), 'utf8')) as PPTistDeckFile
}

/** The prompt text of every generateContent call the fake Gemini received so far. */
function prompts(): string[] {
  return demo.gemini.lastRequests
    .filter(r => r.path.includes(':generateContent'))
    .map(r => {
      const body = r.body as { contents?: { parts?: { text?: string }[] }[] }
      return (body.contents ?? []).flatMap(c => c.parts ?? []).map(p => p.text ?? '').join('\n')
    })
}

/** The part of a full-mode prompt that carries the slide's own text. */
const textSection = (prompt: string) => prompt.slice(prompt.indexOf('Text: render exactly'), prompt.indexOf('\n\nOutput:'))

async function runBatch(page: Page, templateIndex: number): Promise<void> {
  await startRun(page, templateIndex)
  await waitForRunEnd(page, '3 页完成')
}

describe('iterating without losing anything (demo editor, fake Gemini)', () => {
  it('full run → notes at once → second run sends the same text → restore all editable', async () => {
    const page = await demo.browser.newPage({ viewport: { width: 1440, height: 900 }, acceptDownloads: true })
    const errors: string[] = []
    page.on('pageerror', err => errors.push(err.message))
    await page.goto(`${demo.proxy.baseUrl}/`)
    await page.locator('.thumbnail-item').nth(7).waitFor()

    // a three-slide deck: the cover, a content page with a formula and a chart, one with long notes
    const sample = await exportDeck(page)
    const content = sample.slides[3]
    const formulaAndChart = {
      ...content,
      id: 'it-math',
      elements: [
        ...content.elements.filter(el => el.type === 'text'),
        { id: 'it-formula', type: 'latex', latex: 'a^2 + b^2 = c^2', left: 600, top: 400, width: 300, height: 60, rotate: 0 },
        {
          id: 'it-chart', type: 'chart', chartType: 'bar', left: 560, top: 150, width: 380, height: 220, rotate: 0,
          data: { labels: ['一月', '七月'], legends: ['气温(℃)'], series: [[-3, 27]] }, themeColors: ['#d14424'],
        },
        {
          id: 'it-table', type: 'table', left: 60, top: 420, width: 400, height: 80, rotate: 0, colWidths: [0.5, 0.5], cellMinHeight: 36,
          outline: { width: 1, style: 'solid', color: '#cccccc' },
          data: [
            [{ id: 'c11', colspan: 1, rowspan: 1, text: '城市' }, { id: 'c12', colspan: 1, rowspan: 1, text: '一月气温' }],
            [{ id: 'c21', colspan: 1, rowspan: 1, text: '哈尔滨' }, { id: 'c22', colspan: 1, rowspan: 1, text: '-18' }],
          ],
        },
      ],
    }
    const longNotes = { ...sample.slides[4], id: 'it-long', remark: `<p>${'讲稿备注，'.repeat(1200)}</p>` }
    const deck = { ...sample, slides: [sample.slides[0], formulaAndChart, longNotes] } as PPTistDeckFile
    await page.getByTestId('import-json').setInputFiles({ name: 'deck.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(deck)) })
    await expect.poll(() => page.locator('.thumbnail-item').count()).toBe(3)
    const imported = await exportDeck(page)

    await runBatch(page, 0)
    const first = prompts()
    expect(first).toHaveLength(3)
    // the formula and the chart's values reached the prompt...
    expect(first.some(p => p.includes('$a^2 + b^2 = c^2$') && p.includes('气温(℃): 一月 -3, 七月 27'))).toBe(true)
    // ...and the table's cells, one line per row
    expect(first.some(p => /城市 \| 一月气温\n\s*哈尔滨 \| -18/.test(p))).toBe(true)
    // ...and the notes (pages are applied once their image has loaded in the browser: wait for all three)
    await expect.poll(async () => (await exportDeck(page)).slides.filter(slide => slide.background?.image?.src?.includes('/api/v1/images/')).length, { timeout: 20_000 }).toBe(3)
    const afterRun = await exportDeck(page)
    expect(afterRun.slides[1].remark).toContain('$a^2 + b^2 = c^2$')
    expect(afterRun.slides[1].remark).toContain('一月 -3')
    expect(afterRun.slides[1].remark).toContain('哈尔滨 | -18')
    // the slide with 6,000 characters of notes rendered like the others
    expect(afterRun.slides[2].background?.image?.src).toContain('/api/v1/images/')

    // the notes panel of the slide on screen shows the moved text right away (no slide change)
    await expect.poll(() => page.getByTestId('remark').textContent(), { timeout: 5000 }).toContain('Nano Banana')
    await page.screenshot({ path: artifactPath('iterate-notes-after-run.png') })

    // the float sits under modal dialogs (PPTist's Modal and ours share its z-index 5000): open the
    // 🍌 dialog while the float shows; what is on top at the float's place is the dialog's mask
    const floatBox = (await page.getByRole('region', { name: '🍌 生成进度' }).boundingBox())!
    await page.locator('.editor-header .extensions').getByRole('button').first().click()
    await page.getByRole('dialog').waitFor()
    const onTop = await page.evaluate(([x, y]) => !!document.elementFromPoint(x, y)?.closest('.nb-progress-float'), [floatBox.x + floatBox.width / 2, floatBox.y + floatBox.height / 2])
    expect(onTop).toBe(false)
    await page.screenshot({ path: artifactPath('iterate-float-under-dialog.png') })
    await page.keyboard.press('Escape')
    await page.getByRole('dialog').waitFor({ state: 'detached' })

    // the second run, another template: the same text is sent, not empty pages
    await page.getByRole('region', { name: '🍌 生成进度' }).locator('.close-action').click()
    await runBatch(page, 2)
    const second = prompts().slice(3)
    expect(second).toHaveLength(3)
    await expect.poll(async () => new Set((await exportDeck(page)).slides.map(slide => slide.background?.image?.src)).size, { timeout: 20_000 }).toBe(3)
    expect(second.map(textSection).sort()).toEqual(first.map(textSection).sort())
    for (const prompt of second) expect(prompt).not.toContain('this slide has no text')

    // restore one page from the float: only that slide is editable again
    const float = page.getByRole('region', { name: '🍌 生成进度' })
    await float.locator('.page[data-page="2"] .restore-btn').click()
    await expect.poll(() => float.locator('.status-text').allTextContents()).toEqual(['已完成', '已恢复可编辑', '已完成'])
    const one = await exportDeck(page)
    expect(one.slides[1].elements).toEqual(imported.slides[1].elements)
    expect(one.slides[1].background).toEqual(imported.slides[1].background)
    expect(one.slides.map(slide => slide.background?.type === 'image' && slide.elements.length === 0)).toEqual([true, false, true])
    // the kept source is in PPTist's JSON export of the slides still showing an image
    expect(one.slides.map(slide => 'nanoBananaSource' in slide)).toEqual([true, false, true])

    // restore all editable: the original elements and backgrounds, no image, the notes as before
    await float.locator('.restore-all-btn').click()
    await expect.poll(() => float.locator('.status-text').allTextContents()).toEqual(['已恢复可编辑', '已恢复可编辑', '已恢复可编辑'])
    await float.screenshot({ path: artifactPath('iterate-float-restored.png') })
    const restored = await exportDeck(page)
    for (const [i, slide] of restored.slides.entries()) {
      expect(slide.elements).toEqual(imported.slides[i].elements)
      expect(slide.background).toEqual(imported.slides[i].background)
      expect(slide.remark ?? '').toBe(imported.slides[i].remark ?? '')
    }
    await expect.poll(() => page.getByTestId('remark').textContent()).not.toContain('Nano Banana')
    await page.screenshot({ path: artifactPath('iterate-restored.png') })

    // one Ctrl+Z undoes "restore all" (page 2's own restore stays): the images, the kept source and
    // the moved notes are back, and the notes panel of the slide on screen shows them at once
    // (PPTist's reloads only on a slide change)
    await page.locator('[data-testid="canvas-slide"]').click()
    await page.keyboard.press('Control+z')
    await expect.poll(async () => (await exportDeck(page)).slides.map(slide => slide.background?.type === 'image'), { timeout: 5000 }).toEqual([true, false, true])
    expect((await exportDeck(page)).slides.map(slide => 'nanoBananaSource' in slide)).toEqual([true, false, true])
    // the float follows the deck: pages 1 and 3 are done again (and can be restored again)
    await expect.poll(() => float.locator('.status-text').allTextContents()).toEqual(['已完成', '已恢复可编辑', '已完成'])
    expect(await float.locator('.restore-btn').count()).toBe(2)
    await expect.poll(() => page.getByTestId('remark').textContent(), { timeout: 5000 }).toContain('Nano Banana')
    await page.keyboard.press('Control+y')
    await expect.poll(() => page.getByTestId('remark').textContent(), { timeout: 5000 }).not.toContain('Nano Banana')
    await expect.poll(() => float.locator('.status-text').allTextContents()).toEqual(['已恢复可编辑', '已恢复可编辑', '已恢复可编辑'])
    await page.screenshot({ path: artifactPath('iterate-undo-restore.png') })
    expect(errors).toEqual([])
    await page.close()
  })
})
