import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import BatchGenerationDialog from '../../plugin/components/BatchGenerationDialog.vue'
import { useNanoBananaStore } from '../../plugin/store/nanoBanana'
import { STORAGE_KEY } from '../../plugin/composables/useRememberedOptions'
import { fakeApi, GEMINI_HEALTH, GPT_IMAGE_MODELS, httpError, networkError, PREVIEW_HEALTH, TEMPLATES } from './fakes/proxyApi'
import { toUserError } from '../../plugin/api/errors'
import { translate } from '../../plugin/i18n/messages'
import { fakeController, flush, mountPlugin } from './helpers/mountPlugin'
import { useMainStore, useSlidesStore } from './fakes/pptistStores'
import { deck } from './fixtures/deck'

describe('BatchGenerationDialog', () => {
  let wrapper: VueWrapper | undefined

  beforeEach(() => localStorage.removeItem(STORAGE_KEY))
  afterEach(() => wrapper?.unmount())

  async function open(extra: Parameters<typeof mountPlugin>[1] = {}) {
    const mounted = await mountPlugin(BatchGenerationDialog, { props: { visible: true, teleport: false }, ...extra })
    wrapper = mounted.wrapper
    await flush()
    await flush()
    return mounted
  }

  const summary = () => wrapper!.find('.summary').text()
  const problems = () => wrapper!.findAll('.problem').map(p => p.text())
  const startButton = () => wrapper!.find('.start-btn')
  const chooseRadio = async (group: string, value: string) => {
    await wrapper!.find(`.${group} [data-value="${value}"]`).trigger('click')
  }

  it('defaults to all slides of the deck with the first template, and shows count, time and cost at 2K', async () => {
    await open()
    expect(wrapper!.find('[role="option"][aria-selected="true"]').attributes('data-id')).toBe('nano_banana_1')
    expect(summary()).toContain('5 页')
    // 5 × $0.134 at 2K
    expect(summary()).toContain('预计费用 $0.67')
    // style chain: page 1 alone, then 4 pages two at a time: 3 × 25 s
    expect(summary()).toContain('预计 1 分 15 秒')
    expect(problems()).toEqual([])
    expect(startButton().attributes('disabled')).toBeUndefined()
  })

  it('4K raises the price per image to $0.24', async () => {
    await open()
    await chooseRadio('resolution', '4K')
    expect(summary()).toContain('预计费用 $1.20')
  })

  it('offers only the sizes of the proxy\'s model; an unknown price shows as unknown, not as a number', async () => {
    await open({ api: fakeApi({ models: vi.fn(async () => GPT_IMAGE_MODELS) }).api })
    expect(wrapper!.findAll('.resolution [data-value]').map(b => b.attributes('data-value'))).toEqual(['1K', '2K'])
    expect(summary()).toContain('费用未知')
    expect(summary()).not.toMatch(/\$\d/)
    expect(wrapper!.find('.estimate-cost').attributes('title')).toContain('PRICE_PER_IMAGE_USD')
  })

  it('a remembered size the model lacks falls back to the proxy\'s default size', async () => {
    await open()
    await chooseRadio('resolution', '4K')
    wrapper!.unmount()
    wrapper = undefined
    await open({ api: fakeApi({ models: vi.fn(async () => GPT_IMAGE_MODELS) }).api })
    expect(wrapper!.find('.resolution [aria-checked="true"]').attributes('data-value')).toBe('2K')
  })

  it('a proxy without /models: all three sizes, price unknown', async () => {
    await open({ api: fakeApi({ models: vi.fn(async () => { throw new Error('404') }) }).api })
    expect(wrapper!.findAll('.resolution [data-value]')).toHaveLength(3)
    expect(summary()).toContain('费用未知')
  })

  it('the offline preview provider costs nothing and says so', async () => {
    await open({ api: fakeApi({ health: vi.fn(async () => PREVIEW_HEALTH) }).api })
    expect(summary()).toContain('$0 · 离线预览（免费）')
  })

  it('current slide → 1 page', async () => {
    await open()
    await chooseRadio('scope', 'current')
    expect(summary()).toContain('1 页')
    expect(summary()).toContain('$0.13')
  })

  it('validates a range and explains what is wrong', async () => {
    await open()
    await chooseRadio('scope', 'range')
    const input = wrapper!.find('.range-input')
    await input.setValue('1-2,5')
    expect(summary()).toContain('3 页')
    expect(problems()).toEqual([])

    await input.setValue('1-3,9')
    expect(problems()).toEqual(['第 9 页不存在（共 5 页）。'])
    expect(startButton().attributes('disabled')).toBeDefined()
    expect(wrapper!.find('.range-input').attributes('aria-invalid')).toBe('true')

    await input.setValue('4-2')
    expect(problems()).toEqual(['“4-2”的起始页大于结束页。'])
    await input.setValue('abc')
    expect(problems()).toEqual(['无法识别“abc”，请使用如 1-3,5 的格式。'])
    await input.setValue('')
    expect(problems()).toEqual(['请输入页码，例如 1-3,5。'])
  })

  it('asks for a template when the proxy has none', async () => {
    await open({ api: fakeApi({ templates: vi.fn(async () => []) }).api })
    expect(problems()).toContain('请先选择一个风格模板。')
    expect(startButton().attributes('disabled')).toBeDefined()
  })

  it('after an outage keeps the remembered template, says only what is wrong, and recovers when the proxy answers', async () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ templateId: 'nano_banana_3' }))
    // fake time that also runs on its own, so the helpers' setTimeout(0) flushes still resolve
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'], shouldAdvanceTime: true })
    try {
      let up = false
      const api = fakeApi({
        health: vi.fn(async () => {
          if (!up) throw networkError()
          return GEMINI_HEALTH
        }),
        templates: vi.fn(async () => {
          if (!up) throw networkError()
          return TEMPLATES
        }),
      }).api
      await open({ api })
      expect(wrapper!.find('.template-selector .state.error').exists()).toBe(true)
      expect(problems()).not.toContain('请先选择一个风格模板。')
      // nothing can start, and no estimate is guessed without the proxy (tester m7)
      expect(startButton().attributes('disabled')).toBeDefined()
      expect(startButton().attributes('title')).toBe('生成服务暂时无法连接，连上后即可开始')
      expect(summary()).toContain('生成服务暂时无法连接')
      expect(summary()).not.toContain('预计')
      expect(summary()).not.toContain('费用未知')

      up = true
      await vi.advanceTimersByTimeAsync(3500)
      await flush()
      await flush()
      expect(wrapper!.find('[role="option"][aria-selected="true"]').attributes('data-id')).toBe('nano_banana_3')
      expect(summary()).toContain('预计费用 $0.67')
      expect(problems()).toEqual([])
      expect(startButton().attributes('disabled')).toBeUndefined()
    }
    finally {
      vi.useRealTimers()
    }
  })

  it('explains each mode in one line', async () => {
    await open()
    expect(wrapper!.find('.mode-hint').text()).toContain('原有元素移除，文字保存到备注中')
    await chooseRadio('mode', 'background')
    expect(wrapper!.find('.mode-hint').text()).toContain('保留可编辑的文字元素')
    expect(wrapper!.find('.mode-hint').text()).toContain('文字颜色会按背景自动调整以保证可读')
  })

  it('starts the batch with the chosen slides and options, then closes', async () => {
    const controller = fakeController()
    const { slidesStore } = await open({ controller })
    controller.start.mockImplementation(async () => {
      useNanoBananaStore().startBatch('b9', 'background', [{ slide_id: 'table01' }])
      return true
    })
    slidesStore.viewportRatio = 0.75
    await wrapper!.find('[role="option"][data-id="nano_banana_3"]').trigger('click')
    await chooseRadio('scope', 'range')
    await wrapper!.find('.range-input').setValue('3,5')
    await chooseRadio('mode', 'background')
    await chooseRadio('resolution', '1K')
    await wrapper!.find('.style-chain').trigger('click')
    await wrapper!.find('.embed').trigger('click')
    await wrapper!.find('.language').setValue('en')
    await wrapper!.find('.extra-prompt').setValue('  多用插画  ')
    await startButton().trigger('click')
    await flush()

    expect(controller.start).toHaveBeenCalledWith({
      templateId: 'nano_banana_3',
      slideIds: ['table01', 'end01'],
      embed: true,
      options: {
        aspect_ratio: '4:3', resolution: '1K', mode: 'background', language: 'en',
        extra_prompt: '多用插画', style_chain: false,
      },
    })
    expect(wrapper!.emitted('started')).toEqual([['b9']])
    expect(wrapper!.emitted('update:visible')).toEqual([[false]])
    // remembered for next time
    expect(JSON.parse(localStorage.getItem(STORAGE_KEY)!)).toMatchObject({ templateId: 'nano_banana_3', resolution: '1K', mode: 'background' })
  })

  describe('text language in images follows the deck, not the UI', () => {
    const englishDeck = deck.map((slide, i) => ({
      ...slide,
      remark: '',
      elements: [{
        id: `t${i}`, type: 'text', textType: 'title', left: 100, top: 100, width: 800, height: 80, rotate: 0,
        defaultFontName: '', defaultColor: '#333', content: `<p><span style="font-size: 40px;">Quarterly results, part ${i + 1}</span></p>`,
      }] as typeof slide.elements,
    }))
    const language = () => (wrapper!.find('.language').element as HTMLSelectElement).value
    const reopen = async (slides = deck) => {
      await wrapper!.setProps({ visible: false })
      useSlidesStore().setSlides(structuredClone(slides))
      await wrapper!.setProps({ visible: true })
      await flush()
    }

    it('English UI, Chinese deck → Chinese; Chinese UI, English deck → English', async () => {
      await open({ locale: 'en' })
      expect(language()).toBe('zh')
      wrapper!.unmount()
      wrapper = undefined
      localStorage.removeItem(STORAGE_KEY)

      await open()
      await reopen(englishDeck)
      expect(language()).toBe('en')
    })

    it('keeps a language the user picked, across decks and sessions', async () => {
      await open({ locale: 'en' })
      await wrapper!.find('.language').setValue('ja')
      await reopen(englishDeck)
      expect(language()).toBe('ja')
      expect(JSON.parse(localStorage.getItem(STORAGE_KEY)!)).toMatchObject({ language: 'ja', languageChosen: true })
      // picking what the deck suggests goes back to following the deck
      await wrapper!.find('.language').setValue('en')
      await reopen(deck)
      expect(language()).toBe('zh')
    })

    it('a language remembered before this rule existed stays when it was picked by hand', async () => {
      localStorage.setItem(STORAGE_KEY, JSON.stringify({ templateId: 'nano_banana_2', language: 'fr' }))
      await open()
      expect(language()).toBe('fr')
      wrapper!.unmount()
      // the locale's default was never picked: the deck decides
      localStorage.setItem(STORAGE_KEY, JSON.stringify({ templateId: 'nano_banana_2', language: 'en' }))
      await open({ locale: 'en' })
      expect(language()).toBe('zh')
    })
  })

  it('pre-fills the range from PPTist\'s thumbnail multi-selection', async () => {
    const mounted = await mountPlugin(BatchGenerationDialog, { props: { visible: false, teleport: false } })
    wrapper = mounted.wrapper
    useMainStore().selectedSlidesIndex = [0, 1, 2, 4]
    await wrapper.setProps({ visible: true })
    await flush()
    expect((wrapper.find('.range-input').element as HTMLInputElement).value).toBe('1-3,5')
    expect(summary()).toContain('4 页')
  })

  it('shows a start failure in words and stays open', async () => {
    const controller = fakeController()
    await open({ controller })
    controller.start.mockImplementation(async () => {
      useNanoBananaStore().setError({ kind: 'unreachable', message: '无法连接到生成服务 http://127.0.0.1:8787' })
      return false
    })
    await startButton().trigger('click')
    await flush()
    expect(wrapper!.find('.server-error').text()).toContain('http://127.0.0.1:8787')
    expect(wrapper!.emitted('update:visible')).toBeUndefined()
  })

  it('a configuration failure reads in Chinese only; the proxy\'s English detail is the tooltip', async () => {
    const controller = fakeController()
    await open({ controller })
    controller.start.mockImplementation(async () => {
      const error = toUserError(httpError(500, { error: { code: 'model_not_found', message: 'Gemini does not know the model "gemini-9"' } }),
        (key, params) => translate('zh', key, params), 'http://127.0.0.1:8787')
      useNanoBananaStore().setError(error)
      return false
    })
    await startButton().trigger('click')
    await flush()
    const shown = wrapper!.find('.server-error')
    expect(shown.text()).toBe('生成服务配置的模型不存在：请联系管理员检查模型名称。')
    expect(shown.attributes('title')).toBe('Gemini does not know the model "gemini-9"')
  })

  it('refuses to start a second batch while one runs', async () => {
    await open()
    useNanoBananaStore().startBatch('b1', 'full', [{ slide_id: 'cover01' }])
    await flush()
    expect(problems()).toContain('已有任务在进行中，请等待完成或取消后再开始。')
    expect(startButton().attributes('disabled')).toBeDefined()
  })

  it('an empty deck cannot be generated', async () => {
    await open()
    useSlidesStore().setSlides([])
    await flush()
    expect(problems()).toContain('演示文稿中没有幻灯片。')
  })

  it('speaks English with locale en', async () => {
    await open({ locale: 'en' })
    expect(summary()).toContain('5 slides')
    expect(summary()).toContain('estimated cost $0.67')
    expect(wrapper!.find('.start-btn').text()).toBe('Generate')
  })
})
