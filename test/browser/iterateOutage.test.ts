// Retries and outages in the demo editor (real proxy → fake Gemini, Chromium), issue #9 item 6:
// - the proxy, behind a gateway that answers 502 while it is down, is SIGKILLed mid-run and started
//   again on the same port and data dir: the float says it is reconnecting (no error); the page that
//   was being drawn shows interrupted while the queued ones go on by themselves; killed again while
//   those are drawn, they show interrupted too, and a single retry and "retry all failed" both reach
//   the slides;
// - the images cannot be loaded, then the network is gone altogether (a relay that resets every
//   connection, see harness startNetworkGate) while pages are being drawn:
//   no slide ever loses its elements before the browser has its image, the float says it is
//   reconnecting with no time estimate, and the run picks up and completes when the network returns;
//   the dialog opened during an outage keeps the remembered template and gets its estimate back;
// - a page the proxy still refuses (its announced limits and its validation disagree) is named by
//   its number, in Chinese and in English.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { Slide } from '../../src/types/slides'
import { artifactPath, buildDemo, launchChromium, startNetworkGate, startProxy, type RunningProxy } from './harness'
import { blankSlides, deckNow, floatOf, importSlides, startRun, watchForBlankSlides, withImage } from './demoPage'
import { startFakeGemini } from '../fakes/geminiServer'
import type { FakeServer } from '../fakes/common'

let browser: Browser | undefined
let gemini: FakeServer | undefined
let proxy: RunningProxy | undefined
const dataDir = mkdtempSync(path.join(tmpdir(), 'nb-outage-'))
// long enough to catch a page in flight, short enough for a quick test
const LATENCY_MS = 1500

const proxyEnv = () => ({ IMAGE_PROVIDER: 'gemini', GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini!.url })

