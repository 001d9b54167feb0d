import { afterEach, describe, expect, it, vi } from 'vitest'
import TemplateSelector from '../../plugin/components/TemplateSelector.vue'
import { fakeApi, networkError, TEMPLATES } from './fakes/proxyApi'
import { flush, mountPlugin, SERVER } from './helpers/mountPlugin'

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
    expect(options[0].text()).toContain('business')
    expect(options[0].findAll('.swatch').map(s => s.attributes('title'))).toEqual(['#2563eb', '#1e40af'])
    expect(options[0].find('.swatch').attributes('style')).toContain('#2563eb')
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
