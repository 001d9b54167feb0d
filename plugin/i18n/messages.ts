// UI strings. Chinese is the default (PPTist's audience); English with `locale: 'en'`.
// `{name}` placeholders are filled by `translate`.
import { computed, inject, type ComputedRef } from 'vue'
import { CONFIG_KEY, type Locale } from '../config'

const zh = {
  buttonTitle: 'Nano Banana 一键美化（AI 生成整页设计）',
  dialogTitle: '🍌 Nano Banana 批量生成',
  template: '风格模板',
  templatesLoading: '正在加载模板…',
  templatesEmpty: '没有可用的模板',
  templatesRetry: '重新加载',
  recommendedFor: '适用',
  pages: '生成页面',
  pagesAll: '全部页面',
  pagesCurrent: '当前页',
  pagesRange: '指定页面',
  rangePlaceholder: '例如 1-3,5',
  mode: '生成模式',
  modeFull: '整页图片',
  modeFullHint: '图片包含文字与版式；原有元素移除，文字保存到备注中，可撤销。',
  modeBackground: '仅背景',
  modeBackgroundHint: '生成无文字的设计背景；保留可编辑的文字元素，移除旧模板的装饰；文字颜色会按背景自动调整以保证可读。',
  resolution: '分辨率',
  styleChain: '风格统一',
  styleChainHint: '先生成第 1 页，再以它作为其余页面的风格参考。',
  language: '图中文字语言',
  extraPrompt: '补充要求',
  extraPromptPlaceholder: '例如：多用插画，少用照片（可选）',
  embed: '图片嵌入文档',
  embedHint: '将图片压缩为 JPEG 存入幻灯片数据（≤1600 像素宽），离线导出更可靠，但文件更大。',
  summaryPages: '{n} 页',
  summaryTime: '预计 {time}',
  summaryCost: '预计费用 ${cost}',
  summaryPreview: '离线预览（免费）',
  summaryPrice: '按 {model} 公开价格 ${price}/张估算',
  cancel: '取消',
  start: '开始生成',
  starting: '正在提交…',
  busy: '已有任务在进行中，请等待完成或取消后再开始。',
  errNoTemplate: '请先选择一个风格模板。',
  errNoSlides: '演示文稿中没有幻灯片。',
  errRangeEmpty: '请输入页码，例如 1-3,5。',
  errRangeSyntax: '无法识别“{part}”，请使用如 1-3,5 的格式。',
  errRangeOrder: '“{part}”的起始页大于结束页。',
  errRangeOut: '第 {page} 页不存在（共 {total} 页）。',
  errTooMany: '一次最多生成 {max} 页，当前选择了 {n} 页。',
  floatTitle: '🍌 生成进度',
  floatCount: '{done} / {total}',
  floatRemaining: '剩余约 {time}',
  summaryDone: '{n} 页完成',
  summarySkipped: '{n} 页已跳过',
  summaryFailed: '{n} 页失败',
  summarySeparator: '，',
  summaryCancelled: '已取消：{summary}',
  statusPending: '等待中',
  statusGenerating: '绘制中',
  statusCompleted: '已完成',
  statusFailed: '失败',
  statusCancelled: '已取消',
  statusSkipped: '页面已删除，已跳过',
  retry: '重试',
  revise: '修改…',
  reviseTitle: '修改第 {n} 页',
  revisePlaceholder: '例如：标题更大，换成暖色调（回车发送）',
  reviseSend: '发送',
  retryAllFailed: '重试全部失败页',
  cancelBatch: '取消生成',
  close: '关闭',
  minimise: '最小化',
  restore: '展开',
  jumpTo: '跳转到第 {n} 页',
  transportPolling: '实时连接不可用，已改为轮询',
  seconds: '{n} 秒',
  minutes: '{m} 分 {s} 秒',
  errUnreachable: '无法连接到生成服务 {url}，请确认服务已启动且网络可达。',
  errQueueFull: '生成队列已满，请在 {n} 秒后重试。',
  errQueueFullNoWait: '生成队列已满，请稍后重试。',
  errUnauthorized: '访问令牌无效或缺失（401），请检查插件配置中的 token。',
  errConfig: '生成服务配置有误（如 API 密钥无效），请联系管理员。{detail}',
  errRefused: '该页内容被模型的安全策略拒绝，请修改页面文字或补充要求后重试。',
  errInvalid: '请求无效：{detail}',
  errNotFound: '任务不存在或已过期。',
  errUnknown: '出错了：{detail}',
  errHost: '找不到 PPTist 的数据（slides store）：{detail}',
  remarkHeader: '— Nano Banana：原页面文字（整页生成前）—',
  langZh: '中文',
  langEn: '英文',
  langJa: '日文',
  langKo: '韩文',
  langFr: '法文',
  langDe: '德文',
  langEs: '西班牙文',
}

