import { createApp } from 'vue'
import { createPinia } from 'pinia'
import NanoBanana from '../plugin'
import App from './App.vue'
import { useSlidesStore, useSnapshotStore } from './store'
import { createSampleDeck, sampleDeckTheme, sampleDeckTitle } from './mocks/sampleDeck'
import { demoMessages, demoMessagesKey, localeFromUrl } from './i18n'
import './assets/styles/global.scss'

const locale = localeFromUrl(window.location.search)
document.documentElement.lang = locale === 'en' ? 'en' : 'zh-CN'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.provide(demoMessagesKey, demoMessages(locale))

app.use(NanoBanana, {
  // Empty means same origin: the proxy serves this demo, and Vite's dev server proxies /api.
  serverUrl: import.meta.env.VITE_NANO_BANANA_SERVER ?? '',
  token: import.meta.env.VITE_NANO_BANANA_TOKEN || undefined,
  locale,
})

const slidesStore = useSlidesStore()
slidesStore.setSlides(createSampleDeck(), sampleDeckTheme)
slidesStore.setTitle(sampleDeckTitle)
void useSnapshotStore().initSnapshotDatabase()

app.mount('#app')
