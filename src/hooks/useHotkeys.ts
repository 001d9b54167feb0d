import { useEventListener } from '@vueuse/core'
import { useMainStore, useSlidesStore, useSnapshotStore } from '../store'

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)
}

// Arrow keys belong to whatever has focus (e.g. the extension's template grid) unless that is
// the page itself or the editor's own panes.
function isEditorFocus(target: EventTarget | null): boolean {
  return target === document.body || (target instanceof HTMLElement && !!target.closest('[data-editor-pane]'))
}

function isThumbnailsFocus(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && !!target.closest('[data-thumbnails]')
}

// PPTist's editing shortcuts that matter here: Ctrl/⌘+Z undo, Ctrl/⌘+Y or Ctrl/⌘+Shift+Z redo,
// ↑/↓ or PageUp/PageDown to move between slides, Delete in the thumbnail list to delete the
// selected slides (never the last one). Typing in a field keeps its own undo.
export function useHotkeys() {
  const mainStore = useMainStore()
  const slidesStore = useSlidesStore()
  const snapshotStore = useSnapshotStore()

  async function deleteSelectedSlides() {
    const picked = mainStore.selectedSlidesIndex.length ? mainStore.selectedSlidesIndex : [slidesStore.slideIndex]
    const ids = picked.map(i => slidesStore.slides[i]?.id).filter((id): id is string => !!id)
    if (!ids.length || ids.length >= slidesStore.slides.length) return
    slidesStore.deleteSlide(ids)
    mainStore.updateSelectedSlidesIndex([slidesStore.slideIndex])
    await snapshotStore.addSnapshot()
  }

  function goTo(index: number) {
    slidesStore.updateSlideIndex(index)
    mainStore.updateSelectedSlidesIndex([index])
  }

  useEventListener(document, 'keydown', (event: KeyboardEvent) => {
    if (mainStore.disableHotkeys || isTyping(event.target)) return
    const mod = event.ctrlKey || event.metaKey
    const key = event.key.toLowerCase()

    if (mod && key === 'z' && !event.shiftKey) {
      event.preventDefault()
      void snapshotStore.unDo()
    }
    else if (mod && (key === 'y' || (key === 'z' && event.shiftKey))) {
      event.preventDefault()
      void snapshotStore.reDo()
    }
    else if (!isEditorFocus(event.target)) return
    else if (!mod && (key === 'delete' || key === 'backspace') && isThumbnailsFocus(event.target)) {
      event.preventDefault()
      void deleteSelectedSlides()
    }
    else if (!mod && (key === 'arrowup' || key === 'pageup')) {
      event.preventDefault()
      if (slidesStore.slideIndex > 0) goTo(slidesStore.slideIndex - 1)
    }
    else if (!mod && (key === 'arrowdown' || key === 'pagedown')) {
      event.preventDefault()
      if (slidesStore.slideIndex < slidesStore.slides.length - 1) goTo(slidesStore.slideIndex + 1)
    }
  })
}
