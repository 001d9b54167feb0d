// Nano Banana for PPTist — the Vue plugin a host mounts:
//   app.use(NanoBanana, { serverUrl, token?, locale? })   then   <BananaGenerateButton /> in the header.
import type { App, Plugin } from 'vue'
import { CONFIG_KEY, resolveConfig, type NanoBananaOptions } from './config'
import { createProxyApi } from './api/client'
import { API_KEY } from './composables/useProxyApi'
import { CONTROLLER_KEY, type ControllerHolder } from './composables/useBatchGeneration'
import BananaGenerateButton from './components/BananaGenerateButton.vue'

const NanoBanana: Plugin<[NanoBananaOptions]> = {
  install(app: App, options: NanoBananaOptions) {
    const config = resolveConfig(options)
    app.provide(CONFIG_KEY, config)
    app.provide(API_KEY, createProxyApi(config.apiBase, config.token))
    const holder: ControllerHolder = { current: null }
    app.provide(CONTROLLER_KEY, holder)
    app.component('BananaGenerateButton', BananaGenerateButton)
  },
}

export default NanoBanana
export { NanoBanana }
export type { NanoBananaOptions, NanoBananaConfig, Locale } from './config'
export { resolveConfig, resolveServerUrl, CONFIG_KEY } from './config'
export { default as BananaGenerateButton } from './components/BananaGenerateButton.vue'
export { default as TemplateSelector } from './components/TemplateSelector.vue'
export { default as BatchGenerationDialog } from './components/BatchGenerationDialog.vue'
export { default as GenerationProgressFloat } from './components/GenerationProgressFloat.vue'
export { useNanoBananaStore } from './store/nanoBanana'
export { useBatchGeneration, createBatchController } from './composables/useBatchGeneration'
export type { BatchController, BatchControllerDeps, StartBatchInput } from './composables/useBatchGeneration'
export { createProxyApi } from './api/client'
export type { ProxyApi, TemplateSummary } from './api/client'
export { followBatchEvents } from './composables/useEventStream'
export { useProgressPolling } from './composables/useProgressPolling'
export { parseSlideRange, formatSlideRange } from './composables/useSlideRange'
export { estimateBatch, pricePerImage } from './composables/useEstimate'
export { embedAsJpeg } from './composables/useEmbedImage'
export { extractSlideText, slideToPageInput, htmlToText } from './host/extractText'
export { computeSlideUpdate } from './host/applyResult'
export { createHistoryGroup } from './host/historyGroup'
export { resolveHostStores, createDeckHost } from './host/pptistHost'
export type { HostStoreOverrides, SlidesStoreLike, SnapshotStoreLike, MainStoreLike, DeckHost } from './host/pptistHost'
export type { Slide, SlideElement } from './host/types'