export type MessageKey = keyof typeof zh

const en: Record<MessageKey, string> = {
  buttonTitle: 'Nano Banana: redesign slides with AI',
  dialogTitle: '🍌 Nano Banana batch generation',
  template: 'Style template',
  templatesLoading: 'Loading templates…',
  templatesEmpty: 'No templates available',
  templatesRetry: 'Reload',
  recommendedFor: 'For',
  pages: 'Slides',
  pagesAll: 'All slides',
  pagesCurrent: 'Current slide',
  pagesRange: 'Pick slides',
  rangePlaceholder: 'e.g. 1-3,5',
  mode: 'Mode',
  modeFull: 'Full slide',
  modeFullHint: 'The image carries text and layout; the slide\'s elements are removed and their text kept in the notes. Undoable.',
  modeBackground: 'Background only',
  modeBackgroundHint: 'A designed background without text; your text stays editable, old template decoration is removed, and text colours adapt to the background so they stay readable.',
  resolution: 'Resolution',
  styleChain: 'One look',
  styleChainHint: 'Slide 1 is drawn first and used as a style reference for the rest.',
  language: 'Text language in images',
  extraPrompt: 'Extra instructions',
  extraPromptPlaceholder: 'e.g. more illustrations, fewer photos (optional)',
  embed: 'Embed images in the deck',
  embedHint: 'Stores a compressed JPEG (≤1600 px wide) inside the slides: exports work offline, the deck gets bigger.',
  summaryPages: '{n} slides',
  summaryTime: 'about {time}',
  summaryCost: 'estimated cost ${cost}',
  summaryPreview: 'offline preview (free)',
  summaryPrice: 'at {model} list price ${price} per image',
  cancel: 'Cancel',
  start: 'Generate',
  starting: 'Submitting…',
  busy: 'A batch is already running. Wait for it or cancel it first.',
  errNoTemplate: 'Pick a style template first.',
  errNoSlides: 'The deck has no slides.',
  errRangeEmpty: 'Enter slide numbers, e.g. 1-3,5.',
  errRangeSyntax: '"{part}" is not understood; use a form like 1-3,5.',
  errRangeOrder: '"{part}" starts after it ends.',
  errRangeOut: 'Slide {page} does not exist (the deck has {total}).',
  errTooMany: 'At most {max} slides per batch; {n} selected.',
  floatTitle: '🍌 Generation progress',
  floatCount: '{done} / {total}',
  floatRemaining: 'about {time} left',
  summaryDone: '{n} done',
  summarySkipped: '{n} skipped',
  summaryFailed: '{n} failed',
  summarySeparator: ', ',
  summaryCancelled: 'Cancelled: {summary}',
  statusPending: 'waiting',
  statusGenerating: 'drawing',
  statusCompleted: 'done',
  statusFailed: 'failed',
  statusCancelled: 'cancelled',
  statusSkipped: 'slide deleted, skipped',
  retry: 'Retry',
  revise: 'Revise…',
  reviseTitle: 'Revise slide {n}',
  revisePlaceholder: 'e.g. bigger title, warmer colours (Enter to send)',
  reviseSend: 'Send',
  retryAllFailed: 'Retry all failed',
  cancelBatch: 'Cancel',
  close: 'Close',
  minimise: 'Minimise',
  restore: 'Expand',
  jumpTo: 'Go to slide {n}',
  transportPolling: 'Live updates unavailable, polling instead',
  seconds: '{n} s',
  minutes: '{m} min {s} s',
  errUnreachable: 'Cannot reach the generation service at {url}. Is it running and reachable?',
  errQueueFull: 'The generation queue is full. Try again in {n} s.',
  errQueueFullNoWait: 'The generation queue is full. Try again shortly.',
  errUnauthorized: 'The access token is missing or wrong (401). Check the plugin\'s token setting.',
  errConfig: 'The generation service is misconfigured (e.g. an invalid API key). Please ask the administrator. {detail}',
  errRefused: 'The model\'s safety filter refused this slide. Rephrase its text or the extra instructions and retry.',
  errInvalid: 'Invalid request: {detail}',
  errNotFound: 'The batch does not exist or has expired.',
  errUnknown: 'Something went wrong: {detail}',
  errHost: 'PPTist data (slides store) not found: {detail}',
  remarkHeader: '— Nano Banana: original slide text (before full-slide generation) —',
  langZh: 'Chinese',
  langEn: 'English',
  langJa: 'Japanese',
  langKo: 'Korean',
  langFr: 'French',
  langDe: 'German',
  langEs: 'Spanish',
}

