// After PPTist's own AIPPT dialog has written a deck, offer to render it with Nano Banana.
// PPTist's `main` store marks an AIPPT run with `showAIPPTDialog: 'running'` and sets it to `false`
// when the deck is written (on failure it goes back to `true`, the dialog reopens). We only watch
// that flag: PPTist's dialog is not touched.
//
// When AIPPT writes into an empty deck (its "overwrite" default) it calls setSlides() without a
// history snapshot, so the AIPPT deck is not in the undo history; a batch's single undo step would
// then go back past it. Accepting the offer therefore records the current deck first.
import { onBeforeUnmount, ref, watch, type Ref } from 'vue'
import type { Pinia } from 'pinia'
import { resolveHostStores, type HostStoreOverrides } from '../host/pptistHost'
import { useNanoBananaStore } from '../store/nanoBanana'

type AIPPTDialogState = boolean | 'running'

interface MainStoreWithAIPPT {
  showAIPPTDialog?: AIPPTDialogState
}

export interface AIPPTOfferOptions {
  pinia?: Pinia
  stores?: HostStoreOverrides
  /** the offer hides itself after this long (ms); 0 keeps it until answered */
  autoHideMs?: number
}

export interface AIPPTOffer {
  visible: Ref<boolean>
  /** slides in the deck when AIPPT finished */
  slideCount: Ref<number>
  /** records the deck in PPTist's history, then opens the batch dialog */
  accept: () => Promise<void>
  dismiss: () => void
}

export function useAIPPTOffer(options: AIPPTOfferOptions = {}): AIPPTOffer {
  const visible = ref(false)
  const slideCount = ref(0)
  const nanoBanana = useNanoBananaStore(options.pinia)
  let timer: ReturnType<typeof setTimeout> | undefined

  const clearTimer = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }
  const dismiss = () => {
    clearTimer()
    visible.value = false
  }

  let stores: ReturnType<typeof resolveHostStores> | null = null
  try {
    stores = resolveHostStores(options.pinia, options.stores ?? {})
  }
  catch {
    stores = null // not inside PPTist (no deck store): nothing to watch
  }

  const accept = async () => {
    dismiss()
    if (nanoBanana.isRunning) return
    await stores?.snapshot?.addSnapshot()
    nanoBanana.openDialog()
  }
  const main = stores?.main as MainStoreWithAIPPT | null | undefined

  if (stores && main && 'showAIPPTDialog' in main) {
    const slidesStore = stores.slides
    watch(() => main.showAIPPTDialog, (next, previous) => {
      if (previous !== 'running') return
      if (next !== false) return // AIPPT failed and its dialog is back
      if (nanoBanana.isRunning || slidesStore.slides.length === 0) return
      slideCount.value = slidesStore.slides.length
      visible.value = true
      clearTimer()
      const autoHideMs = options.autoHideMs ?? 30_000
      if (autoHideMs > 0) timer = setTimeout(dismiss, autoHideMs)
    })
  }

  onBeforeUnmount(clearTimer)

  return { visible, slideCount, accept, dismiss }
}
