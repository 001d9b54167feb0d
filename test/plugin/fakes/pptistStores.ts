// Faithful fakes of PPTist's `slides`, `snapshot` and `main` stores (same ids, state and action
// semantics). The snapshot store follows PPTist's algorithm step by step, with an in-memory table
// standing in for its IndexedDB (Dexie) table: auto-increment ids, async reads, deep copies.
import { defineStore } from 'pinia'
import type { Slide } from '../../../plugin/host/types'

interface SnapshotRow {
  id: number
  index: number
  slides: Slide[]
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value))
const tick = () => new Promise<void>(resolve => setTimeout(resolve, 0))

/** the IndexedDB table, exposed so tests can check what history holds */
export const snapshotTable = {
  rows: [] as SnapshotRow[],
  nextId: 1,
  reset() {
    this.rows = []
    this.nextId = 1
  },
  async keys() {
    await tick()
    return this.rows.map(r => r.id)
  },
  async add(row: Omit<SnapshotRow, 'id'>) {
    await tick()
    this.rows.push({ id: this.nextId++, ...row })
  },
  update(id: number, changes: Partial<SnapshotRow>) {
    const row = this.rows.find(r => r.id === id)
    if (row) Object.assign(row, changes)
  },
  async bulkDelete(ids: number[]) {
    await tick()
    this.rows = this.rows.filter(r => !ids.includes(r.id))
  },
  async toArray() {
    await tick()
    return clone(this.rows)
  },
}

export const useSlidesStore = defineStore('slides', {
  state: () => ({
    title: '未命名演示文稿',
    slides: [] as Slide[],
    slideIndex: 0,
    viewportSize: 1000,
    viewportRatio: 0.5625,
  }),
  actions: {
    setSlides(slides: Slide[]) {
      this.slides = slides
    },
    updateSlideIndex(index: number) {
      this.slideIndex = index
    },
    updateSlide(props: Partial<Slide>, slideId?: string) {
      const slideIndex = slideId ? this.slides.findIndex(item => item.id === slideId) : this.slideIndex
      this.slides[slideIndex] = { ...this.slides[slideIndex], ...props }
    },
    deleteSlide(slideId: string) {
      const slides: Slide[] = clone(this.slides)
      const index = slides.findIndex(item => item.id === slideId)
      slides.splice(index, 1)
      this.slideIndex = Math.min(index, slides.length - 1)
      this.slides = slides
    },
  },
})

export const useMainStore = defineStore('main', {
  state: () => ({
    activeElementIdList: [] as string[],
    selectedSlidesIndex: [] as number[],
  }),
  actions: {
    setActiveElementIdList(list: string[]) {
      this.activeElementIdList = list
    },
  },
})

export const useSnapshotStore = defineStore('snapshot', {
  state: () => ({
    snapshotCursor: -1,
    snapshotLength: 0,
  }),
  getters: {
    canUndo: state => state.snapshotCursor > 0,
    canRedo: state => state.snapshotCursor < state.snapshotLength - 1,
  },
  actions: {
    setSnapshotCursor(cursor: number) {
      this.snapshotCursor = cursor
    },
    setSnapshotLength(length: number) {
      this.snapshotLength = length
    },
    async initSnapshotDatabase() {
      const slidesStore = useSlidesStore()
      await snapshotTable.add({ index: slidesStore.slideIndex, slides: clone(slidesStore.slides) })
      this.setSnapshotCursor(0)
      this.setSnapshotLength(1)
    },
    async addSnapshot() {
      const slidesStore = useSlidesStore()
      const allKeys = await snapshotTable.keys()
      let needDeleteKeys: number[] = []
      if (this.snapshotCursor >= 0 && this.snapshotCursor < allKeys.length - 1) {
        needDeleteKeys = allKeys.slice(this.snapshotCursor + 1)
      }
      await snapshotTable.add({ index: slidesStore.slideIndex, slides: clone(slidesStore.slides) })
      let snapshotLength = allKeys.length - needDeleteKeys.length + 1
      const snapshotLengthLimit = 20
      if (snapshotLength > snapshotLengthLimit) {
        needDeleteKeys.push(allKeys[0])
        snapshotLength--
      }
      if (snapshotLength >= 2) {
        snapshotTable.update(allKeys[snapshotLength - 2], { index: slidesStore.slideIndex })
      }
      await snapshotTable.bulkDelete(needDeleteKeys)
      this.setSnapshotCursor(snapshotLength - 1)
      this.setSnapshotLength(snapshotLength)
    },
    async unDo() {
      if (this.snapshotCursor <= 0) return
      const slidesStore = useSlidesStore()
      const mainStore = useMainStore()
      const snapshotCursor = this.snapshotCursor - 1
      const snapshots = await snapshotTable.toArray()
      const { index, slides } = snapshots[snapshotCursor]
      slidesStore.setSlides(slides)
      slidesStore.updateSlideIndex(index > slides.length - 1 ? slides.length - 1 : index)
      this.setSnapshotCursor(snapshotCursor)
      mainStore.setActiveElementIdList([])
    },
    async reDo() {
      if (this.snapshotCursor >= this.snapshotLength - 1) return
      const slidesStore = useSlidesStore()
      const snapshotCursor = this.snapshotCursor + 1
      const snapshots = await snapshotTable.toArray()
      const { index, slides } = snapshots[snapshotCursor]
      slidesStore.setSlides(slides)
      slidesStore.updateSlideIndex(index > slides.length - 1 ? slides.length - 1 : index)
      this.setSnapshotCursor(snapshotCursor)
    },
  },
})

/** Creates the three stores in the active Pinia with a deck and PPTist's initial snapshot. */
export async function setupPptist(slides: Slide[], title = '有理数的大小比较') {
  snapshotTable.reset()
  const slidesStore = useSlidesStore()
  slidesStore.setSlides(clone(slides))
  slidesStore.title = title
  const mainStore = useMainStore()
  const snapshotStore = useSnapshotStore()
  await snapshotStore.initSnapshotDatabase()
  return { slidesStore, snapshotStore, mainStore }
}
