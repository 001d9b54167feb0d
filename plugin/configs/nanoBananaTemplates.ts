// The template catalogue: one source of truth, read by the extension (selector grid)
// and by the proxy (GET /api/v1/templates, prompts, style reference images).
// `cover` and `thumbnail` are paths relative to the site root's public folder.

export interface SlideTemplateMetadata {
  style: string
  color_scheme: string[]
  recommended_for: string[]
}

export interface SlideTemplate {
  id: string
  name: string
  name_en: string
  cover: string
  thumbnail: string
  description: string
  description_en: string
  metadata: SlideTemplateMetadata
}

export const NANO_BANANA_TEMPLATES: SlideTemplate[] = [
  {
    id: 'nano_banana_1',
    name: '专业商务风',
    name_en: 'Business Pro',
    cover: './imgs/nano_banana/business_pro.png',
    thumbnail: './imgs/nano_banana/business_pro.thumb.jpg',
    description: '适合商务汇报的蓝色主题',
    description_en: 'Calm blue theme for business reports',
    metadata: {
      style: 'professional',
      color_scheme: ['#2563eb', '#1e40af', '#1e3a8a'],
      recommended_for: ['business', 'presentation', 'report'],
    },
  },
  {
    id: 'nano_banana_2',
    name: '科技未来感',
    name_en: 'Tech Future',
    cover: './imgs/nano_banana/tech_future.png',
    thumbnail: './imgs/nano_banana/tech_future.thumb.jpg',
    description: '科技感十足的深色主题',
    description_en: 'Dark theme with neon accents',
    metadata: {
      style: 'tech',
      color_scheme: ['#0ea5e9', '#8b5cf6', '#ec4899'],
      recommended_for: ['tech', 'innovation', 'startup'],
    },
  },
]

export function findTemplate(id: string): SlideTemplate | undefined {
  return NANO_BANANA_TEMPLATES.find(t => t.id === id)
}
