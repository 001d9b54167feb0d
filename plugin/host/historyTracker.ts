// Whether the deck changed since PPTist last touched its history. PPTist calls addSnapshot() after
// each edit, but a few paths change the deck without one (its AIPPT dialog writes the new deck with
// setSlides() alone). A batch's single undo step must land on the deck as it was when the batch
// started, so the batch records that deck first when it was never snapshotted.
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

export function trackDeckChanges(stores: HostStores): DeckChangeTracker {
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
        after(() => {
          changed = false
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
