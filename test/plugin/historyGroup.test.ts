import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { createHistoryGroup } from '../../plugin/host/historyGroup'
import { trackDeckChanges } from '../../plugin/host/historyTracker'
import { resolveHostStores } from '../../plugin/host/pptistHost'
import { setupPptist, snapshotTable } from './fakes/pptistStores'
import { deck } from './fixtures/deck'
import type { Slide } from '../../plugin/host/types'

const bg = (src: string): Partial<Slide> => ({ background: { type: 'image', image: { src, size: 'cover' } } })
const backgrounds = (slides: Slide[]) => slides.map(s => s.background?.image?.src ?? null)

describe('one undo step per batch (against PPTist snapshot semantics)', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('three pages landing one by one: one unDo restores the deck as before the batch', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const before = JSON.parse(JSON.stringify(slidesStore.slides))
    let copies = 0
    snapshotStore.$onAction(({ name }) => { if (name === 'addSnapshot') copies++ })
    const history = createHistoryGroup(snapshotStore)
    await history.begin()
    for (const [i, id] of ['cover01', 'contents01', 'table01'].entries()) {
      slidesStore.updateSlide(bg(`img${i}`), id)
      await history.record()
      // at every moment the batch is exactly one step: undo would go straight to the pre-batch deck
      expect(snapshotStore.snapshotCursor).toBe(1)
      expect(snapshotStore.snapshotLength).toBe(2)
    }
    // the deck was copied twice (first page, end), not once per page
    expect(copies).toBe(1)
    await history.end()
    expect(copies).toBe(2)
    expect(snapshotTable.rows).toHaveLength(2)
    expect(backgrounds(snapshotTable.rows[1].slides).slice(0, 3)).toEqual(['img0', 'img1', 'img2'])

    await snapshotStore.unDo()
    expect(slidesStore.slides).toEqual(before)
    expect(snapshotStore.canUndo).toBe(false)
    // and redo brings the whole batch back
    await snapshotStore.reDo()
    expect(backgrounds(slidesStore.slides).slice(0, 3)).toEqual(['img0', 'img1', 'img2'])
  })

  it('an edit by the user mid-batch is kept as its own step; later pages do not rewrite it', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const history = createHistoryGroup(snapshotStore)
    await history.begin()
    slidesStore.updateSlide(bg('img0'), 'cover01')
    await history.record()
    // user edits the title and PPTist records it
    slidesStore.updateSlide({ remark: 'user note' }, 'end01')
    await snapshotStore.addSnapshot()
    slidesStore.updateSlide(bg('img1'), 'contents01')
    await history.record()
    await history.end()
    expect(snapshotStore.snapshotLength).toBe(4)
    await snapshotStore.unDo()
    expect(slidesStore.slides[4].remark).toBe('user note')
    expect(backgrounds(slidesStore.slides)[1]).toBeNull()
  })

  it('a restore while the batch step is behind: its end adds no step that repeats the restore, so one unDo brings the images back', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    const tracker = trackDeckChanges(resolveHostStores(undefined))
    const options = { changedSinceSnapshot: tracker.changedSinceSnapshot }
    const history = createHistoryGroup(snapshotStore, options)
    await history.begin()
    slidesStore.updateSlide(bg('img0'), 'cover01')
    await history.record()
    // a later page (or a full image replacing a preview) lands: the batch step is behind
    slidesStore.updateSlide(bg('img1'), 'contents01')
    await history.record()
    // "restore all editable" meanwhile, as the controller does it: its own group, one step
    const restore = createHistoryGroup(snapshotStore, options)
    await restore.begin()
    slidesStore.updateSlide({ background: { type: 'solid', color: '#ffffff' } }, 'cover01')
    slidesStore.updateSlide({ background: { type: 'solid', color: '#ffffff' } }, 'contents01')
    await restore.record()
    await restore.end()
    // the batch ends after the restore (its last full images had been loading)
    await history.end()
    await snapshotStore.unDo()
    expect(backgrounds(slidesStore.slides).slice(0, 2)).toEqual(['img0', 'img1'])
    tracker.stop()
  })

  it('history never initialised (cursor -1): the pre-batch deck is recorded first', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    snapshotTable.reset()
    snapshotStore.setSnapshotCursor(-1)
    snapshotStore.setSnapshotLength(0)
    const history = createHistoryGroup(snapshotStore)
    await history.begin()
    slidesStore.updateSlide(bg('img0'), 'cover01')
    await history.record()
    await history.end()
    await snapshotStore.unDo()
    expect(slidesStore.slides[0].background).toEqual(deck[0].background)
  })

  it('history at PPTist\'s 20-snapshot limit: replacing the batch step keeps the length', async () => {
    const { slidesStore, snapshotStore } = await setupPptist(deck)
    for (let i = 0; i < 25; i++) {
      slidesStore.updateSlide({ remark: `edit ${i}` }, 'end01')
      await snapshotStore.addSnapshot()
    }
    expect(snapshotStore.snapshotLength).toBe(20)
    const history = createHistoryGroup(snapshotStore)
    await history.begin()
    for (const id of ['cover01', 'contents01']) {
      slidesStore.updateSlide(bg(id), id)
      await history.record()
    }
    await history.end()
    expect(snapshotStore.snapshotLength).toBe(20)
    await snapshotStore.unDo()
    expect(backgrounds(slidesStore.slides).slice(0, 2)).toEqual([null, null])
    expect(slidesStore.slides[4].remark).toBe('edit 24')
  })

  it('a snapshot store with only addSnapshot gets exactly one snapshot at the end', async () => {
    let calls = 0
    const history = createHistoryGroup({ addSnapshot: () => { calls++ } })
    await history.begin()
    await history.record()
    await history.record()
    expect(calls).toBe(0)
    await history.end()
    expect(calls).toBe(1)
    await history.end()
    expect(calls).toBe(1)
  })
})
