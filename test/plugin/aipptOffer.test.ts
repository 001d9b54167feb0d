// The "render these slides" offer shown after PPTist's own AIPPT dialog wrote a deck.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import { createPinia, defineStore, setActivePinia, type Pinia } from 'pinia'
import { mount, type VueWrapper } from '@vue/test-utils'
import AIPPTOffer from '../../plugin/integrations/AIPPTOffer.vue'
import { CONFIG_KEY, resolveConfig } from '../../plugin/config'
import { useNanoBananaStore } from '../../plugin/store/nanoBanana'

// PPTist's stores as far as the offer reads them: `main.showAIPPTDialog` (false | true | 'running')
// and the deck in `slides`.
const useMainStore = defineStore('main', {
  state: () => ({ showAIPPTDialog: false as boolean | 'running', selectedSlidesIndex: [] as number[] }),
  actions: {
    setAIPPTDialogState(show: boolean | 'running') {
      this.showAIPPTDialog = show
    },
  },
})
const useSnapshotStore = defineStore('snapshot', {
  state: () => ({ recorded: [] as number[] }),
  actions: {
    addSnapshot() {
      this.recorded.push(useSlidesStore().slides.length)
    },
  },
})
const useSlidesStore = defineStore('slides', {
  state: () => ({ slides: [] as { id: string, elements: unknown[] }[], slideIndex: 0 }),
  actions: {
    updateSlide() {},
  },
})

let pinia: Pinia
let wrapper: VueWrapper | undefined

function mountOffer(locale: 'zh' | 'en' = 'zh', autoHideMs = 0) {
  wrapper = mount(AIPPTOffer, {
    props: { teleport: false, autoHideMs },
    global: {
      plugins: [pinia],
      provide: { [CONFIG_KEY as symbol]: resolveConfig({ serverUrl: 'http://127.0.0.1:1', locale }) },
    },
  })
  return wrapper
}

/** what PPTist's AIPPT dialog does to the stores during a successful run */
async function runAIPPT(slideCount: number, outcome: 'done' | 'failed' = 'done') {
  const main = useMainStore()
  main.setAIPPTDialogState('running')
  await nextTick()
  useSlidesStore().slides = Array.from({ length: slideCount }, (_, i) => ({ id: `s${i}`, elements: [] }))
  main.setAIPPTDialogState(outcome === 'done' ? false : true)
  await nextTick()
}

beforeEach(() => {
  pinia = createPinia()
  setActivePinia(pinia)
  useMainStore()
  useSlidesStore()
  useSnapshotStore()
})
afterEach(() => {
  wrapper?.unmount()
  wrapper = undefined
  vi.useRealTimers()
})

describe('AIPPT offer', () => {
  it('appears when AIPPT finished writing the deck, and opens the batch dialog on accept', async () => {
    const w = mountOffer()
    expect(w.find('.nb-aippt-offer').exists()).toBe(false)
    await runAIPPT(6)
    const offer = w.find('.nb-aippt-offer')
    expect(offer.exists()).toBe(true)
    expect(offer.text()).toContain('6 页')
    const nanoBanana = useNanoBananaStore()
    expect(nanoBanana.dialogVisible).toBe(false)
    expect(useSnapshotStore().recorded).toEqual([])
    await w.find('.btn.primary').trigger('click')
    await nextTick()
    expect(nanoBanana.dialogVisible).toBe(true)
    // AIPPT's deck is recorded in history first, so the batch's one undo step comes back to it
    expect(useSnapshotStore().recorded).toEqual([6])
    expect(w.find('.nb-aippt-offer').exists()).toBe(false)
  })

  it('speaks English with locale en, and "later" only hides it', async () => {
    const w = mountOffer('en')
    await runAIPPT(3)
    expect(w.text()).toContain('AIPPT wrote 3 slides')
    await w.findAll('.btn').at(1)!.trigger('click')
    expect(w.find('.nb-aippt-offer').exists()).toBe(false)
    expect(useNanoBananaStore().dialogVisible).toBe(false)
    expect(useSnapshotStore().recorded).toEqual([])
  })

  it('stays away when AIPPT failed (its dialog came back) or the dialog was just closed', async () => {
    const w = mountOffer()
    await runAIPPT(4, 'failed')
    expect(w.find('.nb-aippt-offer').exists()).toBe(false)
    useMainStore().setAIPPTDialogState(false) // the user closes PPTist's dialog
    await nextTick()
    expect(w.find('.nb-aippt-offer').exists()).toBe(false)
  })

  it('stays away while a Nano Banana batch is running', async () => {
    const w = mountOffer()
    useNanoBananaStore().startBatch('b1', 'full', [{ slide_id: 's0' }])
    await runAIPPT(2)
    expect(w.find('.nb-aippt-offer').exists()).toBe(false)
  })

  it('hides itself after autoHideMs', async () => {
    vi.useFakeTimers()
    const w = mountOffer('zh', 5000)
    await runAIPPT(2)
    expect(w.find('.nb-aippt-offer').exists()).toBe(true)
    vi.advanceTimersByTime(4999)
    await nextTick()
    expect(w.find('.nb-aippt-offer').exists()).toBe(true)
    vi.advanceTimersByTime(1)
    await nextTick()
    expect(w.find('.nb-aippt-offer').exists()).toBe(false)
  })

  it('does nothing outside PPTist (no deck store)', async () => {
    pinia = createPinia()
    setActivePinia(pinia)
    const w = mountOffer()
    await nextTick()
    expect(w.find('.nb-aippt-offer').exists()).toBe(false)
  })
})
