// Mounts an extension component the way the plugin would: config, API and controller provided,
// PPTist's stores (faithful fakes) in the same Pinia, teleports rendered in place.
import { vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import type { Component, Directive } from 'vue'
import { CONFIG_KEY, resolveConfig, type Locale } from '../../../plugin/config'
import { API_KEY } from '../../../plugin/composables/useProxyApi'
import { CONTROLLER_KEY, type BatchController } from '../../../plugin/composables/useBatchGeneration'
import type { ProxyApi } from '../../../plugin/api/client'
import { setupPptist } from '../fakes/pptistStores'
import { fakeApi } from '../fakes/proxyApi'
import { deck } from '../fixtures/deck'

export const SERVER = 'http://127.0.0.1:8787'

export function fakeController() {
  return {
    start: vi.fn(async () => true),
    cancel: vi.fn(async () => undefined),
    retryPage: vi.fn(async () => undefined),
    retryFailed: vi.fn(async () => undefined),
    jumpTo: vi.fn(() => true), restore: vi.fn(async () => 0),
    slideExists: vi.fn((_pageNumber: number) => true),
    settled: vi.fn(async () => undefined),
    watchHistory: vi.fn(),
    dispose: vi.fn(),
  } satisfies BatchController
}

export interface MountOptions {
  props?: Record<string, unknown>
  api?: ProxyApi
  locale?: Locale
  controller?: BatchController
  /** app-wide directives, as a host registers them (PPTist: `tooltip`) */
  directives?: Record<string, Directive>
}

export async function mountPlugin(component: Component, options: MountOptions = {}) {
  const pinia = createPinia()
  setActivePinia(pinia)
  const pptist = await setupPptist(deck)
  const api = options.api ?? fakeApi().api
  const controller = options.controller ?? fakeController()
  const wrapper = mount(component, {
    props: options.props,
    attachTo: document.body,
    global: {
      plugins: [pinia],
      provide: {
        [CONFIG_KEY as symbol]: resolveConfig({ serverUrl: SERVER + '/', locale: options.locale }),
        [API_KEY as symbol]: api,
        [CONTROLLER_KEY as symbol]: { current: controller },
      },
      stubs: { teleport: true },
      directives: options.directives,
    },
  })
  return { wrapper, pinia, api, controller, ...pptist }
}

export const flush = () => new Promise(resolve => setTimeout(resolve, 0))
