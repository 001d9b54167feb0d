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
    description: '适合商务汇报的蓝色主题，深蓝斜切色块与图表，稳重清晰',
    description_en: 'Calm blue theme for business reports: navy diagonal panels, clean charts',
    metadata: {
      style: 'professional',
      color_scheme: ['#2563eb', '#1e40af', '#1e3a8a', '#eff6ff'],
      recommended_for: ['business', 'presentation', 'report'],
    },
  },
  {
    id: 'nano_banana_2',
    name: '科技未来感',
    name_en: 'Tech Future',
    cover: './imgs/nano_banana/tech_future.png',
    thumbnail: './imgs/nano_banana/tech_future.thumb.jpg',
    description: '科技感十足的深色主题，霓虹光效、透视网格与电路线条',
    description_en: 'Dark theme with neon accents, perspective grid and circuit lines',
    metadata: {
      style: 'tech',
      color_scheme: ['#0ea5e9', '#8b5cf6', '#ec4899', '#060b1a'],
      recommended_for: ['tech', 'innovation', 'startup'],
    },
  },
  {
    id: 'nano_banana_3',
    name: '教育清新绿',
    name_en: 'Fresh Education',
    cover: './imgs/nano_banana/edu_fresh.png',
    thumbnail: './imgs/nano_banana/edu_fresh.thumb.jpg',
    description: '清新绿色配叶片与书本插画，圆润友好，适合课堂与培训',
    description_en: 'Fresh greens with leaves and book illustrations, friendly for classes and training',
    metadata: {
      style: 'education',
      color_scheme: ['#16a34a', '#86efac', '#facc15', '#f4fbf2'],
      recommended_for: ['education', 'training', 'course'],
    },
  },
  {
    id: 'nano_banana_4',
    name: '营销活力橙',
    name_en: 'Vibrant Marketing',
    cover: './imgs/nano_banana/marketing_vibrant.png',
    thumbnail: './imgs/nano_banana/marketing_vibrant.thumb.jpg',
    description: '大胆橙色块面、爆炸星形与粗黑标题，冲击力强',
    description_en: 'Bold orange blocks, starbursts and heavy black titles for maximum punch',
    metadata: {
      style: 'marketing',
      color_scheme: ['#f97316', '#ea580c', '#1c1917', '#fde047', '#fff7ed'],
      recommended_for: ['marketing', 'launch', 'sales'],
    },
  },
  {
    id: 'nano_banana_5',
    name: '极简黑白',
    name_en: 'Minimal Mono',
    cover: './imgs/nano_banana/minimal_mono.png',
    thumbnail: './imgs/nano_banana/minimal_mono.thumb.jpg',
    description: '黑白灰与大量留白，细线与几何，克制高级',
    description_en: 'Black, white and generous space; hairlines and pure geometry',
    metadata: {
      style: 'minimal',
      color_scheme: ['#0a0a0a', '#ffffff', '#a1a1aa', '#e4e4e7'],
      recommended_for: ['design', 'portfolio', 'keynote'],
    },
  },
  {
    id: 'nano_banana_6',
    name: '学术蓝灰',
    name_en: 'Academic Slate',
    cover: './imgs/nano_banana/academic_slate.png',
    thumbnail: './imgs/nano_banana/academic_slate.thumb.jpg',
    description: '蓝灰配色、衬线标题与图示框图，严谨规整，适合论文答辩',
    description_en: 'Slate blue-grey, serif titles and diagrams; rigorous, for theses and research talks',
    metadata: {
      style: 'academic',
      color_scheme: ['#334155', '#475569', '#94a3b8', '#f8fafc'],
      recommended_for: ['academic', 'research', 'thesis'],
    },
  },
  {
    id: 'nano_banana_7',
    name: '国潮红金',
    name_en: 'Guochao Red & Gold',
    cover: './imgs/nano_banana/guochao_red_gold.png',
    thumbnail: './imgs/nano_banana/guochao_red_gold.thumb.jpg',
    description: '中国红底配金色祥云、海水纹与远山，喜庆大气',
    description_en: 'Chinese red with gold auspicious clouds, sea-wave bands and mountains',
    metadata: {
      style: 'chinese',
      color_scheme: ['#8f1d1d', '#b91c1c', '#d4a24c', '#fde68a'],
      recommended_for: ['culture', 'festival', 'brand'],
    },
  },
  {
    id: 'nano_banana_8',
    name: '莫兰迪柔和',
    name_en: 'Morandi Soft',
    cover: './imgs/nano_banana/morandi_soft.png',
    thumbnail: './imgs/nano_banana/morandi_soft.thumb.jpg',
    description: '低饱和莫兰迪色拱门与圆形构图，温柔安静',
    description_en: 'Muted Morandi tones, arches and circles; soft and quiet',
    metadata: {
      style: 'soft',
      color_scheme: ['#efe9e1', '#a3b1a6', '#b8a9a0', '#8e9aaf', '#c9a99a'],
      recommended_for: ['lifestyle', 'brand', 'hr'],
    },
  },
  {
    id: 'nano_banana_9',
    name: '手绘涂鸦',
    name_en: 'Hand-drawn Doodle',
    cover: './imgs/nano_banana/hand_drawn.png',
    thumbnail: './imgs/nano_banana/hand_drawn.thumb.jpg',
    description: '笔记本纸张、手绘线条、荧光笔与涂鸦图标，轻松有趣',
    description_en: 'Notebook paper, wobbly pen strokes, highlighter and doodles',
    metadata: {
      style: 'hand-drawn',
      color_scheme: ['#fffdf6', '#1f2937', '#ef4444', '#3b82f6', '#fbbf24'],
      recommended_for: ['workshop', 'brainstorm', 'education'],
    },
  },
  {
    id: 'nano_banana_10',
    name: '杂志大片',
    name_en: 'Magazine Editorial',
    cover: './imgs/nano_banana/magazine_editorial.png',
    thumbnail: './imgs/nano_banana/magazine_editorial.thumb.jpg',
    description: '杂志式排版，大幅暗调图片、衬线大标题与细线栏格',
    description_en: 'Editorial layout: full-bleed moody imagery, big serif titles, fine rules',
    metadata: {
      style: 'editorial',
      color_scheme: ['#f4efe6', '#111111', '#c2410c', '#57402f'],
      recommended_for: ['brand', 'story', 'fashion'],
    },
  },
  {
    id: 'nano_banana_11',
    name: '数据可视化',
    name_en: 'Data Dashboard',
    cover: './imgs/nano_banana/data_viz.png',
    thumbnail: './imgs/nano_banana/data_viz.thumb.jpg',
    description: '仪表盘风格：卡片、柱状图、折线与环形图，适合数据汇报',
    description_en: 'Dashboard style with cards, bar, line and donut charts for data-heavy decks',
    metadata: {
      style: 'data',
      color_scheme: ['#0f172a', '#2563eb', '#22c55e', '#f59e0b', '#f8fafc'],
      recommended_for: ['data', 'analytics', 'report'],
    },
  },
  {
    id: 'nano_banana_12',
    name: '儿童卡通',
    name_en: 'Kids Cartoon',
    cover: './imgs/nano_banana/kids_cartoon.png',
    thumbnail: './imgs/nano_banana/kids_cartoon.thumb.jpg',
    description: '天空、彩虹、笑脸太阳与气球，明亮圆润，适合少儿课堂',
    description_en: 'Sky, rainbow, smiling sun and balloons; bright and rounded for kids',
    metadata: {
      style: 'cartoon',
      color_scheme: ['#7dd3fc', '#f472b6', '#facc15', '#4ade80', '#1e3a8a'],
      recommended_for: ['kids', 'education', 'playful'],
    },
  },
]

export function findTemplate(id: string): SlideTemplate | undefined {
  return NANO_BANANA_TEMPLATES.find(t => t.id === id)
}
