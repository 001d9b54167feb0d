import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { createBatchController, type BatchController, type BatchControllerDeps } from '../../plugin/composables/useBatchGeneration'
import type { ImagePixels } from '../../plugin/composables/useImageLuminance'
import { createDeckHost, resolveHostStores } from '../../plugin/host/pptistHost'
import { useNanoBananaStore } from '../../plugin/store/nanoBanana'
import { translate } from '../../plugin/i18n/messages'
import type { BatchOptions, CreateBatchRequest } from '../../plugin/types/api'
import type { ProxyApi } from '../../plugin/api/client'
import { setupPptist, snapshotTable } from './fakes/pptistStores'
import { scriptedSseFetch, type ScriptedConnection, type SseEvent } from './fakes/sse'
import { fakeApi, GEMINI_HEALTH, httpError, networkError, pageResult, progressOf } from './fakes/proxyApi'
import { deck } from './fixtures/deck'
import type { Slide, TextElement } from '../../plugin/host/types'

const SERVER = 'http://127.0.0.1:8787'
const OPTIONS: BatchOptions = {
  aspect_ratio: '16:9', resolution: '2K', mode: 'full', language: 'zh', extra_prompt: '', style_chain: true,
}
const IDS = ['cover01', 'contents01', 'table01']

function setup(api: ProxyApi, connections: ScriptedConnection[], extra: Partial<Pick<BatchControllerDeps, 'embed' | 'loadPixels' | 'preloadImage' | 'preloadPreview'>> = {}) {
  const store = useNanoBananaStore()
  const sse = scriptedSseFetch(connections)
  const controller = createBatchController({
    api, serverUrl: SERVER, apiBase: `${SERVER}/api/v1`, token: 'tok', store,
    t: (key, params) => translate('zh', key, params),
    host: () => createDeckHost(resolveHostStores(undefined)),
    fetchImpl: sse.fetchImpl,
    pollIntervalMs: 10,
    sseRetryDelayMs: 1,
    ...extra,
  })
  return { store, controller, sse }
}

const ev = (id: number, event: string, data: unknown): SseEvent => ({ id: String(id), event, data })
const done = (id: number, status = 'completed', completed = 3, failed = 0) =>
  ev(id, 'done', { status, completed_pages: completed, failed_pages: failed })
const bgSrc = (slide: Slide | undefined) => slide?.background?.image?.src

async function finished(controller: BatchController, store: ReturnType<typeof useNanoBananaStore>) {
  await vi.waitFor(() => expect(store.isFinished).toBe(true), { timeout: 2000 })
  await controller.settled()
}

