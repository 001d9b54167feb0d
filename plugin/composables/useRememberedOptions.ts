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
  /**
   * the user picked `language` themselves; otherwise it follows each deck's own text
   * (see host/deckLanguage.ts)
   */
  languageChosen: boolean
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
    languageChosen: false,
    extraPrompt: '',
    embed: false,
  }
}

/**
 * Options added in a later version get their default instead of undefined. Options saved before
 * `languageChosen` existed always held a language: one other than the locale's default was picked
 * by hand, so it stays.
 */
export function mergeRemembered(stored: Partial<RememberedOptions>, defaults: RememberedOptions): RememberedOptions {
  const merged = { ...defaults, ...stored }
  if (typeof stored.languageChosen !== 'boolean') {
    merged.languageChosen = typeof stored.language === 'string' && stored.language !== defaults.language
  }
  return merged
}

export function useRememberedOptions(language = 'zh') {
  return useStorage<RememberedOptions>(STORAGE_KEY, defaultOptions(language), undefined, { mergeDefaults: mergeRemembered })
}
