// Shared bits of the provider tests: a GenerateRequest, image inspection, key scanning.
import sharp from 'sharp'
import { NANO_BANANA_TEMPLATES } from '../../plugin/configs/nanoBananaTemplates.js'
import { ProviderError, type GenerateRequest, type ReferenceImage } from '../../server/providers/types.js'
import { fakeImage } from '../fakes/images.js'

export async function makeRequest(overrides: Partial<GenerateRequest> = {}): Promise<GenerateRequest> {
  const reference: ReferenceImage = { role: 'template', mime: 'image/jpeg', bytes: await fakeImage(320, 180, 'jpeg') }
  return {
    prompt: 'Render the slide titled "Quarterly results".',
    references: [reference],
    aspectRatio: '16:9',
    resolution: '1K',
    signal: new AbortController().signal,
    page: {
      template: NANO_BANANA_TEMPLATES[0],
      deckTitle: 'Deck',
      pageType: 'content',
      pageNumber: 1,
      totalPages: 1,
      title: 'Quarterly results',
      content: 'Revenue up',
      mode: 'full',
      language: 'en',
    },
    ...overrides,
  }
}

export async function dimensions(bytes: Buffer): Promise<{ width: number; height: number; format: string }> {
  const meta = await sharp(bytes).metadata()
  return { width: meta.width ?? 0, height: meta.height ?? 0, format: meta.format ?? '' }
}

/** Runs the promise and returns the ProviderError it must reject with. */
export async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise
  }
  catch (err) {
    if (err instanceof ProviderError) return err
    throw new Error(`expected a ProviderError, got ${String(err)}`, { cause: err })
  }
  throw new Error('expected a ProviderError, but the call succeeded')
}

/** Everything a ProviderError could leak through: message, stack, cause chain. */
export function errorText(err: unknown): string {
  const parts: string[] = []
  let current: unknown = err
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof Error) {
      parts.push(current.message, current.stack ?? '')
      current = current.cause
    }
    else {
      parts.push(String(current))
      break
    }
  }
  return parts.join('\n')
}