describe('useBatchGeneration controller', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('creates the batch from the slides\' text and applies pages as they arrive over SSE, once each, as one undo step', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const before = JSON.parse(JSON.stringify(slidesStore.slides))
    const updatedSlides: string[] = []
    slidesStore.$onAction(({ name, args }) => {
      if (name === 'updateSlide') updatedSlides.push(String(args[1]))
    })
    const { api, created } = fakeApi()
    const { store, controller, sse } = setup(api, [{
      events: [
        ev(1, 'snapshot', progressOf('b1', 'generating', IDS.map((id, i) => pageResult(i + 1, id, 'pending')))),
        ev(2, 'page', pageResult(1, 'cover01', 'generating')),
        ev(3, 'page', pageResult(1, 'cover01', 'completed')),
        ev(4, 'page', pageResult(2, 'contents01', 'completed')),
        ev(5, 'page', pageResult(1, 'cover01', 'completed')), // replayed
        ev(6, 'progress', { current_page: 3, total_pages: 3, completed_pages: 2, failed_pages: 0, percentage: 67, estimated_remaining_time: 12 }),
        ev(7, 'page', pageResult(3, 'table01', 'completed')),
        done(8),
      ],
    }])

    expect(await controller.start({ templateId: 'nano_banana_3', slideIds: IDS, options: OPTIONS, embed: false })).toBe(true)
    expect(created[0]).toMatchObject({
      template_id: 'nano_banana_3', deck_title: '有理数的大小比较', options: OPTIONS,
      pages: [
        { slide_id: 'cover01', page_type: 'cover', title: '有理数的大小比较', content: '七年级数学 · 第一章' },
        { slide_id: 'contents01', page_type: 'contents', title: '目录' },
        { slide_id: 'table01', page_type: 'content', title: '比较法则一览' },
      ],
    })
    await finished(controller, store)

    expect(sse.calls[0].url).toBe(`${SERVER}/api/v1/slide-generations/batches/b1/events`)
    expect(sse.calls[0].headers.authorization).toBe('Bearer tok')
    expect(store.status).toBe('completed')
    expect(store.doneCount).toBe(3)
    expect(store.percentage).toBe(100)
    const slides = slidesStore.slides
    expect(bgSrc(slides[0])).toBe(`${SERVER}/api/v1/images/p1.png`)
    expect(bgSrc(slides[1])).toBe(`${SERVER}/api/v1/images/p2.png`)
    expect(bgSrc(slides[2])).toBe(`${SERVER}/api/v1/images/p3.png`)
    expect(slides[3].background).toBeUndefined()
    expect(slides[0].elements).toEqual([])
    // the replayed event was not applied a second time
    expect(updatedSlides).toEqual(['cover01', 'contents01', 'table01'])
    expect(slides[0].remark!.match(/有理数的大小比较/g)).toHaveLength(1)

    expect(snapshotStore.snapshotLength).toBe(2)
    await snapshotStore.unDo()
    expect(slidesStore.slides).toEqual(before)
  })

  it('a second run sends the original text again; restore puts the editable slides back as one undo step', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const before = JSON.parse(JSON.stringify(slidesStore.slides)) as Slide[]
    const { api, created } = fakeApi()
    const { store, controller } = setup(api, [
      { events: [ev(1, 'page', pageResult(1, 'cover01', 'completed')), ev(2, 'page', pageResult(2, 'contents01', 'completed')), done(3, 'completed', 2)] },
      { events: [ev(1, 'page', pageResult(1, 'cover01', 'completed')), ev(2, 'page', pageResult(2, 'contents01', 'completed')), done(3, 'completed', 2)] },
    ])
    // as the 🍌 button does when it mounts
    controller.watchHistory()
    await controller.start({ templateId: 'nano_banana_1', slideIds: IDS.slice(0, 2), options: OPTIONS, embed: false })
    await finished(controller, store)
    expect(slidesStore.slides[0].elements).toEqual([])
    // the slides go through PPTist's snapshots as JSON: the kept source survives undo/redo
    await snapshotStore.unDo()
    await snapshotStore.reDo()
    expect(slidesStore.slides[0].nanoBananaSource?.elements).toEqual(before[0].elements)

    store.closeFloat()
    await controller.start({ templateId: 'nano_banana_2', slideIds: IDS.slice(0, 2), options: OPTIONS, embed: false })
    await finished(controller, store)
    expect(created[1].pages).toEqual(created[0].pages)
    expect(created[1].pages[0]).toMatchObject({ title: '有理数的大小比较', content: '七年级数学 · 第一章' })

    // the user edits something else afterwards, so undo no longer reaches the batch
    slidesStore.updateSlide({ remark: '<p>later</p>' }, 'table01')
    await snapshotStore.addSnapshot()
    const length = snapshotStore.snapshotLength
    expect(await controller.restore()).toBe(2)
    expect(snapshotStore.snapshotLength).toBe(length + 1)
    expect(slidesStore.slides[0].elements).toEqual(before[0].elements)
    expect(slidesStore.slides[0].background).toEqual(before[0].background)
    expect(slidesStore.slides[0].remark).toBe(before[0].remark)
    expect(slidesStore.slides[1].elements).toEqual(before[1].elements)
    expect(store.pages.every(p => p.restored)).toBe(true)
    // one undo takes the whole restore back, and the float follows: done again, restore offered
    await snapshotStore.unDo()
    expect(slidesStore.slides[0].elements).toEqual([])
    expect(slidesStore.slides[1].elements).toEqual([])
    expect(store.pages.map(p => p.restored)).toEqual([false, false])
    await snapshotStore.reDo()
    expect(store.pages.map(p => p.restored)).toEqual([true, true])
    controller.dispose()
  })

  it('follows the proxy\'s "waiting for quota" flag from progress events and snapshots', async () => {
    await setupPptist(deck)
    const { api } = fakeApi()
    const counts = { current_page: 1, total_pages: 3, completed_pages: 0, failed_pages: 0, percentage: 0, estimated_remaining_time: 90 }
    const { store, controller } = setup(api, [{
      events: [
        ev(1, 'snapshot', progressOf('b1', 'generating', IDS.map((id, i) => pageResult(i + 1, id, 'pending')))),
        ev(2, 'progress', { ...counts, waiting_for_quota: true }),
      ],
    }])
    expect(await controller.start({ templateId: 'nano_banana_3', slideIds: IDS, options: OPTIONS, embed: false })).toBe(true)
    await vi.waitFor(() => expect(store.waitingForQuota).toBe(true), { timeout: 2000 })
    expect(store.remainingSeconds).toBe(90)
    controller.dispose()
  })

  it('follows the proxy\'s "waiting for budget" flag: set by a snapshot, cleared by a progress event', async () => {
    await setupPptist(deck)
    const { api } = fakeApi()
    const counts = { current_page: 2, total_pages: 3, completed_pages: 1, failed_pages: 0, percentage: 33, estimated_remaining_time: 40 }
    const { store, controller } = setup(api, [{
      events: [
        ev(1, 'snapshot', { ...progressOf('b1', 'generating', IDS.map((id, i) => pageResult(i + 1, id, 'pending'))), waiting_for_budget: true, budget_resumes_in_seconds: 540 }),
        ev(2, 'progress', { ...counts, waiting_for_budget: false }),
      ],
    }])
    const seen: boolean[] = []
    const seenResumes: (number | undefined)[] = []
    store.$onAction(({ name, args }) => {
      if (name === 'setWaitingForBudget') {
        seen.push(args[0] as boolean)
        seenResumes.push(args[1] as number | undefined)
      }
    })
    expect(await controller.start({ templateId: 'nano_banana_3', slideIds: IDS, options: OPTIONS, embed: false })).toBe(true)
    // (the scripted stream ends without done, so the controller reconnects and hears it again)
    await vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(2), { timeout: 2000 })
    expect(seen.slice(0, 2)).toEqual([true, false])
    // the proxy's wait reaches the store with the flag
    expect(seenResumes[0]).toBe(540)
    controller.dispose()
  })

  it('skips a slide deleted while its page was generating, without resurrecting it', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const { api } = fakeApi()
    const { store, controller } = setup(api, [{
      events: [
        ev(1, 'page', pageResult(1, 'cover01', 'completed')),
        ev(2, 'page', pageResult(2, 'contents01', 'completed')),
        done(3, 'completed', 2, 0),
      ],
    }])
    await controller.start({ templateId: 'nano_banana_1', slideIds: IDS.slice(0, 2), options: OPTIONS, embed: false })
    // the user deletes slide 2 before any event is handled (and PPTist records it)
    slidesStore.deleteSlide('contents01')
    await snapshotStore.addSnapshot()
    await finished(controller, store)

    expect(slidesStore.slides.map(s => s.id)).toEqual(['cover01', 'table01', 'chart01', 'end01'])
    expect(slidesStore.slides.some(s => s.id === 'contents01')).toBe(false)
    expect(Object.keys(slidesStore.slides)).not.toContain('-1')
    expect(store.pages[1].skipped).toBe(true)
    expect(bgSrc(slidesStore.slides[0])).toBe(`${SERVER}/api/v1/images/p1.png`)
  })

  it('background mode keeps the text elements and removes old decoration', async () => {
    const { slidesStore } = await setupPptist(deck)
    const { api } = fakeApi()
    const { store, controller } = setup(api, [{ events: [ev(1, 'page', pageResult(1, 'cover01', 'completed')), done(2, 'completed', 1)] }])
    await controller.start({ templateId: 'nano_banana_1', slideIds: ['cover01'], options: { ...OPTIONS, mode: 'background' }, embed: false })
    await finished(controller, store)
    expect(slidesStore.slides[0].elements.map(el => el.id)).toEqual(['title1', 'sub1', 'foot1'])
    expect(bgSrc(slidesStore.slides[0])).toBe(`${SERVER}/api/v1/images/p1.png`)
  })

  describe('background mode keeps text readable on the new image', () => {
    // A contents page from a dark-sided template: white "目录" on a blue side shape, dark items on white.
    const contents: Slide = {
      id: 'contents', type: 'contents',
      elements: [
        { id: 'side', type: 'shape', left: 0, top: 0, width: 300, height: 562.5, path: 'M 0 0 L 1 0 L 1 1 L 0 1 Z', fill: '#1f5fa8' },
        {
          id: 'title', type: 'text', textType: 'title', left: 40, top: 200, width: 240, height: 80, defaultColor: '#ffffff',
          content: '<p><span style="font-size: 44px; color: #ffffff;">目录</span></p>',
        },
        {
          id: 'item', type: 'text', textType: 'item', left: 470, top: 96, width: 440, height: 52, defaultColor: '#333333',
          content: '<p><span style="font-size: 26px; color: #333333;">从数轴看大小</span></p>',
        },
      ],
    }
    // A uniformly light generated image, 16 × 9 pixels.
    const lightImage = (): ImagePixels => ({ data: new Uint8ClampedArray(16 * 9 * 4).fill(245), width: 16, height: 9 })

    it('white text left on a light image turns near-black, in the same undo step as the background', async () => {
      const { slidesStore, snapshotStore } = await setupPptist([contents])
      const before = JSON.parse(JSON.stringify(slidesStore.slides))
      const { api } = fakeApi()
      const loadPixels = vi.fn(async () => lightImage())
      const { store, controller } = setup(api, [{ events: [ev(1, 'page', pageResult(1, 'contents', 'completed')), done(2, 'completed', 1)] }], { loadPixels })
      await controller.start({ templateId: 'nano_banana_3', slideIds: ['contents'], options: { ...OPTIONS, mode: 'background' }, embed: false })
      await finished(controller, store)

      expect(loadPixels).toHaveBeenCalledWith(`${SERVER}/api/v1/images/p1.png`)
      const [title, item] = slidesStore.slides[0].elements as TextElement[]
      expect(slidesStore.slides[0].elements.map(el => el.id)).toEqual(['title', 'item'])
      expect(title.defaultColor).toBe('#1f1f1f')
      expect(title.content).toBe('<p><span style="font-size: 44px; color: #1f1f1f;">目录</span></p>')
      expect(item).toEqual(contents.elements[2]) // already readable: untouched
      expect(bgSrc(slidesStore.slides[0])).toBe(`${SERVER}/api/v1/images/p1.png`)
      expect(snapshotStore.snapshotLength).toBe(2)
      await snapshotStore.unDo()
      expect(slidesStore.slides).toEqual(before)
    })

    it('an image that cannot be read (tainted canvas) leaves the colours alone; full mode never samples', async () => {
      const { slidesStore } = await setupPptist([contents])
      const { api } = fakeApi()
      const loadPixels = vi.fn(async () => null)
      const { store, controller } = setup(api, [{ events: [ev(1, 'page', pageResult(1, 'contents', 'completed')), done(2, 'completed', 1)] }], { loadPixels })
      await controller.start({ templateId: 'nano_banana_3', slideIds: ['contents'], options: { ...OPTIONS, mode: 'background' }, embed: false })
      await finished(controller, store)
      expect((slidesStore.slides[0].elements[0] as TextElement).defaultColor).toBe('#ffffff')
      expect(bgSrc(slidesStore.slides[0])).toBe(`${SERVER}/api/v1/images/p1.png`)

      setActivePinia(createPinia())
      await setupPptist([contents])
      const fullModePixels = vi.fn(async () => lightImage())
      const full = setup(api, [{ events: [ev(1, 'page', pageResult(1, 'contents', 'completed')), done(2, 'completed', 1)] }], { loadPixels: fullModePixels })
      await full.controller.start({ templateId: 'nano_banana_3', slideIds: ['contents'], options: OPTIONS, embed: false })
      await finished(full.controller, full.store)
      expect(full.store.doneCount).toBe(1)
      expect(fullModePixels).not.toHaveBeenCalled()
    })
  })

  it('embed option inlines the JPEG data URL made from the absolute image URL', async () => {
    const { slidesStore } = await setupPptist(deck)
    const { api } = fakeApi()
    const embed = vi.fn(async (url: string) => `data:image/jpeg;base64,${btoa(url)}`)
    const { store, controller } = setup(api, [{ events: [ev(1, 'page', pageResult(1, 'cover01', 'completed')), done(2, 'completed', 1)] }], { embed })
    await controller.start({ templateId: 'nano_banana_1', slideIds: ['cover01'], options: OPTIONS, embed: true })
    await finished(controller, store)
    expect(embed).toHaveBeenCalledWith(`${SERVER}/api/v1/images/p1.png`)
    expect(bgSrc(slidesStore.slides[0])).toBe(`data:image/jpeg;base64,${btoa(`${SERVER}/api/v1/images/p1.png`)}`)
  })

  it('embed mode: three pages land as data URLs and one undo restores the deck as before the batch', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const before = JSON.parse(JSON.stringify(slidesStore.slides))
    // each snapshot copies the whole deck, every data URL in it: two for the batch, not one per page
    let copies = 0
    snapshotStore.$onAction(({ name }) => { if (name === 'addSnapshot') copies++ })
    const { api } = fakeApi()
    const embed = vi.fn(async (url: string) => `data:image/jpeg;base64,${btoa(url)}`)
    const { store, controller } = setup(api, [{
      events: [ev(1, 'page', pageResult(1, 'cover01', 'completed')), ev(2, 'page', pageResult(2, 'contents01', 'completed')), ev(3, 'page', pageResult(3, 'table01', 'completed')), done(4, 'completed', 3)],
    }], { embed })
    await controller.start({ templateId: 'nano_banana_1', slideIds: IDS, options: OPTIONS, embed: true })
    await finished(controller, store)
    expect(slidesStore.slides.slice(0, 3).every(s => bgSrc(s)?.startsWith('data:image/jpeg'))).toBe(true)
    expect(snapshotStore.snapshotLength).toBe(2)
    expect(copies).toBe(2)
    await snapshotStore.unDo()
    expect(slidesStore.slides).toEqual(before)
    await snapshotStore.reDo()
    expect(slidesStore.slides.slice(0, 3).every(s => bgSrc(s)?.startsWith('data:image/jpeg'))).toBe(true)
  })

  it('an embed that fails falls back to the URL; a WebP that cannot be converted is never inserted', async () => {
    const { slidesStore } = await setupPptist(deck)
    const { api } = fakeApi()
    const embed = vi.fn(async () => { throw new TypeError('CORS') })
    const { store, controller } = setup(api, [{
      events: [
        ev(1, 'page', pageResult(1, 'cover01', 'completed')),
        ev(2, 'page', pageResult(2, 'contents01', 'completed', { image_url: '/api/v1/images/p2.webp' })),
        done(3, 'completed', 2),
      ],
    }], { embed })
    await controller.start({ templateId: 'nano_banana_1', slideIds: IDS.slice(0, 2), options: OPTIONS, embed: true })
    await finished(controller, store)
    expect(bgSrc(slidesStore.slides[0])).toBe(`${SERVER}/api/v1/images/p1.png`)
    expect(slidesStore.slides[1].background).toBeUndefined()
    expect(store.error?.kind).toBe('unreachable')
  })

  it('falls back to polling when the event stream cannot be opened at all (network errors)', async () => {
    const { slidesStore } = await setupPptist(deck)
    const { api } = fakeApi({ progress: vi.fn(async () => progressOf('b1', 'completed', [pageResult(1, 'cover01', 'completed')])) })
    const { store, controller, sse } = setup(api, [{ networkError: true }])
    await controller.start({ templateId: 'nano_banana_1', slideIds: ['cover01'], options: OPTIONS, embed: false })
    await finished(controller, store)
    expect(sse.calls.length).toBe(3)
    expect(store.transport).toBe('polling')
    expect(bgSrc(slidesStore.slides[0])).toBe(`${SERVER}/api/v1/images/p1.png`)
  })

  it('falls back to polling /progress when the events endpoint 404s, and stops when the batch is over', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const sequence = [
      progressOf('b1', 'generating', [pageResult(1, 'cover01', 'generating'), pageResult(2, 'contents01', 'pending')]),
      progressOf('b1', 'generating', [pageResult(1, 'cover01', 'completed'), pageResult(2, 'contents01', 'generating')]),
      progressOf('b1', 'partial', [
        pageResult(1, 'cover01', 'completed'),
        pageResult(2, 'contents01', 'failed', { error_code: 'safety_refused', error_message: 'IMAGE_SAFETY' }),
      ]),
    ]
    let calls = 0
    const { api } = fakeApi({ progress: vi.fn(async () => sequence[Math.min(calls++, sequence.length - 1)]) })
    const { store, controller } = setup(api, [{ status: 404, contentType: 'application/json' }])
    await controller.start({ templateId: 'nano_banana_1', slideIds: IDS.slice(0, 2), options: OPTIONS, embed: false })
    await finished(controller, store)

    expect(store.transport).toBe('polling')
    expect(store.status).toBe('partial')
    expect(store.pages.map(p => p.status)).toEqual(['completed', 'failed'])
    expect(store.pages[1].error_code).toBe('safety_refused')
    expect(bgSrc(slidesStore.slides[0])).toBe(`${SERVER}/api/v1/images/p1.png`)
    const callsAtEnd = calls
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(calls).toBe(callsAtEnd)
    expect(snapshotStore.snapshotLength).toBe(2)
  })

  it('polling keeps going through a network blip, showing "reconnecting" meanwhile', async () => {
    await setupPptist(deck)
    let calls = 0
    const { api } = fakeApi({
      progress: vi.fn(async () => {
        calls++
        if (calls === 1) throw networkError()
        return progressOf('b1', 'completed', [pageResult(1, 'cover01', 'completed')])
      }),
    })
    const { store, controller } = setup(api, [{ status: 404 }])
    const connections: string[] = []
    store.$subscribe(() => connections.push(store.connection))
    await controller.start({ templateId: 'nano_banana_1', slideIds: ['cover01'], options: OPTIONS, embed: false })
    await finished(controller, store)
    expect(connections).toContain('reconnecting')
    expect(store.connection).toBe('ok')
    expect(store.error).toBeNull()
  })

  it('a gateway answering 502 for a proxy that is restarting is "reconnecting", not an error', async () => {
    await setupPptist(deck)
    let calls = 0
    const { api } = fakeApi({
      progress: vi.fn(async () => {
        calls++
        if (calls <= 2) throw httpError(calls === 1 ? 502 : 504, '<html><center>502 Bad Gateway</center></html>')
        return progressOf('b1', 'completed', [pageResult(1, 'cover01', 'completed')])
      }),
    })
    const { store, controller } = setup(api, [{ status: 404 }])
    const seen: string[] = []
    store.$subscribe(() => seen.push(`${store.connection}|${store.error?.message ?? ''}`))
    await controller.start({ templateId: 'nano_banana_1', slideIds: ['cover01'], options: OPTIONS, embed: false })
    await finished(controller, store)
    expect(seen).toContain('reconnecting|')
    expect(seen.filter(s => !s.endsWith('|'))).toEqual([])
    expect(store.connection).toBe('ok')
  })

  it('retry of a failed page calls the proxy and follows the batch again from a fresh snapshot; the new image is applied', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const { api } = fakeApi()
    const { store, controller, sse } = setup(api, [
      {
        events: [
          ev(1, 'page', pageResult(1, 'cover01', 'completed')),
          ev(2, 'page', pageResult(2, 'contents01', 'failed', { error_code: 'upstream_unavailable', error_message: 'overloaded' })),
          done(3, 'partial', 1, 1),
        ],
      },
      {
        events: [
          ev(4, 'page', pageResult(2, 'contents01', 'generating')),
          ev(5, 'page', pageResult(2, 'contents01', 'completed', { image_url: '/api/v1/images/p2-retry.png' })),
          done(6, 'completed', 2, 0),
        ],
      },
    ])
    await controller.start({ templateId: 'nano_banana_1', slideIds: IDS.slice(0, 2), options: OPTIONS, embed: false })
    await finished(controller, store)
    expect(store.failedCount).toBe(1)

    await controller.retryPage(2)
    expect(api.retryPage).toHaveBeenCalledWith('b1', 2)
    await vi.waitFor(() => expect(store.status).toBe('completed'))
    await controller.settled()
    // never resumed from an old id: after a proxy restart it could replay an earlier `done`
    expect(sse.calls[1].headers['last-event-id']).toBeUndefined()
    expect(bgSrc(slidesStore.slides[1])).toBe(`${SERVER}/api/v1/images/p2-retry.png`)
    // the batch and the retry are one step each
    expect(snapshotStore.snapshotLength).toBe(3)
  })

  it('a retry whose stream ends on an earlier `done` (proxy restarted) still lands: the proxy is asked and followed again', async () => {
    const { slidesStore } = await setupPptist(deck)
    let redrawn = false
    const { api } = fakeApi({
      retryPage: vi.fn(async () => {
        setTimeout(() => { redrawn = true }, 50)
      }),
      progress: vi.fn(async () => progressOf('b1', redrawn ? 'completed' : 'generating', [
        pageResult(1, 'cover01', 'completed'),
        redrawn ? pageResult(2, 'contents01', 'completed', { image_url: '/api/v1/images/p2-retry.png' }) : pageResult(2, 'contents01', 'generating'),
      ])),
    })
    const { store, controller, sse } = setup(api, [
      {
        events: [
          ev(1, 'page', pageResult(1, 'cover01', 'completed')),
          ev(2, 'page', pageResult(2, 'contents01', 'failed', { error_code: 'interrupted', error_message: 'interrupted' })),
          done(3, 'partial', 1, 1),
        ],
      },
      // what a restarted proxy may answer: the old `done` first (the stream ends there)
      { events: [done(3, 'partial', 1, 1)] },
      { events: [ev(4, 'page', pageResult(2, 'contents01', 'completed', { image_url: '/api/v1/images/p2-retry.png' })), done(5, 'completed', 2, 0)] },
    ])
    await controller.start({ templateId: 'nano_banana_1', slideIds: IDS.slice(0, 2), options: OPTIONS, embed: false })
    await finished(controller, store)
    await controller.retryPage(2)
    await vi.waitFor(() => expect(bgSrc(slidesStore.slides[1])).toBe(`${SERVER}/api/v1/images/p2-retry.png`), { timeout: 3000 })
    await vi.waitFor(() => expect(store.status).toBe('completed'))
    expect(store.pages[1].status).toBe('completed')
    expect(sse.calls.length).toBeGreaterThanOrEqual(3)
  })

  it('a page\'s elements are replaced only once its image has loaded; one that never loads leaves the slide whole', async () => {
    const { slidesStore } = await setupPptist(deck)
    const { api } = fakeApi()
    const loads: string[] = []
    let release: () => void = () => undefined
    const { store, controller } = setup(api, [{ events: [ev(1, 'page', pageResult(1, 'cover01', 'completed')), ev(2, 'page', pageResult(2, 'contents01', 'completed')), done(3, 'completed', 2)] }], {
      preloadImage: src => {
        loads.push(src)
        if (src.endsWith('p2.png')) return Promise.reject(new Error('image failed to load'))
        return new Promise<void>(resolve => { release = resolve })
      },
    })
    const before = JSON.parse(JSON.stringify(slidesStore.slides)) as Slide[]
    await controller.start({ templateId: 'nano_banana_1', slideIds: IDS.slice(0, 2), options: OPTIONS, embed: false })
    await vi.waitFor(() => expect(loads).toHaveLength(2))
    await new Promise(resolve => setTimeout(resolve, 30))
    // not loaded yet: the slide is untouched, and the float does not call the page done yet
    expect(slidesStore.slides[0].elements).toEqual(before[0].elements)
    expect(store.pages.map(p => [p.status, p.applied])).toEqual([['completed', false], ['completed', false]])
    release()
    await finished(controller, store)
    expect(slidesStore.slides[0].elements).toEqual([])
    expect(bgSrc(slidesStore.slides[0])).toBe(`${SERVER}/api/v1/images/p1.png`)
    // never loaded: elements and background as they were, and the page is not marked as on its slide
    expect(slidesStore.slides[1].elements).toEqual(before[1].elements)
    expect(slidesStore.slides[1].background).toEqual(before[1].background)
    expect(store.pages.map(p => p.applied)).toEqual([true, false])
  })

  describe('URL mode: the proxy\'s compact JPEG first, the full image once loaded', () => {
    const ID1 = 'a'.repeat(32)
    const ID2 = 'b'.repeat(32)
    const full = (id: string) => `${SERVER}/api/v1/images/${id}.png`
    const preview = (id: string) => `${SERVER}/api/v1/images/${id}.embed.jpg`
    /** loads that wait until released by src (or fail when asked to) */
    function gatedLoads(failing: string[] = []) {
      const asked: string[] = []
      const gates = new Map<string, () => void>()
      const load = (src: string) => {
        asked.push(src)
        if (failing.includes(src)) return Promise.reject(new Error('image failed to load'))
        return new Promise<void>(resolve => gates.set(src, resolve))
      }
      return { asked, load, release: (src: string) => gates.get(src)?.() }
    }

    // both pages completed, then the batch
    const twoPagesCompleted = () => [
      ev(1, 'page', pageResult(1, 'cover01', 'completed', { image_url: `/api/v1/images/${ID1}.png` })),
      ev(2, 'page', pageResult(2, 'contents01', 'completed', { image_url: `/api/v1/images/${ID2}.png` })),
      done(3, 'completed', 2),
    ]

    it('the slide changes once the preview is in, takes the full image later, and the batch stays one undo step ending on the full images', async () => {
      const { slidesStore, snapshotStore } = await setupPptist(deck)
      const before = JSON.parse(JSON.stringify(slidesStore.slides)) as Slide[]
      let copies = 0
      snapshotStore.$onAction(({ name }) => { if (name === 'addSnapshot') copies++ })
      const { api } = fakeApi()
      const loads = gatedLoads()
      const { store, controller } = setup(api, [{
        events: twoPagesCompleted(),
      }], { preloadImage: loads.load, preloadPreview: loads.load })
      await controller.start({ templateId: 'nano_banana_1', slideIds: IDS.slice(0, 2), options: OPTIONS, embed: false })
      await vi.waitFor(() => expect(loads.asked).toEqual([preview(ID1), preview(ID2)]))
      expect(slidesStore.slides[0].elements).toEqual(before[0].elements)
      loads.release(preview(ID1))
      loads.release(preview(ID2))
      await vi.waitFor(() => expect(bgSrc(slidesStore.slides[1])).toBe(preview(ID2)))
      expect(bgSrc(slidesStore.slides[0])).toBe(preview(ID1))
      expect(slidesStore.slides[0].elements).toEqual([])
      // the batch is over, but its undo step waits for the full images
      await vi.waitFor(() => expect(store.isFinished).toBe(true))
      await vi.waitFor(() => expect(loads.asked).toContain(full(ID1)))
      loads.release(full(ID1))
      await vi.waitFor(() => expect(loads.asked).toContain(full(ID2)))
      loads.release(full(ID2))
      await controller.settled()
      expect(slidesStore.slides.slice(0, 2).map(bgSrc)).toEqual([full(ID1), full(ID2)])
      expect(copies).toBe(2)
      expect(snapshotStore.snapshotLength).toBe(2)
      await snapshotStore.unDo()
      expect(slidesStore.slides).toEqual(before)
      await snapshotStore.reDo()
      expect(slidesStore.slides.slice(0, 2).map(bgSrc)).toEqual([full(ID1), full(ID2)])
    })

    it('a background changed before the full image loaded stays; a full image that never loads leaves the preview (never a blank slide)', async () => {
      const { slidesStore } = await setupPptist(deck)
      const { api } = fakeApi()
      const loads = gatedLoads([full(ID2)])
      const { store, controller } = setup(api, [{
        events: twoPagesCompleted(),
      }], { preloadImage: loads.load, preloadPreview: loads.load })
      await controller.start({ templateId: 'nano_banana_1', slideIds: IDS.slice(0, 2), options: OPTIONS, embed: false })
      await vi.waitFor(() => expect(loads.asked).toContain(preview(ID2)))
      loads.release(preview(ID1))
      loads.release(preview(ID2))
      await vi.waitFor(() => expect(bgSrc(slidesStore.slides[1])).toBe(preview(ID2)))
      // the user picks another background meanwhile
      slidesStore.updateSlide({ background: { type: 'solid', color: '#123456' } }, 'cover01')
      await vi.waitFor(() => expect(loads.asked).toContain(full(ID1)))
      loads.release(full(ID1))
      await finished(controller, store)
      expect(slidesStore.slides[0].background).toEqual({ type: 'solid', color: '#123456' })
      expect(bgSrc(slidesStore.slides[1])).toBe(preview(ID2))
      expect(slidesStore.slides[1].elements).toEqual([])
      expect(store.error).toBeNull()
    })

    it('without a preview loader, or in embed mode, no preview is asked for', async () => {
      await setupPptist(deck)
      const { api } = fakeApi()
      const asked: string[] = []
      const { store, controller } = setup(api, [{ events: [ev(1, 'page', pageResult(1, 'cover01', 'completed', { image_url: `/api/v1/images/${ID1}.png` })), done(2, 'completed', 1)] }], {
        preloadImage: async src => { asked.push(src) },
        preloadPreview: async src => { asked.push(src) },
        embed: async () => 'data:image/jpeg;base64,AA==',
      })
      await controller.start({ templateId: 'nano_banana_1', slideIds: ['cover01'], options: OPTIONS, embed: true })
      await finished(controller, store)
      expect(asked).toEqual(['data:image/jpeg;base64,AA=='])
    })
  })

  it('revises a finished page with an instruction: the new image replaces the old one, as one more undo step', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const before = JSON.parse(JSON.stringify(slidesStore.slides))
    const { api } = fakeApi()
    const { store, controller } = setup(api, [
      {
        events: [
          ev(1, 'page', pageResult(1, 'cover01', 'completed')),
          ev(2, 'page', pageResult(2, 'contents01', 'completed')),
          done(3, 'completed', 2, 0),
        ],
      },
      {
        events: [
          ev(4, 'page', pageResult(1, 'cover01', 'generating', { retry_count: 1 })),
          ev(5, 'page', pageResult(1, 'cover01', 'completed', { image_url: '/api/v1/images/p1-revised.png', retry_count: 1 })),
          done(6, 'completed', 2, 0),
        ],
      },
    ])
    await controller.start({ templateId: 'nano_banana_1', slideIds: IDS.slice(0, 2), options: OPTIONS, embed: false })
    await finished(controller, store)
    const generated = JSON.parse(JSON.stringify(slidesStore.slides))
    const remarkAfterBatch = slidesStore.slides[0].remark

    await controller.retryPage(1, '  标题再大一些  ')
    expect(api.retryPage).toHaveBeenCalledWith('b1', 1, '标题再大一些')
    await vi.waitFor(() => expect(bgSrc(slidesStore.slides[0])).toBe(`${SERVER}/api/v1/images/p1-revised.png`))
    await finished(controller, store)
    expect(store.doneCount).toBe(2)
    // the notes keep the original text once (full mode already moved it there)
    expect(slidesStore.slides[0].remark).toBe(remarkAfterBatch)
    // undo once: back to the batch's result; once more: the original deck
    await snapshotStore.unDo()
    expect(slidesStore.slides).toEqual(generated)
    await snapshotStore.unDo()
    expect(slidesStore.slides).toEqual(before)
  })

  /** A finished batch of three pages: 1 and 3 failed, 2 completed; the proxy's answer to retries: nothing more. */
  async function partlyFailedBatch() {
    const pptist = await setupPptist(deck)
    const { api } = fakeApi()
    const { store, controller } = setup(api, [
      {
        events: [
          ev(1, 'page', pageResult(1, 'cover01', 'failed', { error_message: 'x' })),
          ev(2, 'page', pageResult(2, 'contents01', 'completed')),
          ev(3, 'page', pageResult(3, 'table01', 'failed', { error_message: 'y' })),
          done(4, 'partial', 1, 2),
        ],
      },
      { events: [done(5, 'partial', 1, 2)] },
    ])
    await controller.start({ templateId: 'nano_banana_1', slideIds: IDS, options: OPTIONS, embed: false })
    await finished(controller, store)
    return { ...pptist, api, store, controller }
  }

  it('retry all failed retries each failed page once', async () => {
    const { api, controller } = await partlyFailedBatch()
    await controller.retryFailed()
    expect(vi.mocked(api.retryPage).mock.calls).toEqual([['b1', 1], ['b1', 3]])
  })

  it('a page whose slide the user deleted is neither revised nor retried: nothing is asked of the proxy (tester N6)', async () => {
    const { slidesStore, api, store, controller } = await partlyFailedBatch()
    slidesStore.deleteSlide('cover01')
    slidesStore.deleteSlide('contents01')
    expect([1, 2, 3].map(n => controller.slideExists(n))).toEqual([false, false, true])
    await controller.retryPage(2, '换个颜色')
    await controller.retryFailed()
    expect(vi.mocked(api.retryPage).mock.calls).toEqual([['b1', 3]])
    expect(store.pages.filter(p => p.skipped).map(p => p.page_number)).toEqual([1, 2])
  })

  it('cancel asks the proxy, shows the cancelled status and closes the undo step', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const { api } = fakeApi({
      cancel: vi.fn(async () => progressOf('b1', 'cancelled', [pageResult(1, 'cover01', 'completed'), pageResult(2, 'contents01', 'cancelled')])),
    })
    const { store, controller } = setup(api, [{ events: [ev(1, 'page', pageResult(1, 'cover01', 'completed'))], keepOpen: true }])
    await controller.start({ templateId: 'nano_banana_1', slideIds: IDS.slice(0, 2), options: OPTIONS, embed: false })
    await vi.waitFor(() => expect(store.doneCount).toBe(1))
    await controller.cancel()
    await controller.settled()
    expect(api.cancel).toHaveBeenCalledWith('b1')
    expect(store.status).toBe('cancelled')
    expect(store.pages[1].status).toBe('cancelled')
    await snapshotStore.unDo()
    expect(slidesStore.slides[0].background).toEqual(deck[0].background)
  })

  it('a page the proxy still refuses is named by its slide number; background mode sends the text boxes within the announced limits', async () => {
    await setupPptist(deck)
    const { api, created } = fakeApi({
      health: vi.fn(async () => ({ ...GEMINI_HEALTH, limits: { max_pages: 100, max_page_text_chars: 20, max_text_boxes: 1, max_extra_prompt_chars: 2000, max_instruction_chars: 2000, max_deck_title_chars: 5 } })),
    })
    const { store, controller } = setup(api, [{ events: [] }])
    vi.mocked(api.createBatch).mockRejectedValueOnce(httpError(400, {
      error: { code: 'invalid_request', message: 'The request is not valid', details: [{ path: 'pages.1.content', message: 'too long' }] },
    }))
    expect(await controller.start({ templateId: 'nano_banana_1', slideIds: ['cover01', 'table01'], options: { ...OPTIONS, mode: 'background' }, embed: false })).toBe(false)
    expect(store.error?.message).toBe('第 3 页无法提交（文字过长或格式不对），请精简这一页后再试。')
    expect(store.error?.detail).toBe('too long')
    const sent = vi.mocked(api.createBatch).mock.calls[0][0] as CreateBatchRequest
    expect(sent.deck_title).toBe('有理数的大')
    for (const page of sent.pages) {
      expect(page.title.length + page.content.length).toBeLessThanOrEqual(20)
      expect(page.text_boxes).toHaveLength(1)
    }
    expect(created).toHaveLength(0)
  })

  it('a full queue is explained with the wait from Retry-After', async () => {
    await setupPptist(deck)
    const { api } = fakeApi({
      createBatch: vi.fn(async () => { throw httpError(429, { error: { code: 'queue_full', message: 'queue full' } }, { 'retry-after': '30' }) }),
    })
    const { store, controller } = setup(api, [])
    expect(await controller.start({ templateId: 'nano_banana_1', slideIds: IDS, options: OPTIONS, embed: false })).toBe(false)
    expect(store.error).toMatchObject({ kind: 'queue_full', retryAfter: 30, message: '生成队列已满，请在 30 秒后重试。' })
    expect(store.batchId).toBeNull()
  })

  it('jumpTo sets the slide index of the page\'s slide', async () => {
    const { slidesStore } = await setupPptist(deck)
    const { api } = fakeApi()
    const { store, controller } = setup(api, [{ events: [done(1, 'completed', 0)] }])
    await controller.start({ templateId: 'nano_banana_1', slideIds: ['table01', 'chart01'], options: OPTIONS, embed: false })
    await finished(controller, store)
    expect(controller.jumpTo(2)).toBe(true)
    expect(slidesStore.slideIndex).toBe(3)
    expect(snapshotTable.rows).toHaveLength(1)
  })
})

