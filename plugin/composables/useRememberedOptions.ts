// The last template and options, remembered across sessions (localStorage).
import { useStorage } from '@vueuse/core'
import type { GenerationMode, Resolution } from '../types/api'

export type PageScope = 'all' | 'current' | 'range'

export interface RememberedOptions {
  templateId: string
  scope: PageScope
  mode: GenerationMode
  resolution: Resolution
  styleChain: boolean
  language: string
  extraPrompt: string
  embed: boolean
}

export const STORAGE_KEY = 'nano-banana:last-options'

export function defaultOptions(language = 'zh'): RememberedOptions {
  return {
    templateId: '',
    scope: 'all',
    mode: 'full',
    resolution: '2K',
    styleChain: true,
    language,
    extraPrompt: '',
    embed: false,
  }
}

export function useRememberedOptions(language = 'zh') {
  // mergeDefaults: options added in a later version get their default instead of undefined.
  return useStorage<RememberedOptions>(STORAGE_KEY, defaultOptions(language), undefined, { mergeDefaults: true })
}
