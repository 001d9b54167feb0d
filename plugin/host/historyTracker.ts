// Whether the deck changed since PPTist last touched its history. PPTist calls addSnapshot() after
// each edit, but a few paths change the deck without one (its AIPPT dialog writes the new deck with
// setSlides() alone). A batch's single undo step must land on the deck as it was when the batch
// started, so the batch records that deck first when it was never snapshotted.
// It also tells when undo/redo changed the notes of the slide on screen: PPTist's notes editor
// reloads only when the current slide's id changes, so it would keep showing (and, on the next
// keystroke, save) the notes of before the undo.
import { effectScope, watch } from 'vue'
import type { HostStores } from './pptistHost'

const HISTORY_ACTIONS = new Set(['addSnapshot', 'unDo', 'reDo', 'initSnapshotDatabase'])

export interface DeckChangeTracker {
  /** true when the slides changed after the last snapshot action finished */
  changedSinceSnapshot(): boolean
  stop(): void
}

interface ActionContext {
  name: string
  after(callback: () => void): void
}
type OnAction = (callback: (context: ActionContext) => void, detached?: boolean) => () => void

export interface DeckChangeOptions {
  /** after an undo or redo that changed the notes (`remark`) of the slide on screen, kept on screen */
  notesRestored?(slideId: string): void
  /** after any undo or redo (slides may have gone back to, or away from, their generated image) */
  historyMoved?(): void
}

export function trackDeckChanges(stores: HostStores, opts: DeckChangeOptions = {}): DeckChangeTracker {
  let changed = false
  // detached: the tracker outlives whichever component started it
  const scope = effectScope(true)
  scope.run(() => {
    // depth 2: the slides array and each slide's own fields (PPTist replaces slides and element lists)
    watch(() => stores.slides.slides, () => {
      changed = true
    }, { deep: 2, flush: 'sync' })
  })
  const onAction = (stores.snapshot as { $onAction?: OnAction } | null)?.$onAction
  const unsubscribe = typeof onAction === 'function'
    ? onAction.call(stores.snapshot, ({ name, after }) => {
      // undo/redo change the slides too; once the action is over, history and deck agree again
      if (HISTORY_ACTIONS.has(name)) {
        const slides = stores.slides
        const before = slides.slides[slides.slideIndex]
        const shown = before ? { id: before.id, remark: before.remark ?? '' } : null
        after(() => {
          changed = false
          const now = slides.slides[slides.slideIndex]
          if (name !== 'unDo' && name !== 'reDo') return
          if (shown && now && now.id === shown.id && (now.remark ?? '') !== shown.remark) opts.notesRestored?.(now.id)
          opts.historyMoved?.()
        })
      }
    }, true)
    : null
  return {
    changedSinceSnapshot: () => changed,
    stop() {
      scope.stop()
      unsubscribe?.()
    },
  }
}
