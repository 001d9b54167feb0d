import { afterEach, describe, expect, it, vi } from 'vitest'
import TemplateSelector from '../../plugin/components/TemplateSelector.vue'
import { fakeApi, networkError, TEMPLATES } from './fakes/proxyApi'
import { flush, mountPlugin, SERVER } from './helpers/mountPlugin'
import { NANO_BANANA_TEMPLATES } from '../../plugin/configs/nanoBananaTemplates'
import { tagLabel } from '../../plugin/i18n/messages'

describe('TemplateSelector', () => {
  let unmount: (() => void) | undefined
  afterEach(() => unmount?.())

  async function mountSelector(modelValue = 'nano_banana_1', extra: Parameters<typeof mountPlugin>[1] = {}) {
    const mounted = await mountPlugin(TemplateSelector, { props: { modelValue }, ...extra })
    unmount = () => mounted.wrapper.unmount()
    await flush()
    return mounted
  }

  it('shows every template from GET /templates with images resolved against the server URL', async () => {
    const { wrapper } = await mountSelector()
    const options = wrapper.findAll('[role="option"]')
    expect(options).toHaveLength(TEMPLATES.length)
    const images = wrapper.findAll('img').map(img => img.attributes('src'))
    expect(images).toEqual([
      `${SERVER}/imgs/nano_banana/business_pro.thumb.jpg`, // thumbnail preferred
      `${SERVER}/imgs/nano_banana/tech_future.png`, // cover when no thumbnail
      `${SERVER}/imgs/nano_banana/edu.png`,
      `${SERVER}/imgs/nano_banana/mono.png`,
    ])
    expect(options[0].text()).toContain('专业商务风')
    expect(options[0].text()).toContain('适合商务汇报的蓝色主题')
    expect(options[0].findAll('.tag').map(tag => tag.text())).toEqual(['商务', '汇报'])
    expect(options[0].findAll('.swatch').map(s => s.attributes('title'))).toEqual(['#2563eb', '#1e40af'])
    expect(options[0].find('.swatch').attributes('style')).toContain('#2563eb')
  })

  it('clamps a description to two lines and offers its full text in the host\'s tooltip (escaped), else as a title', async () => {
    const long = '<b>蓝色</b>主题，'.repeat(12)
    const templates = TEMPLATES.map((tpl, i) => (i === 0 ? { ...tpl, description: long } : tpl))
    const seen: string[] = []
    const tooltip = { mounted: (_el: HTMLElement, binding: { value: string }) => { seen.push(binding.value) } }
    const { wrapper } = await mountSelector('nano_banana_1', { api: fakeApi({ templates: vi.fn(async () => templates) }).api, directives: { tooltip } })
    const description = wrapper.find('[data-id="nano_banana_1"] .description')
    expect(description.text()).toBe(long) // the whole text is in the card; CSS shows two lines of it
    expect(seen).toContain(long.replace(/</g, '&#60;').replace(/>/g, '&#62;'))
    unmount?.()
    const plain = await mountSelector('nano_banana_1', { api: fakeApi({ templates: vi.fn(async () => templates) }).api })
    expect(plain.wrapper.find('[data-id="nano_banana_1"] .description').attributes('title')).toBe(long)
  })

  it('marks the selected template for assistive tech and emits on click', async () => {
    const { wrapper } = await mountSelector('nano_banana_2')
    const options = wrapper.findAll('[role="option"]')
    expect(wrapper.find('[role="listbox"]').exists()).toBe(true)
    expect(options.map(o => o.attributes('aria-selected'))).toEqual(['false', 'true', 'false', 'false'])
    expect(options[1].attributes('tabindex')).toBe('0')
    await options[2].trigger('click')
    expect(wrapper.emitted('update:modelValue')).toEqual([['nano_banana_3']])
  })

  it('is keyboard operable: arrows move focus through the grid, Enter and Space choose', async () => {
    const { wrapper } = await mountSelector('nano_banana_1')
    const grid = wrapper.find('[role="listbox"]')
    await grid.trigger('keydown', { key: 'ArrowRight' })
    await flush()
    expect(wrapper.findAll('[role="option"]')[1].attributes('tabindex')).toBe('0')
    expect(document.activeElement).toBe(wrapper.findAll('[role="option"]')[1].element)
    await grid.trigger('keydown', { key: 'Enter' })
    await grid.trigger('keydown', { key: 'ArrowDown' }) // 3 columns: 2nd → (clamped) last
    await grid.trigger('keydown', { key: ' ' })
    await grid.trigger('keydown', { key: 'Home' })
    await grid.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('update:modelValue')).toEqual([['nano_banana_2'], ['nano_banana_4'], ['nano_banana_1']])
  })

  it('shows at most three "recommended for" tags, in Chinese; an unknown tag as it is', async () => {
    const many = { ...TEMPLATES[0], metadata: { ...TEMPLATES[0].metadata, recommended_for: ['marketing', 'launch', 'sales', 'kids', 'zine'] } }
    const odd = { ...TEMPLATES[1], metadata: { ...TEMPLATES[1].metadata, recommended_for: ['zine', 'presentation'] } }
    const { api } = fakeApi({ templates: async () => [many, odd] })
    const { wrapper } = await mountSelector('nano_banana_1', { api })
    const tags = wrapper.findAll('[role="option"]').map(option => option.findAll('.tag').map(tag => tag.text()))
    expect(tags).toEqual([['营销', '发布会', '销售'], ['zine', '演示']])
    // every tag is still named in full on hover
    expect(wrapper.find('.tags').attributes('title')).toBe('营销 · 发布会 · 销售 · 少儿 · zine')
  })

  it('keeps the tags in English with locale en', async () => {
    const { wrapper } = await mountSelector('nano_banana_1', { locale: 'en' })
    expect(wrapper.findAll('[role="option"]')[0].findAll('.tag').map(tag => tag.text())).toEqual(['business', 'report'])
  })

  it('has a Chinese label for every tag the template catalogue uses', () => {
    const tags = new Set(NANO_BANANA_TEMPLATES.flatMap(template => template.metadata.recommended_for))
    const untranslated = [...tags].filter(tag => tagLabel('zh', tag) === tag)
    expect(untranslated).toEqual([])
    expect(tagLabel('zh', 'no-such-tag')).toBe('no-such-tag')
  })

  it('shows English names with locale en', async () => {
    const { wrapper } = await mountSelector('nano_banana_1', { locale: 'en' })
    expect(wrapper.findAll('.name')[0].text()).toBe('Business Pro')
    expect(wrapper.findAll('.name')[1].text()).toBe('科技未来感') // no English name: falls back
  })

  it('explains an unreachable proxy with its URL and can reload', async () => {
    const templates = vi.fn().mockRejectedValueOnce(networkError()).mockResolvedValueOnce(TEMPLATES)
    const { wrapper } = await mountSelector('', { api: fakeApi({ templates }).api })
    expect(wrapper.find('[role="alert"]').text()).toContain(SERVER)
    await wrapper.find('[role="alert"] button').trigger('click')
    await flush()
    expect(wrapper.findAll('[role="option"]')).toHaveLength(4)
    expect(wrapper.emitted('loaded')).toHaveLength(1)
  })
})