beforeAll(async () => {
  buildDemo()
  gemini = await startFakeGemini({ latencyMs: LATENCY_MS, mislabelRate: 0 })
  proxy = await startProxy(proxyEnv(), { dataDir })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close().catch(() => undefined)
  await proxy?.stop()
  await gemini?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

/** The demo with a three-slide deck (cover and two content slides of the sample), watched for blank slides. */
async function openDeck(baseUrl = proxy!.baseUrl): Promise<{ page: Page, errors: string[], slides: Slide[] }> {
  const page = await browser!.newPage({ viewport: { width: 1440, height: 900 } })
  const errors: string[] = []
  page.on('pageerror', err => errors.push(err.message))
  await page.goto(`${baseUrl}/`)
  await page.locator('.thumbnail-item').nth(7).waitFor()
  const sample = await deckNow(page)
  const slides = [sample.slides[0], sample.slides[3], sample.slides[4]]
  await importSlides(page, slides)
  return { page, errors, slides }
}

const generateCalls = () => gemini!.lastRequests.filter(r => r.path.includes(':generateContent')).length

describe('retries and outages (demo editor, fake Gemini)', () => {
  it('the proxy killed mid-run and restarted behind a gateway: queued pages go on, interrupted ones wait for a single retry or "retry all failed"', async () => {
    // in front of it, a gateway that answers 502 while the proxy is down (as nginx would)
    const gate = await startNetworkGate(proxy!.baseUrl, { badGateway: true })
    const { page, errors } = await openDeck(gate.url)
    await watchForBlankSlides(page)
    const float = floatOf(page)
    const callsBefore = generateCalls()

    await startRun(page)
    // page 1 is being drawn (the style chain holds the others until it is done): kill the proxy
    await expect.poll(() => gemini!.stats.inFlight, { timeout: 20_000 }).toBeGreaterThan(0)
    const port = Number(new URL(proxy!.baseUrl).port)
    await proxy!.kill()
    await expect.poll(() => float.getByRole('status').textContent(), { timeout: 20_000 }).toContain('正在重新连接')
    // the gateway's 502 pages are the proxy being away, not an error to show
    await expect.poll(() => page.evaluate(() => performance.getEntriesByType('resource')
      .some(e => (e as PerformanceResourceTiming).responseStatus === 502)), { timeout: 20_000 }).toBe(true)
    expect(await float.getByRole('status').textContent()).toContain('正在重新连接')
    expect(await float.getByRole('alert').count()).toBe(0)
    expect(await float.locator('.remaining').count()).toBe(0)
    expect(await float.locator('.spinner').count()).toBe(0)
    await float.screenshot({ path: artifactPath('outage-float-reconnecting-killed.png') })

    // the same port and data dir, as a supervisor would restart it: page 1 (its call was running,
    // maybe paid) is interrupted; pages 2 and 3 (only queued, unpaid) are drawn without a retry
    proxy = await startProxy(proxyEnv(), { dataDir, port })
    await expect.poll(() => float.locator('.page[data-page="1"].failed').count(), { timeout: 30_000 }).toBe(1)
    expect(await float.locator('.page[data-page="1"] .reason').textContent()).toContain('生成服务重启')
    await expect.poll(() => gemini!.stats.inFlight, { timeout: 20_000 }).toBe(2)
    expect(await float.locator('.page.failed').count()).toBe(1)
    await float.screenshot({ path: artifactPath('outage-float-restarted-queued-go-on.png') })

    // killed again while pages 2 and 3 are drawn, and restarted: now all three wait for the user
    await proxy!.kill()
    await expect.poll(() => float.getByRole('status').textContent(), { timeout: 20_000 }).toContain('正在重新连接')
    proxy = await startProxy(proxyEnv(), { dataDir, port })
    await expect.poll(() => float.locator('.page.failed').count(), { timeout: 30_000 }).toBe(3)
    expect(await float.locator('.page[data-page="3"] .reason').textContent()).toContain('生成服务重启')
    expect(await float.getByRole('status').count()).toBe(0)
    expect(withImage(await deckNow(page))).toHaveLength(0)
    await float.screenshot({ path: artifactPath('outage-float-interrupted.png') })

    // one page retried: its slide gets its image
    await float.locator('.page[data-page="1"]').getByRole('button', { name: '重试' }).click()
    await expect.poll(async () => withImage(await deckNow(page)).map(s => s.id), { timeout: 30_000 }).toHaveLength(1)
    expect((await deckNow(page)).slides[0].background?.image?.src).toContain('/api/v1/images/')
    await expect.poll(() => float.locator('.page[data-page="1"] .status-text').textContent()).toBe('已完成')
    await float.screenshot({ path: artifactPath('outage-float-retried-one.png') })

    // the rest with "retry all failed"
    await float.locator('.retry-all-btn').click()
    await expect.poll(async () => withImage(await deckNow(page)).length, { timeout: 30_000 }).toBe(3)
    await expect.poll(() => float.locator('.summary').textContent(), { timeout: 10_000 }).toBe('3 页完成')
    await float.screenshot({ path: artifactPath('outage-float-retried-all.png') })
    // page 1 was drawn before the first kill (paid) and once after it; pages 2 and 3 once before the
    // second kill (by themselves) and once after it
    expect(generateCalls() - callsBefore).toBe(6)

    const watched = await blankSlides(page)
    expect(watched.looks).toBeGreaterThan(10)
    expect(watched.blank).toEqual([])
    expect(errors).toEqual([])
    await page.close()
    await gate.close()
  })

  it('images unreachable, then the network gone mid-run: never a blank slide, "reconnecting" with no estimate, then it completes', async () => {
    const gate = await startNetworkGate(proxy!.baseUrl)
    const { page, errors } = await openDeck(gate.url)
    await watchForBlankSlides(page)
    const float = floatOf(page)
    let imagesDown = true
    await page.route('**/api/v1/images/**', route => (imagesDown ? route.abort('connectionrefused') : route.continue()))
    const callsBefore = generateCalls()

    await startRun(page, 2)
    // page 1 finished on the proxy, its image cannot be had: the slide keeps its elements, and the
    // float says the image is loading rather than done (no restore offered for a slide not changed)
    await expect.poll(() => float.locator('.page[data-page="1"] .status-text').textContent(), { timeout: 20_000 }).toBe('载入图片中')
    expect(await float.locator('.page[data-page="1"] .restore-btn').count()).toBe(0)
    const slide1 = (await deckNow(page)).slides[0]
    expect(slide1.elements.length).toBeGreaterThan(0)
    expect(slide1.background?.image?.src ?? '').not.toContain('/api/v1/images/')

    // now no network at all while pages 2 and 3 are drawn on the proxy
    gate.down()
    await expect.poll(() => float.getByRole('status').textContent(), { timeout: 20_000 }).toContain('正在重新连接')
    expect(await float.locator('.remaining').count()).toBe(0)
    expect(await float.locator('.spinner').count()).toBe(0)
    await float.screenshot({ path: artifactPath('outage-float-reconnecting-offline.png') })
    await page.screenshot({ path: artifactPath('outage-editor-offline.png') })
    await expect.poll(() => generateCalls() - callsBefore, { timeout: 20_000 }).toBe(3)
    await expect.poll(() => gemini!.stats.inFlight, { timeout: 20_000 }).toBe(0)
    expect(withImage(await deckNow(page))).toHaveLength(0)

    // back: the run picks up where it was, every slide gets its image, nothing drawn twice
    gate.up()
    imagesDown = false
    await expect.poll(async () => withImage(await deckNow(page)).length, { timeout: 40_000 }).toBe(3)
    await expect.poll(() => float.locator('.summary').textContent(), { timeout: 10_000 }).toBe('3 页完成')
    await expect.poll(() => float.locator('.status-text').allTextContents()).toEqual(['已完成', '已完成', '已完成'])
    expect(await float.getByRole('status').count()).toBe(0)
    await float.screenshot({ path: artifactPath('outage-float-back.png') })
    expect(generateCalls() - callsBefore).toBe(3)
    const watched = await blankSlides(page)
    expect(watched.looks).toBeGreaterThan(10)
    expect(watched.blank).toEqual([])

    // the dialog opened during another outage: the connection error, not "pick a template"; once
    // the proxy answers, the remembered template is still chosen and the estimate has its price
    await float.locator('.close-action').click()
    gate.down()
    await page.locator('.editor-header .extensions').getByRole('button').first().click()
    const dialog = page.getByRole('dialog')
    await expect.poll(() => dialog.getByRole('alert').allTextContents(), { timeout: 10_000 }).toEqual([expect.stringContaining('无法连接到生成服务')])
    // no guessed time or price while the proxy does not answer, and nothing to start
    expect(await dialog.locator('.unreachable').textContent()).toContain('生成服务暂时无法连接')
    expect(await dialog.locator('.estimate-cost').count()).toBe(0)
    expect(await dialog.getByRole('button', { name: '开始生成' }).isEnabled()).toBe(false)
    await dialog.screenshot({ path: artifactPath('outage-dialog-down.png') })
    gate.up()
    const templates = dialog.getByRole('listbox').getByRole('option')
    await expect.poll(() => templates.nth(2).getAttribute('aria-selected'), { timeout: 15_000 }).toBe('true')
    await expect.poll(() => dialog.locator('.estimate-cost').textContent()).toContain('预计费用')
    expect(await dialog.getByRole('alert').count()).toBe(0)
    expect(await dialog.getByRole('button', { name: '开始生成' }).isEnabled()).toBe(true)
    await dialog.screenshot({ path: artifactPath('outage-dialog-back.png') })

    expect(errors).toEqual([])
    await page.close()
    await gate.close()
  })

  it('a page the proxy still refuses is named by its number, in Chinese and in English; nothing is sent upstream', async () => {
    for (const [lang, start, message] of [['', '开始生成', '第 3 页无法提交'], ['?lang=en', 'Generate', 'Slide 3 cannot be sent']] as const) {
      const page = await browser!.newPage({ viewport: { width: 1440, height: 900 } })
      // a proxy whose announced limits and validation disagree (an older proxy behind a newer
      // front, a limit changed in between): the extension trims to 50,000, the proxy takes 8,000
      await page.route('**/api/v1/health', async route => {
        const answer = await route.fetch()
        const health = await answer.json() as { limits: Record<string, number> }
        await route.fulfill({ response: answer, json: { ...health, limits: { ...health.limits, max_page_text_chars: 50_000 } } })
      })
      await page.goto(`${proxy!.baseUrl}/${lang}`)
      await page.locator('.thumbnail-item').nth(7).waitFor()
      const sample = await deckNow(page)
      const body = sample.slides[3].elements.find(el => el.type === 'text')!
      const long = { ...sample.slides[4], elements: [{ ...body, id: 'long-body', content: `<p>${'很长的正文，'.repeat(1500)}</p>` }] }
      await importSlides(page, [sample.slides[0], sample.slides[3], long])
      const calls = generateCalls()

      await page.locator('.editor-header .extensions').getByRole('button').first().click()
      const dialog = page.getByRole('dialog')
      await dialog.getByRole('listbox').getByRole('option').first().click()
      await dialog.getByRole('button', { name: start }).click()
      await expect.poll(() => dialog.locator('.server-error').textContent(), { timeout: 10_000 }).toContain(message)
      await dialog.screenshot({ path: artifactPath(`outage-refused-page${lang ? '-en' : ''}.png`) })
      expect(generateCalls()).toBe(calls)
      await page.close()
    }
  })
})
