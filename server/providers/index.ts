// The provider factory: settings (from server/config.ts) → the one ImageProvider the queue uses.
import type { ImageProvider, ProviderSettings } from './types.js'
import { createGeminiProvider } from './gemini.js'
import { createOpenAIChatProvider } from './openaiChat.js'
import { createOpenAIImagesProvider } from './openaiImages.js'
import { createPreviewProvider } from './preview.js'
import { BufferPool } from './bufferPool.js'
import { noteImageDropped, onIdle } from '../memory.js'

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1'

export interface ProviderDeps {
  /** replaces global fetch for every upstream call (tests) */
  fetch?: typeof fetch
  /** where answers' images are decoded into (default: the process's one pool, answerBuffers) */
  buffers?: BufferPool
}

/**
 * The process's pool of buffers for decoded answer images, shared by every provider made here (one
 * process, one memory). Emptied when the proxy goes idle (server/memory.ts), or after 10 s without use
 * when no image was stored to start that clock.
 */
export const answerBuffers = new BufferPool({ idleMs: 10_000, onTrim: noteImageDropped })
onIdle(() => answerBuffers.trim())

export function createProvider(settings: ProviderSettings, deps: ProviderDeps = {}): ImageProvider {
  switch (settings.provider) {
    case 'gemini': {
      const apiKey = settings.gemini.apiKey?.trim()
      if (!apiKey) throw new Error('IMAGE_PROVIDER=gemini needs GEMINI_API_KEY (or set IMAGE_PROVIDER=preview to run without a key)')
      return createGeminiProvider({ apiKey, baseUrl: settings.gemini.baseUrl || undefined, model: settings.model, timeoutMs: settings.timeoutMs, timeoutMs4K: settings.timeoutMs4K, maxResponseBytes: settings.maxResponseBytes, fetch: deps.fetch, buffers: deps.buffers ?? answerBuffers })
    }
    case 'openai-chat':
    case 'openai-images': {
      const apiKey = settings.openai.apiKey?.trim()
      if (!apiKey) throw new Error(`IMAGE_PROVIDER=${settings.provider} needs OPENAI_API_KEY (and usually OPENAI_BASE_URL)`)
      const opts = { apiKey, baseUrl: settings.openai.baseUrl || DEFAULT_OPENAI_BASE_URL, model: settings.model, timeoutMs: settings.timeoutMs, timeoutMs4K: settings.timeoutMs4K, fetch: deps.fetch,
        maxDownloadBytes: settings.maxResponseBytes, imageHosts: settings.imageHosts, buffers: deps.buffers ?? answerBuffers }
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
