// A provider wrapper that reports every upstream call (model, resolution, duration, outcome) to
// listeners — the metrics and the readiness probe — without the providers or the batch engine knowing.
import type { Resolution } from '../../plugin/types/api.js'
import { ProviderError, type GeneratedImage, type ImageProvider, type ProviderErrorKind } from './types.js'

export type CallKind = ProviderErrorKind | 'ok'

export interface UpstreamCall {
  provider: string
  model: string
  resolution: Resolution
  /** wall time of provider.generate(), ms */
  durationMs: number
  /** `ok`, or the ProviderError code (`rate_limited`, `invalid_api_key`, …; `internal_error` for anything else) */
  outcome: string
  kind: CallKind
  /** bytes of the image on success */
  imageBytes?: number
}

export type UpstreamListener = (call: UpstreamCall) => void

/** Returns a provider with the same name, model and behaviour that reports each call to every listener. */
export function observeProvider(inner: ImageProvider, listeners: readonly UpstreamListener[]): ImageProvider {
  return {
    name: inner.name,
    model: inner.model,
    async generate(req): Promise<GeneratedImage> {
      const started = performance.now()
      const report = (outcome: string, kind: CallKind, imageBytes?: number) => {
        const call: UpstreamCall = { provider: inner.name, model: inner.model, resolution: req.resolution, durationMs: performance.now() - started, outcome, kind, imageBytes }
        for (const l of listeners) {
          try {
            l(call)
          } catch {
            // a broken listener must never fail a page
          }
        }
      }
      try {
        const image = await inner.generate(req)
        report('ok', 'ok', image.bytes.length)
        return image
      } catch (err) {
        if (err instanceof ProviderError) report(err.code, err.kind)
        else report('internal_error', 'fatal')
        throw err
      }
    },
  }
}

/** Codes that mean the proxy's own provider configuration is wrong; only a restart with new settings fixes them. */
const CONFIG_CODES = new Set(['invalid_api_key', 'model_not_found'])

/**
 * Readiness of the provider: not ready while the latest upstream answer said the configured key or
 * model is wrong. Any other answer (a success, a 429, a refusal) clears it.
 */
export class ProviderStatus {
  private problem: string | undefined

  readonly listener: UpstreamListener = call => {
    if (CONFIG_CODES.has(call.outcome)) {
      this.problem = `the upstream answered ${call.outcome} for model ${call.model}: fix the provider settings and restart`
    } else if (call.outcome !== 'aborted') {
      this.problem = undefined
    }
  }

  current(): string | undefined {
    return this.problem
  }
}
