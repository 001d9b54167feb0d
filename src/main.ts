import { createApp, type Plugin } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { useSlidesStore, useSnapshotStore } from './store'
import { createSampleDeck, sampleDeckTheme, sampleDeckTitle } from './mocks/sampleDeck'
import { demoMessages, demoMessagesKey, localeFromUrl } from './i18n'
import './assets/styles/global.scss'

// Until plugin/index.ts lands this glob is empty and the header shows a placeholder.
const pluginModules = import.meta.glob<{ default: Plugin }>('../plugin/index.ts', { eager: true })

const locale = localeFromUrl(window.location.search)
document.documentElement.lang = locale === 'en' ? 'en' : 'zh-CN'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.provide(demoMessagesKey, demoMessages(locale))

for (const mod of Object.values(pluginModules)) {
  app.use(mod.default, {
    // Empty means same origin: the proxy serves this demo, and Vite's dev server proxies /api.
    serverUrl: import.meta.env.VITE_NANO_BANANA_SERVER ?? '',
    locale,
  })
}

const slidesStore = useSlidesStore()
slidesStore.setSlides(createSampleDeck(), sampleDeckTheme)
slidesStore.setTitle(sampleDeckTitle)
void useSnapshotStore().initSnapshotDatabase()

app.mount('#app')
