import { defineStore } from 'pinia'
import type { Slide, SlideTheme } from '../types/slides'

export interface SlidesState {
  title: string
  theme: SlideTheme
  slides: Slide[]
  slideIndex: number
  viewportSize: number
  viewportRatio: number
}

export const DEFAULT_TITLE = '未命名演示文稿'

// Same id, state and actions as PPTist's `slides` store: the extension finds it by id.
export const useSlidesStore = defineStore('slides', {
  state: (): SlidesState => ({
    title: DEFAULT_TITLE,
    theme: {
      themeColors: ['#d14424', '#3b6fb6', '#f2a541', '#5b9279', '#6b5b95', '#8c8c8c'],
      fontColor: '#333',
      fontName: '',
      backgroundColor: '#fff',
      shadow: { h: 3, v: 3, blur: 2, color: '#808080' },
      outline: { width: 2, color: '#525252', style: 'solid' },
    },
    slides: [],
    slideIndex: 0,
    viewportSize: 1000,
    viewportRatio: 0.5625,
  }),

  getters: {
    currentSlide(state): Slide | undefined {
      return state.slides[state.slideIndex]
    },
  },

  actions: {
    setTitle(title: string) {
      this.title = title || DEFAULT_TITLE
    },

    setTheme(themeProps: Partial<SlideTheme>) {
      this.theme = { ...this.theme, ...themeProps }
    },

    setViewportSize(size: number) {
      this.viewportSize = size
    },

    setViewportRatio(ratio: number) {
      this.viewportRatio = ratio
    },

    setSlides(slides: Slide[], themeProps?: Partial<SlideTheme>) {
      this.slides = slides
      if (themeProps) this.setTheme(themeProps)
    },

    addSlide(slide: Slide | Slide[]) {
      const added = (Array.isArray(slide) ? slide : [slide]).map(({ sectionTag: _dropped, ...rest }) => rest)
      const addIndex = this.slideIndex + 1
      this.slides.splice(addIndex, 0, ...added)
      this.slideIndex = addIndex
    },

    updateSlide(props: Partial<Slide>, slideId?: string) {
      const index = slideId ? this.slides.findIndex(item => item.id === slideId) : this.slideIndex
      // PPTist writes blindly; a missing id would create a hole, so ignore it here.
      if (index < 0 || index >= this.slides.length) return
      this.slides[index] = { ...this.slides[index], ...props }
    },

    deleteSlide(slideId: string | string[]) {
      const ids = Array.isArray(slideId) ? slideId : [slideId]
      const removedIndexes = ids.map(id => this.slides.findIndex(s => s.id === id)).filter(i => i >= 0)
      if (!removedIndexes.length) return
      this.slides = this.slides.filter(s => !ids.includes(s.id))
      const next = Math.min(...removedIndexes)
      this.slideIndex = Math.max(0, Math.min(next, this.slides.length - 1))
    },

    updateSlideIndex(index: number) {
      this.slideIndex = index
    },
  },
})
