import { afterEach, describe, expect, it } from 'vitest'
import { createApp, h } from 'vue'
import { createPinia } from 'pinia'
import type { VueWrapper } from '@vue/test-utils'
import NanoBanana from '../../plugin/index'
import BananaGenerateButton from '../../plugin/components/BananaGenerateButton.vue'
import { useNanoBananaStore } from '../../plugin/store/nanoBanana'
import { flush, mountPlugin } from './helpers/mountPlugin'

describe('BananaGenerateButton', () => {
  let wrapper: VueWrapper | undefined
  afterEach(() => wrapper?.unmount())

  it('opens the batch dialog on click and on Enter', async () => {
    const mounted = await mountPlugin(BananaGenerateButton)
    wrapper = mounted.wrapper
    const store = useNanoBananaStore()
    const button = wrapper.find('[role="button"]')
    expect(button.find('svg.nb-banana-icon').exists()).toBe(true)
    expect(button.attributes('title')).toContain('Nano Banana')
    expect(wrapper.find('[role="dialog"]').exists()).toBe(false)
    await button.trigger('click')
    await flush()
    expect(store.dialogVisible).toBe(true)
    expect(wrapper.find('[role="dialog"]').exists()).toBe(true)
    store.closeDialog()
    await flush()
    await button.trigger('keydown', { key: 'Enter' })
    expect(store.dialogVisible).toBe(true)
  })

  it('uses the host\'s own tooltip directive when it has one (PPTist\'s v-tooltip), escaped; a title otherwise', async () => {
    const seen: string[] = []
    const tooltip = {
      mounted: (_el: HTMLElement, binding: { value: string }) => { seen.push(binding.value) },
      updated: (_el: HTMLElement, binding: { value: string }) => { seen.push(binding.value) },
    }
    const mounted = await mountPlugin(BananaGenerateButton, { directives: { tooltip } })
    wrapper = mounted.wrapper
    const button = wrapper.find('[role="button"]')
    expect(seen[0]).toContain('Nano Banana')
    expect(seen[0]).not.toMatch(/[<>]/)
    expect(button.attributes('title')).toBeUndefined() // no second, native tooltip
    expect(button.attributes('aria-label')).toContain('Nano Banana')
  })

  it('starts watching the deck\'s history when it mounts', async () => {
    const mounted = await mountPlugin(BananaGenerateButton)
    wrapper = mounted.wrapper
    expect(mounted.controller.watchHistory).toHaveBeenCalledTimes(1)
  })

  it('while a batch runs, brings its progress back instead of a second dialog', async () => {
    const mounted = await mountPlugin(BananaGenerateButton)
    wrapper = mounted.wrapper
    const store = useNanoBananaStore()
    store.startBatch('b1', 'full', [{ slide_id: 'cover01' }])
    store.floatMinimised = true
    await flush()
    expect(wrapper.find('.badge').text()).toBe('0%')
    await wrapper.find('[role="button"]').trigger('click')
    expect(store.dialogVisible).toBe(false)
    expect(store.floatMinimised).toBe(false)
    expect(wrapper.find('.nb-progress-float').exists()).toBe(true)
  })
})

describe('the plugin', () => {
  it('registers <BananaGenerateButton> globally and works with only { serverUrl }', async () => {
    const root = document.createElement('div')
    document.body.appendChild(root)
    const app = createApp({ render: () => h('header', [h(BananaGenerateButton)]) })
    app.use(createPinia())
    app.use(NanoBanana, { serverUrl: 'http://127.0.0.1:8787/', locale: 'en' })
    expect(app.component('BananaGenerateButton')).toBeDefined()
    app.mount(root)
    expect(root.querySelector('[role="button"]')?.getAttribute('title')).toBe('Nano Banana: redesign slides with AI')
    app.unmount()
    root.remove()
  })
})
