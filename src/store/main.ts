import { defineStore } from 'pinia'

export interface MainState {
  activeElementIdList: string[]
  thumbnailsFocus: boolean
  selectedSlidesIndex: number[]
  disableHotkeys: boolean
  showRemark: boolean
}

// A few of PPTist's `main` UI flags: what the demo's editor actually uses.
export const useMainStore = defineStore('main', {
  state: (): MainState => ({
    activeElementIdList: [],
    thumbnailsFocus: false,
    selectedSlidesIndex: [], // thumbnails picked with Ctrl / Shift (the current slide is always part of it)
    disableHotkeys: false,
    showRemark: true,
  }),

  actions: {
    setActiveElementIdList(ids: string[]) {
      this.activeElementIdList = ids
    },
    updateSelectedSlidesIndex(indexes: number[]) {
      this.selectedSlidesIndex = indexes
    },
    setThumbnailsFocus(focus: boolean) {
      this.thumbnailsFocus = focus
    },
    setDisableHotkeysState(disable: boolean) {
      this.disableHotkeys = disable
    },
    setRemarkState(show: boolean) {
      this.showRemark = show
    },
  },
})
