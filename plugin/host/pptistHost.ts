// The host adapter: the only place that touches PPTist's Pinia stores. PPTist's `defineStore`
// functions cannot be imported from a drop-in folder, so the stores are found by id in the Pinia
// registry (`pinia._s`, a Map kept by Pinia 2 and 3 alike) or handed in via plugin options.
// Every store is checked for the members we use, so a mismatch fails loudly with a clear message.
import { nextTick } from 'vue'
import { getActivePinia, type Pinia } from 'pinia'
import type { Slide } from './types'

export interface SlidesStoreLike {
  slides: Slide[]
  slideIndex: number
  viewportRatio?: number
  viewportSize?: number
  title?: string
  updateSlide(props: Partial<Slide>, slideId?: string): void
  updateSlideIndex?(index: number): void
}

/** PPTist's `snapshot` store: whole-deck snapshots; snapshots[cursor] is the current deck. */
export interface SnapshotStoreLike {
  snapshotCursor?: number
  snapshotLength?: number
  addSnapshot(): Promise<void> | void
  unDo?(): Promise<void> | void
  setSnapshotCursor?(cursor: number): void
}

export interface MainStoreLike {
  selectedSlidesIndex?: number[]
  activeElementIdList?: string[]
  setActiveElementIdList?(ids: string[]): void
}

export interface HostStoreOverrides {
  slides?: SlidesStoreLike
  snapshot?: SnapshotStoreLike
  main?: MainStoreLike
}

export interface HostStores {
  slides: SlidesStoreLike
  snapshot: SnapshotStoreLike | null
  main: MainStoreLike | null
}

export class HostNotFoundError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'HostNotFoundError'
  }
}

function storeRegistry(pinia: Pinia | undefined): Map<string, unknown> | undefined {
  const active = pinia ?? getActivePinia()
  if (!active) return undefined
  // `_s` is Pinia's store registry; not in its public types, but stable since Pinia 2.0.
  const registry = (active as unknown as { _s?: unknown })._s
  return registry instanceof Map ? registry as Map<string, unknown> : undefined
}

function isSlidesStore(value: unknown): value is SlidesStoreLike {
  const store = value as Partial<SlidesStoreLike> | null
  return !!store && Array.isArray(store.slides) && typeof store.updateSlide === 'function'
}

function isSnapshotStore(value: unknown): value is SnapshotStoreLike {
  const store = value as Partial<SnapshotStoreLike> | null
  return !!store && typeof store.addSnapshot === 'function'
}

export function resolveHostStores(pinia: Pinia | undefined, overrides: HostStoreOverrides = {}): HostStores {
  const registry = storeRegistry(pinia)
  const slides = overrides.slides ?? registry?.get('slides')
  if (!isSlidesStore(slides)) {
    throw new HostNotFoundError(registry
      ? 'no Pinia store with id "slides" having slides[] and updateSlide()'
      : 'no active Pinia instance')
  }
  const snapshot = overrides.snapshot ?? registry?.get('snapshot')
  const main = overrides.main ?? registry?.get('main')
  return {
    slides,
    snapshot: isSnapshotStore(snapshot) ? snapshot : null,
    main: main && typeof main === 'object' ? main as MainStoreLike : null,
  }
}

/** Typed read/write access to the deck. */
export interface DeckHost {
  readonly stores: HostStores
  slides(): Slide[]
  findSlide(slideId: string): Slide | undefined
  slideIndex(): number
  goToSlide(slideId: string): boolean
  updateSlide(slideId: string, props: Partial<Slide>): boolean
  title(): string
  viewportRatio(): number
  viewportWidth(): number
  selectedSlideIndexes(): number[]
  /**
   * Makes PPTist's notes panel show the current slide's new notes. Its editor (PPTist
   * src/views/Editor/Remark/index.vue) loads `remark` only when `currentSlide.id` changes, so after
   * we write the notes of the slide on screen we step to a neighbour and back, each after a Vue
   * flush: the watcher fires twice and the editor ends on the new notes. All in microtasks, so the
   * browser never paints the neighbour. No-op for other slides or a one-slide deck.
   */
  refreshNotes(slideId: string): Promise<void>
}

export function createDeckHost(stores: HostStores): DeckHost {
  const s = stores.slides
  return {
    stores,
    slides: () => s.slides,
    findSlide: slideId => s.slides.find(slide => slide.id === slideId),
    slideIndex: () => s.slideIndex,
    goToSlide(slideId) {
      const index = s.slides.findIndex(slide => slide.id === slideId)
      if (index < 0) return false
      if (s.updateSlideIndex) s.updateSlideIndex(index)
      else s.slideIndex = index
      return true
    },
    // PPTist's updateSlide with an unknown id would write to slides[-1]: check first, never resurrect.
    updateSlide(slideId, props) {
      if (!s.slides.some(slide => slide.id === slideId)) return false
      s.updateSlide(props, slideId)
      // Removed elements must not stay selected in the editor (PPTist's toolbar reads them).
      const main = stores.main
      const isCurrent = s.slides[s.slideIndex]?.id === slideId
      if (isCurrent && props.elements && main?.activeElementIdList?.length && main.setActiveElementIdList) {
        const kept = new Set(props.elements.map(el => el.id))
        const active = main.activeElementIdList.filter(id => kept.has(id))
        if (active.length !== main.activeElementIdList.length) main.setActiveElementIdList(active)
      }
      return true
    },
    title: () => s.title ?? '',
    viewportRatio: () => s.viewportRatio ?? 0.5625,
    viewportWidth: () => s.viewportSize ?? 1000,
    selectedSlideIndexes: () => stores.main?.selectedSlidesIndex ?? [],
    async refreshNotes(slideId) {
      const index = s.slideIndex
      if (s.slides[index]?.id !== slideId || s.slides.length < 2 || !s.updateSlideIndex) return
      const neighbour = index > 0 ? index - 1 : index + 1
      s.updateSlideIndex(neighbour)
      await nextTick()
      // the user may have moved meanwhile: only step back if we are still where we put them
      if (s.slideIndex === neighbour) s.updateSlideIndex(index)
      await nextTick()
    },
  }
}