export const MESSAGES: Record<Locale, Record<MessageKey, string>> = { zh, en }

// Labels for the templates' "recommended for" tags (configs/nanoBananaTemplates.ts) in the Chinese
// UI. English shows the tag itself; a tag missing here is shown as it is.
const TAG_LABELS_ZH: Record<string, string> = {
  business: '商务', presentation: '演示', report: '汇报',
  tech: '科技', innovation: '创新', startup: '创业',
  education: '教育', training: '培训', course: '课程',
  marketing: '营销', launch: '发布会', sales: '销售',
  design: '设计', portfolio: '作品集', keynote: '主题演讲',
  academic: '学术', research: '研究', thesis: '论文',
  culture: '文化', festival: '节庆', brand: '品牌',
  lifestyle: '生活', hr: '人事',
  workshop: '工作坊', brainstorm: '头脑风暴',
  story: '故事', fashion: '时尚',
  data: '数据', analytics: '分析',
  kids: '少儿', playful: '趣味',
}

export function tagLabel(locale: Locale, tag: string): string {
  return locale === 'zh' ? TAG_LABELS_ZH[tag.toLowerCase()] ?? tag : tag
}

export type MessageParams = Record<string, string | number>
export type Translate = (key: MessageKey, params?: MessageParams) => string

export function translate(locale: Locale, key: MessageKey, params?: MessageParams): string {
  const template = MESSAGES[locale][key] ?? MESSAGES.zh[key]
  if (!params) return template
  return template.replace(/\{(\w+)\}/g, (match, name: string) => (name in params ? String(params[name]) : match))
}

/** A title for display next to the drawn banana icon (the emoji stays in accessible names). */
export function withoutEmoji(text: string): string {
  return text.replace('🍌', '').trim()
}

export function formatDuration(t: Translate, totalSeconds: number): string {
  const seconds = Math.max(0, Math.round(totalSeconds))
  if (seconds < 60) return t('seconds', { n: seconds })
  return t('minutes', { m: Math.floor(seconds / 60), s: seconds % 60 })
}

/** `t` bound to the plugin's configured locale (Chinese when the plugin is not installed). */
export function useI18n(): { t: Translate; locale: ComputedRef<Locale> } {
  const config = inject(CONFIG_KEY, null)
  const locale = computed<Locale>(() => config?.locale ?? 'zh')
  const t: Translate = (key, params) => translate(locale.value, key, params)
  return { t, locale }
}