describe('useBatchGeneration (shared controller)', () => {
  it('is created once per app and keeps polling after the component that created it is gone', async () => {
    const { mount } = await import('@vue/test-utils')
    const { defineComponent, h } = await import('vue')
    const { CONFIG_KEY, resolveConfig } = await import('../../plugin/config')
    const { API_KEY } = await import('../../plugin/composables/useProxyApi')
    const { CONTROLLER_KEY, useBatchGeneration } = await import('../../plugin/composables/useBatchGeneration')
    const pinia = createPinia()
    setActivePinia(pinia)
    const { slidesStore } = await setupPptist(deck)
    let polls = 0
    const { api } = fakeApi({
      progress: vi.fn(async () => {
        polls++
        return progressOf('b1', polls < 2 ? 'generating' : 'completed', [pageResult(1, 'cover01', polls < 2 ? 'generating' : 'completed')])
      }),
    })
    const sse = scriptedSseFetch([{ status: 404 }])
    vi.stubGlobal('fetch', sse.fetchImpl)
    // the DOM here loads no images: this one loads whatever it is given, as the browser would
    const loadedImages: string[] = []
    vi.stubGlobal('Image', class {
      onload: (() => void) | null = null
      onerror: (() => void) | null = null
      set src(value: string) {
        if (!value) return
        loadedImages.push(value)
        setTimeout(() => this.onload?.(), 1)
      }
    })
    const holder = { current: null }
    const seen: BatchController[] = []
    const Asker = defineComponent({ setup() { seen.push(useBatchGeneration().controller); return () => h('i') } })
    const global = {
      plugins: [pinia],
      provide: {
        [CONFIG_KEY as symbol]: resolveConfig({ serverUrl: SERVER }),
        [API_KEY as symbol]: api,
        [CONTROLLER_KEY as symbol]: holder,
      },
    }
    const first = mount(Asker, { global })
    const second = mount(Asker, { global })
    expect(seen[0]).toBe(seen[1])
    await seen[0].start({ templateId: 'nano_banana_1', slideIds: ['cover01'], options: OPTIONS, embed: false })
    first.unmount()
    second.unmount()
    const store = useNanoBananaStore()
    await vi.waitFor(() => expect(store.isFinished).toBe(true), { timeout: 10_000 })
    await seen[0].settled()
    expect(polls).toBe(2)
    expect(bgSrc(slidesStore.slides[0])).toBe(`${SERVER}/api/v1/images/p1.png`)
    expect(loadedImages).toContain(`${SERVER}/api/v1/images/p1.png`)
    vi.unstubAllGlobals()
  })
})
