import { defineStore } from 'pinia'
import type { Slide } from '../types/slides'
import { useSlidesStore } from './slides'
import { useMainStore } from './main'

interface Snapshot {
  index: number
  slides: Slide[]
}

export interface SnapshotState {
  snapshotCursor: number
  snapshotLength: number
}

// PPTist keeps the snapshots in IndexedDB (dexie); the demo keeps them in memory, outside the
// reactive state (deep copies of whole decks need no reactivity). Semantics are PPTist's:
// a snapshot records the deck AFTER a change, undo steps back to the previous snapshot.
const SNAPSHOT_LIMIT = 20
let snapshots: Snapshot[] = []

function capture(): Snapshot {
  const slidesStore = useSlidesStore()
  return { index: slidesStore.slideIndex, slides: JSON.parse(JSON.stringify(slidesStore.slides)) }
}

export const useSnapshotStore = defineStore('snapshot', {
  state: (): SnapshotState => ({
    snapshotCursor: -1,
    snapshotLength: 0,
  }),

  getters: {
    canUndo(state) {
      return state.snapshotCursor > 0
    },
    canRedo(state) {
      return state.snapshotCursor < state.snapshotLength - 1
    },
  },

  actions: {
    setSnapshotCursor(cursor: number) {
      this.snapshotCursor = cursor
    },
    setSnapshotLength(length: number) {
      this.snapshotLength = length
    },

    async initSnapshotDatabase() {
      snapshots = [capture()]
      this.setSnapshotCursor(0)
      this.setSnapshotLength(1)
    },

    async addSnapshot() {
      // Adding after some undos drops the undone future, as in PPTist.
      snapshots = snapshots.slice(0, this.snapshotCursor + 1)
      snapshots.push(capture())
      if (snapshots.length > SNAPSHOT_LIMIT) snapshots.shift()

      // Keep the page in focus when undoing: the previous snapshot returns to the current page.
      const length = snapshots.length
      if (length >= 2) snapshots[length - 2].index = useSlidesStore().slideIndex

      this.setSnapshotCursor(length - 1)
      this.setSnapshotLength(length)
    },

    async unDo() {
      if (this.snapshotCursor <= 0) return
      this.restore(this.snapshotCursor - 1)
    },

    async reDo() {
      if (this.snapshotCursor >= this.snapshotLength - 1) return
      this.restore(this.snapshotCursor + 1)
    },

    restore(cursor: number) {
      const slidesStore = useSlidesStore()
      const { index, slides } = snapshots[cursor]
      slidesStore.setSlides(JSON.parse(JSON.stringify(slides)))
      slidesStore.updateSlideIndex(Math.min(index, slides.length - 1))
      this.setSnapshotCursor(cursor)
      useMainStore().setActiveElementIdList([])
    },
  },
})
