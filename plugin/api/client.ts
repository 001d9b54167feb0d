// The proxy's HTTP API (api.md), typed. Only this module and the event stream talk to the proxy.
import axios, { type AxiosInstance } from 'axios'
import type {
  BatchProgress, CreateBatchRequest, CreateBatchResponse, HealthResponse, ModelsResponse,
} from '../types/api'
import type { SlideTemplateMetadata } from '../configs/nanoBananaTemplates'

export interface TemplateSummary {
  id: string
  name: string
  description: string
  cover: string
  thumbnail?: string
  name_en?: string
  description_en?: string
  metadata: SlideTemplateMetadata
}

export interface ProxyApi {
  health(): Promise<HealthResponse>
  /** the configured model: sizes, price per size (null = unknown), status */
  models(): Promise<ModelsResponse>
  templates(): Promise<TemplateSummary[]>
  createBatch(body: CreateBatchRequest): Promise<CreateBatchResponse>
  progress(batchId: string): Promise<BatchProgress>
  cancel(batchId: string): Promise<BatchProgress>
  retryPage(batchId: string, pageNumber: number, instruction?: string): Promise<void>
}

export function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {}
}

export function createProxyApi(apiBase: string, token?: string, http?: AxiosInstance): ProxyApi {
  const client = http ?? axios.create({ baseURL: apiBase, timeout: 30_000, headers: authHeaders(token) })
  const batchPath = (id: string) => `/slide-generations/batches/${encodeURIComponent(id)}`
  return {
    health: async () => (await client.get<HealthResponse>('/health')).data,
    models: async () => (await client.get<ModelsResponse>('/models')).data,
    templates: async () => (await client.get<{ templates: TemplateSummary[] }>('/templates')).data.templates,
    createBatch: async body => (await client.post<CreateBatchResponse>('/slide-generations/batches', body)).data,
    progress: async id => (await client.get<BatchProgress>(`${batchPath(id)}/progress`)).data,
    cancel: async id => (await client.post<BatchProgress>(`${batchPath(id)}/cancel`)).data,
    retryPage: async (id, page, instruction) => {
      await client.post(`${batchPath(id)}/pages/${page}/retry`, instruction ? { instruction } : {})
    },
  }
}
