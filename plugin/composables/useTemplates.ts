// The template catalogue from GET /api/v1/templates, loaded once per component.
import { ref } from 'vue'
import type { ProxyApi, TemplateSummary } from '../api/client'

export function useTemplates(api: ProxyApi) {
  const templates = ref<TemplateSummary[]>([])
  const loading = ref(false)
  const error = ref<unknown>(null)

  const load = async () => {
    loading.value = true
    error.value = null
    try {
      templates.value = await api.templates()
    }
    catch (e) {
      error.value = e
    }
    finally {
      loading.value = false
    }
  }

  return { templates, loading, error, load }
}
