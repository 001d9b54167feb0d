// One undo step per batch although pages land one by one.
//
// PPTist keeps whole-deck snapshots; snapshots[snapshotCursor] is always the current deck and
// unDo() loads snapshots[cursor - 1]. addSnapshot() drops every snapshot after the cursor, then
// appends a deep copy of the current deck. So after the first page lands we append ONE snapshot
// (the "batch step"); at the end we move the cursor back one and add again, which replaces the batch
// step with the finished deck. Pages in between copy nothing: a snapshot per page copied the whole
// deck each time — every embedded image so far, O(pages²) — and stalled the editor. At every moment
// a single unDo() restores the deck as it was before the batch. If the user has moved history
// meanwhile (edited: their snapshot already holds the pages so far; or undone: the cursor went
// back), the next page starts a fresh step rather than rewriting theirs.
//
// A snapshot store without cursor access (only addSnapshot) gets one addSnapshot() at the end.
// When the deck changed without a snapshot before the batch (PPTist's AIPPT writes its deck that
// way), that deck is recorded first, so the batch's undo lands on it and not on an older one.
import type { SnapshotStoreLike } from './pptistHost'

export interface HistoryGroupOptions {
  /** the deck changed since the last snapshot (see historyTracker.ts) */
  changedSinceSnapshot?: () => boolean
}

export interface HistoryGroup {
  /** call once before the first change */
  begin(): Promise<void>
  /** call after each change to the deck */
  record(): Promise<void>
  /** call when the batch is over (done, cancelled, given up) */
  end(): Promise<void>
}

export function createHistoryGroup(store: SnapshotStoreLike | null, options: HistoryGroupOptions = {}): HistoryGroup {
  let queue: Promise<void> = Promise.resolve()
  let groupCursor: number | null = null
  let dirty = false
  /** pages applied since the batch step was last written */
  let behind = false
  // Serialise: PPTist's addSnapshot is async and two interleaved calls would corrupt the cursor.
  const serial = (task: () => Promise<void> | void) => {
    queue = queue.then(task, task)
    return queue
  }
  const canReplace = () => !!store && typeof store.snapshotCursor === 'number'
    && typeof store.snapshotLength === 'number' && typeof store.setSnapshotCursor === 'function'

  return {
    begin: () => serial(async () => {
      groupCursor = null
      dirty = false
      behind = false
      // History never initialised: record the pre-batch deck so there is something to undo to.
      if (store && typeof store.snapshotCursor === 'number' && store.snapshotCursor < 0) await store.addSnapshot()
      else if (store && options.changedSinceSnapshot?.()) await store.addSnapshot()
    }),
    record: () => serial(async () => {
      if (!store) return
      if (!canReplace()) {
        dirty = true
        return
      }
      const cursor = store.snapshotCursor as number
      const length = store.snapshotLength as number
      if (groupCursor !== null && groupCursor > 0 && cursor === groupCursor && length === groupCursor + 1) {
        // still our step on top: it is rewritten once, at the end
        behind = true
        return
      }
      await store.addSnapshot()
      groupCursor = store.snapshotCursor as number
      behind = false
    }),
    end: () => serial(async () => {
      if (store && dirty) await store.addSnapshot()
      if (store && behind && canReplace() && groupCursor !== null) {
        const cursor = store.snapshotCursor as number
        const length = store.snapshotLength as number
        // replace the batch step with the finished deck; if the user moved history, add a step of its
        // own — unless the deck is as their step holds it (a restore during the batch records what
        // the pages had done first, so a step added now would only repeat theirs: undo would seem dead)
        if (cursor === groupCursor && length === groupCursor + 1) {
          store.setSnapshotCursor!(groupCursor - 1)
          await store.addSnapshot()
        }
        else if (!options.changedSinceSnapshot || options.changedSinceSnapshot()) {
          await store.addSnapshot()
        }
      }
      dirty = false
      behind = false
      groupCursor = null
    }),
  }
}
