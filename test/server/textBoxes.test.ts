// The optional page field text_boxes (where the slide's own text boxes sit) and the page result's
// "shortened" flag, end to end through the proxy's HTTP API.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  fakePublicDir, getJson, okImage, postJson, scriptedProvider, startTestServer, tempDir, waitUntil, type TestServer,
} from './helpers.js'

const BATCHES = '/api/v1/slide-generations/batches'

describe('text_boxes and shortened', () => {
  let srv: TestServer
  let cleanup: () => Promise<void>
  // page 2's image does not show all of its text
  const provider = scriptedProvider(async (page) => ({ ...(await okImage()), ...(page === 2 ? { shortened: true } : {}) }))

  beforeAll(async () => {
    const t = await tempDir()
    cleanup = t.cleanup
    srv = await startTestServer({ provider, dataDir: path.join(t.dir, 'data'), publicDir: await fakePublicDir(t.dir) })
  })
  afterAll(async () => {
    await srv.stop()
    await cleanup()
  })

  const deck = (deckTitle: string, boxes: unknown) => ({
    template_id: 'nano_banana_1', deck_title: deckTitle, options: { style_chain: false, mode: 'background' },
    pages: [
      { slide_id: 'a', title: 'Title', content: 'one', text_boxes: boxes },
      { slide_id: 'b', title: 'Second', content: 'two' },
    ],
  })

  async function run(body: unknown) {
    const r = await postJson(`${srv.url}${BATCHES}`, body)
    expect(r.status).toBe(202)
    const id = r.body.batch_id as string
    await waitUntil(async () => (await getJson(`${srv.url}${BATCHES}/${id}/progress`)).body.status === 'completed')
    return (await getJson(`${srv.url}${BATCHES}/${id}/progress`)).body
  }

  it('hands the text boxes to the provider (right/bottom overhang clipped); reports shortened pages, also from the cache', async () => {
    const boxes = [{ x: 0.1, y: 0.05, w: 0.8, h: 0.15 }, { x: 0.5, y: 0.7, w: 0.6, h: 0.4 }]
    const p = await run(deck('Boxes', boxes))
    const calls = provider.calls.filter(c => c.req.page.deckTitle === 'Boxes')
    expect(calls).toHaveLength(2)
    const first = calls.find(c => c.page === 1)!.req.page
    expect(first.textBoxes).toHaveLength(2)
    expect(first.textBoxes![0]).toEqual(boxes[0])
    expect(first.textBoxes![1].x).toBe(0.5)
    expect(first.textBoxes![1].w).toBeCloseTo(0.5, 9)
    expect(first.textBoxes![1].h).toBeCloseTo(0.3, 9)
    expect(calls.find(c => c.page === 2)!.req.page.textBoxes).toBeUndefined()
    expect(p.results[0].shortened).toBeUndefined()
    expect(p.results[1].shortened).toBe(true)

    // the same deck again is served from the duplicate cache and still says which page was shortened
    const again = await run(deck('Boxes', boxes))
    expect(provider.calls.filter(c => c.req.page.deckTitle === 'Boxes')).toHaveLength(2)
    expect(again.results.map((r: { shortened?: boolean }) => r.shortened)).toEqual([undefined, true])
    // other text boxes: the preview would draw differently, so no cache hit for page 1
    await run(deck('Boxes', [{ x: 0, y: 0, w: 1, h: 0.2 }]))
    expect(provider.calls.filter(c => c.req.page.deckTitle === 'Boxes')).toHaveLength(3)
  })

  it.each([
    ['a number above 1', [{ x: 0.2, y: 0.2, w: 1.5, h: 0.1 }], 'pages.0.text_boxes.0.w'],
    ['a negative number', [{ x: -0.1, y: 0.2, w: 0.5, h: 0.1 }], 'pages.0.text_boxes.0.x'],
    ['a missing field', [{ x: 0.1, y: 0.2, w: 0.5 }], 'pages.0.text_boxes.0.h'],
    ['not a list', { x: 0.1, y: 0.2, w: 0.5, h: 0.1 }, 'pages.0.text_boxes'],
    ['more than 100 boxes', Array.from({ length: 101 }, () => ({ x: 0, y: 0, w: 0.1, h: 0.1 })), 'pages.0.text_boxes'],
  ])('rejects %s with 400 and the field path', async (_name, boxes, field) => {
    const r = await postJson(`${srv.url}${BATCHES}`, deck('Bad', boxes))
    expect(r.status).toBe(400)
    expect(r.body.error.code).toBe('invalid_request')
    expect(r.body.error.details.map((d: { path: string }) => d.path)).toContain(field)
  })
})
