// Plugin options and the resolved configuration every component and composable reads.
import { inject, type InjectionKey } from 'vue'
import type { Pinia } from 'pinia'
import type { HostStoreOverrides } from './host/pptistHost'

export type Locale = 'zh' | 'en'

export interface NanoBananaOptions {
  /** where the proxy runs, e.g. http://localhost:8787 (no /api/v1) */
  serverUrl: string
  /** proxy token, sent as `Authorization: Bearer …` when the proxy requires one */
  token?: string
  /** UI language; Chinese by default */
  locale?: Locale
  /** pass PPTist's stores explicitly instead of looking them up by id in the active Pinia */
  stores?: HostStoreOverrides
  /** the Pinia instance holding PPTist's stores (default: the active one) */
  pinia?: Pinia
}

export interface NanoBananaConfig {
  serverUrl: string
  apiBase: string
  token: string | undefined
  locale: Locale
  stores: HostStoreOverrides
  pinia: Pinia | undefined
}

export const CONFIG_KEY: InjectionKey<NanoBananaConfig> = Symbol('nano-banana-config')

export function resolveConfig(options: NanoBananaOptions): NanoBananaConfig {
  const raw = options.serverUrl || (typeof window !== 'undefined' ? window.location.origin : '')
  const serverUrl = raw.replace(/\/+$/, '').replace(/\/api\/v1$/, '')
  return {
    serverUrl,
    apiBase: `${serverUrl}/api/v1`,
    token: options.token || undefined,
    locale: options.locale === 'en' ? 'en' : 'zh',
    stores: options.stores || {},
    pinia: options.pinia,
  }
}

/** Absolute URL for a path the proxy returned (`/api/v1/images/…`, `./imgs/…`); data/http URLs pass through. */
export function resolveServerUrl(serverUrl: string, path: string | null | undefined): string {
  if (!path) return ''
  if (/^(https?:|data:|blob:)/i.test(path)) return path
  const clean = path.replace(/^\.\//, '/')
  return `${serverUrl}${clean.startsWith('/') ? '' : '/'}${clean}`
}

export function useNanoBananaConfig(): NanoBananaConfig {
  const config = inject(CONFIG_KEY, null)
  if (!config) throw new Error('Nano Banana: install the plugin first — app.use(NanoBanana, { serverUrl })')
  return config
}
