import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { trackDeckChanges } from '../../plugin/host/historyTracker'
import { createHistoryGroup } from '../../plugin/host/historyGroup'
import { resolveHostStores } from '../../plugin/host/pptistHost'
import { setupPptist, snapshotTable } from './fakes/pptistStores'
import { deck } from './fixtures/deck'
import type { Slide } from '../../plugin/host/types'

const bg = (src: string): Partial<Slide> => ({ background: { type: 'image', image: { src, size: 'cover' } } })
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value))

describe('deck changes made without a history snapshot', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('is clean after set-up, dirty after a change, clean again once PPTist snapshots it', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const tracker = trackDeckChanges(resolveHostStores(undefined))
    expect(tracker.changedSinceSnapshot()).toBe(false)
    slidesStore.updateSlide({ remark: 'edited' }, 'cover01')
    expect(tracker.changedSinceSnapshot()).toBe(true)
    await snapshotStore.addSnapshot()
    expect(tracker.changedSinceSnapshot()).toBe(false)
    tracker.stop()
  })

  it('undo and redo change the slides but leave history and deck in agreement', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const tracker = trackDeckChanges(resolveHostStores(undefined))
    slidesStore.updateSlide({ remark: 'edited' }, 'cover01')
    await snapshotStore.addSnapshot()
    await snapshotStore.unDo()
    expect(tracker.changedSinceSnapshot()).toBe(false)
    await snapshotStore.reDo()
    expect(tracker.changedSinceSnapshot()).toBe(false)
    tracker.stop()
  })

  it('tells when undo or redo changed the notes of the slide on screen (PPTist\'s notes panel would not reload)', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const restored: string[] = []
    const tracker = trackDeckChanges(resolveHostStores(undefined), { notesRestored: id => restored.push(id) })
    const shown = slidesStore.slides[slidesStore.slideIndex].id
    slidesStore.updateSlide({ remark: 'moved text' }, shown)
    await snapshotStore.addSnapshot()
    expect(restored).toEqual([])
    await snapshotStore.unDo()
    expect(restored).toEqual([shown])
    await snapshotStore.reDo()
    expect(restored).toEqual([shown, shown])
    // a change of another slide's notes: the panel shows the current slide, nothing to reload
    const other = slidesStore.slides[2].id
    slidesStore.updateSlide({ remark: 'elsewhere' }, other)
    await snapshotStore.addSnapshot()
    await snapshotStore.unDo()
    expect(restored).toEqual([shown, shown])
    tracker.stop()
  })

  it('moving between slides is not a deck change', async () => {
    const { slidesStore } = await setupPptist(deck)
    const tracker = trackDeckChanges(resolveHostStores(undefined))
    slidesStore.updateSlideIndex(2)
    expect(tracker.changedSinceSnapshot()).toBe(false)
    tracker.stop()
  })

  it('stops noticing after stop()', async () => {
    const { slidesStore } = await setupPptist(deck)
    const tracker = trackDeckChanges(resolveHostStores(undefined))
    tracker.stop()
    slidesStore.setSlides(clone(deck).slice(0, 2))
    expect(tracker.changedSinceSnapshot()).toBe(false)
  })

  it('AIPPT-style setSlides without a snapshot, then a batch: one undo lands on the AIPPT deck, not the older one', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const tracker = trackDeckChanges(resolveHostStores(undefined))
    // PPTist's AIPPT dialog writes its deck with setSlides() and takes no snapshot
    const aipptDeck = clone(deck).slice(0, 3).map((s: Slide) => ({ ...s, remark: 'from AIPPT' }))
    slidesStore.setSlides(clone(aipptDeck))
    const history = createHistoryGroup(snapshotStore, { changedSinceSnapshot: tracker.changedSinceSnapshot })
    await history.begin()
    for (const [i, slide] of aipptDeck.entries()) {
      slidesStore.updateSlide(bg(`img${i}`), slide.id)
      await history.record()
    }
    await history.end()
    await snapshotStore.unDo()
    expect(slidesStore.slides).toEqual(aipptDeck)
    // the batch still is one step: redo brings every image back at once
    await snapshotStore.reDo()
    expect(slidesStore.slides.map(s => s.background?.image?.src)).toEqual(['img0', 'img1', 'img2'])
    expect(snapshotTable.rows).toHaveLength(3)
    tracker.stop()
  })

  it('a deck already in history gets no extra step before the batch', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const tracker = trackDeckChanges(resolveHostStores(undefined))
    const history = createHistoryGroup(snapshotStore, { changedSinceSnapshot: tracker.changedSinceSnapshot })
    await history.begin()
    slidesStore.updateSlide(bg('img0'), 'cover01')
    await history.record()
    await history.end()
    expect(snapshotStore.snapshotLength).toBe(2)
    tracker.stop()
  })
})
