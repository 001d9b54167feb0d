// The provider factory: settings (from server/config.ts) → the one ImageProvider the queue uses.
import type { ImageProvider, ProviderSettings } from './types.js'
import { createGeminiProvider } from './gemini.js'
import { createOpenAIChatProvider } from './openaiChat.js'
import { createOpenAIImagesProvider } from './openaiImages.js'
import { createPreviewProvider } from './preview.js'

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1'

export interface ProviderDeps {
  /** replaces global fetch for every upstream call (tests) */
  fetch?: typeof fetch
}

export function createProvider(settings: ProviderSettings, deps: ProviderDeps = {}): ImageProvider {
  switch (settings.provider) {
    case 'gemini': {
      const apiKey = settings.gemini.apiKey?.trim()
      if (!apiKey) throw new Error('IMAGE_PROVIDER=gemini needs GEMINI_API_KEY (or set IMAGE_PROVIDER=preview to run without a key)')
      return createGeminiProvider({ apiKey, baseUrl: settings.gemini.baseUrl || undefined, model: settings.model, timeoutMs: settings.timeoutMs, timeoutMs4K: settings.timeoutMs4K, maxResponseBytes: settings.maxResponseBytes, fetch: deps.fetch })
    }
    case 'openai-chat':
    case 'openai-images': {
      const apiKey = settings.openai.apiKey?.trim()
      if (!apiKey) throw new Error(`IMAGE_PROVIDER=${settings.provider} needs OPENAI_API_KEY (and usually OPENAI_BASE_URL)`)
      const opts = { apiKey, baseUrl: settings.openai.baseUrl || DEFAULT_OPENAI_BASE_URL, model: settings.model, timeoutMs: settings.timeoutMs, timeoutMs4K: settings.timeoutMs4K, fetch: deps.fetch,
        maxDownloadBytes: settings.maxResponseBytes, imageHosts: settings.imageHosts }
      return settings.provider === 'openai-chat' ? createOpenAIChatProvider(opts) : createOpenAIImagesProvider(opts)
    }
    case 'preview':
      return createPreviewProvider()
    default: {
      const unknown: never = settings.provider
      throw new Error(`Unknown IMAGE_PROVIDER "${String(unknown)}" (use gemini, openai-chat, openai-images or preview)`)
    }
  }
}
