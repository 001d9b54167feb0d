// A scripted stand-in for the proxy's HTTP API (ProxyApi), recording every call.
import { vi } from 'vitest'
import { AxiosError, AxiosHeaders, type InternalAxiosRequestConfig } from 'axios'
import type { ProxyApi, TemplateSummary } from '../../../plugin/api/client'
import type { BatchProgress, CreateBatchRequest, HealthResponse, ModelsResponse, PageResult, PageStatus } from '../../../plugin/types/api'

export const TEMPLATES: TemplateSummary[] = [
  {
    id: 'nano_banana_1', name: '专业商务风', name_en: 'Business Pro', description: '适合商务汇报的蓝色主题',
    description_en: 'Calm blue theme', cover: './imgs/nano_banana/business_pro.png', thumbnail: './imgs/nano_banana/business_pro.thumb.jpg',
    metadata: { style: 'professional', color_scheme: ['#2563eb', '#1e40af'], recommended_for: ['business', 'report'] },
  },
  {
    id: 'nano_banana_2', name: '科技未来感', description: '科技感十足的深色主题', cover: './imgs/nano_banana/tech_future.png',
    metadata: { style: 'tech', color_scheme: ['#0ea5e9'], recommended_for: ['tech'] },
  },
  {
    id: 'nano_banana_3', name: '清新教育', description: '适合课堂的明亮主题', cover: '/imgs/nano_banana/edu.png',
    metadata: { style: 'education', color_scheme: ['#22c55e', '#facc15'], recommended_for: ['education'] },
  },
  {
    id: 'nano_banana_4', name: '极简黑白', description: '留白与大字', cover: './imgs/nano_banana/mono.png',
    metadata: { style: 'minimal', color_scheme: ['#111111'], recommended_for: [] },
  },
]

export const GEMINI_HEALTH: HealthResponse = {
  ok: true, provider: 'gemini', model: 'gemini-3-pro-image',
  queue: { running: 0, queued: 0, capacity: 50, concurrency: 2 },
}

export const PREVIEW_HEALTH: HealthResponse = { ...GEMINI_HEALTH, provider: 'preview', model: 'preview' }

/** GET /api/v1/models of a proxy configured with Nano Banana Pro (the shape of server/models.ts describeModels). */
export const GEMINI_MODELS: ModelsResponse = {
  provider: 'gemini',
  model: {
    id: 'gemini-3-pro-image', name: 'Nano Banana Pro', known: true, status: 'current', retired_on: null, replacement: null,
    sizes: [
      { size: '1K', price_usd: 0.134, price_source: 'list', timeout_s: 120 },
      { size: '2K', price_usd: 0.134, price_source: 'list', timeout_s: 120 },
      { size: '4K', price_usd: 0.24, price_source: 'list', timeout_s: 300 },
    ],
    aspect_ratios: ['16:9'], fixed_size: false, max_reference_images: 14,
  },
  default_resolution: '2K',
  catalogue: [],
}

/** A proxy on gpt-image-1: two sizes, no known price. */
export const GPT_IMAGE_MODELS: ModelsResponse = {
  provider: 'openai-images',
  model: {
    id: 'gpt-image-1', name: 'GPT Image 1', known: true, status: 'current', retired_on: null, replacement: null,
    sizes: [
      { size: '1K', price_usd: null, price_source: null, timeout_s: 120 },
      { size: '2K', price_usd: null, price_source: null, timeout_s: 120 },
    ],
    aspect_ratios: ['1:1', '3:2', '2:3'], fixed_size: true, max_reference_images: 16,
  },
  default_resolution: '2K',
  catalogue: [],
}

export const PREVIEW_MODELS: ModelsResponse = {
  ...GEMINI_MODELS,
  provider: 'preview',
  model: { ...GEMINI_MODELS.model, id: 'preview', name: 'Offline preview renderer', sizes: GEMINI_MODELS.model.sizes.map(s => ({ ...s, price_usd: 0, timeout_s: null })) },
}

export function pageResult(pageNumber: number, slideId: string, status: PageStatus, extra: Partial<PageResult> = {}): PageResult {
  return {
    page_number: pageNumber, slide_id: slideId, status,
    image_url: status === 'completed' ? `/api/v1/images/p${pageNumber}.png` : null,
    thumbnail_url: status === 'completed' ? `/api/v1/images/p${pageNumber}.thumb.jpg` : null,
    error_message: null, error_code: null, retry_count: 0, ...extra,
  }
}

export function progressOf(batchId: string, status: BatchProgress['status'], results: PageResult[]): BatchProgress {
  const completed = results.filter(r => r.status === 'completed').length
  const failed = results.filter(r => r.status === 'failed').length
  return {
    batch_id: batchId, status, results, estimated_remaining_time: 10,
    progress: {
      current_page: completed + failed, total_pages: results.length, completed_pages: completed,
      failed_pages: failed, percentage: Math.round((completed + failed) / results.length * 100),
    },
  }
}

export function httpError(status: number, body: unknown, headers: Record<string, string> = {}): AxiosError {
  const config = { headers: new AxiosHeaders() } as InternalAxiosRequestConfig
  return new AxiosError(`Request failed with status code ${status}`, 'ERR_BAD_RESPONSE', config, {}, {
    status, statusText: String(status), data: body, headers, config,
  })
}

export function networkError(): AxiosError {
  const config = { headers: new AxiosHeaders() } as InternalAxiosRequestConfig
  return new AxiosError('Network Error', 'ERR_NETWORK', config, {})
}

export function fakeApi(overrides: Partial<ProxyApi> = {}) {
  const created: CreateBatchRequest[] = []
  const api = {
    health: vi.fn(async () => GEMINI_HEALTH),
    models: vi.fn(async () => GEMINI_MODELS),
    templates: vi.fn(async () => TEMPLATES),
    createBatch: vi.fn(async (body: CreateBatchRequest) => {
      created.push(body)
      return { batch_id: 'b1', status: 'pending' as const, total_pages: body.pages.length, estimated_time: 40 }
    }),
    progress: vi.fn(async (id: string): Promise<BatchProgress> => progressOf(id, 'generating', [])),
    cancel: vi.fn(async (id: string): Promise<BatchProgress> => progressOf(id, 'cancelled', [])),
    retryPage: vi.fn(async () => undefined),
    ...overrides,
  }
  return { api: api as ProxyApi & typeof api, created }
}
