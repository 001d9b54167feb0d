// The proxy API shared by components (the plugin provides one; tests provide a fake).
import { inject, type InjectionKey } from 'vue'
import { createProxyApi, type ProxyApi } from '../api/client'
import { useNanoBananaConfig } from '../config'

export const API_KEY: InjectionKey<ProxyApi> = Symbol('nano-banana-api')

export function useProxyApi(): ProxyApi {
  const provided = inject(API_KEY, null)
  if (provided) return provided
  const config = useNanoBananaConfig()
  return createProxyApi(config.apiBase, config.token)
}
