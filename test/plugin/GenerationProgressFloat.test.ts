import { afterEach, describe, expect, it } from 'vitest'
import type { VueWrapper } from '@vue/test-utils'
import GenerationProgressFloat from '../../plugin/components/GenerationProgressFloat.vue'
import { useNanoBananaStore } from '../../plugin/store/nanoBanana'
import type { PageResult } from '../../plugin/types/api'
import { pageResult } from './fakes/proxyApi'
import { fakeController, flush, mountPlugin, SERVER } from './helpers/mountPlugin'

/** A page the proxy finished whose image the controller has put on its slide. */
function landed(store: ReturnType<typeof useNanoBananaStore>, result: PageResult) {
  store.upsertPage(result)
  store.markApplied(result.page_number)
}

describe('GenerationProgressFloat', () => {
  let wrapper: VueWrapper | undefined
  afterEach(() => wrapper?.unmount())

  async function showBatch(locale?: 'en') {
    const controller = fakeController()
    const mounted = await mountPlugin(GenerationProgressFloat, { props: { teleport: false }, controller, locale })
    wrapper = mounted.wrapper
    const store = useNanoBananaStore()
    store.startBatch('b1', 'full', ['cover01', 'contents01', 'table01', 'chart01'].map(slide_id => ({ slide_id })))
    store.setStatus('generating')
    landed(store, pageResult(1, 'cover01', 'completed'))
    store.upsertPage(pageResult(2, 'contents01', 'generating'))
    store.upsertPage(pageResult(3, 'table01', 'failed', { error_code: 'safety_refused', error_message: 'IMAGE_SAFETY' }))
    store.setRemaining(42)
    await flush()
    return { controller, store }
  }

  const statuses = () => wrapper!.findAll('.status-text').map(s => s.text())

  it('shows overall progress, n / m, time left and each page\'s status', async () => {
    await showBatch()
    expect(wrapper!.find('.count').text()).toBe('2 / 4')
    expect(wrapper!.find('.percentage').text()).toBe('50%')
    expect(wrapper!.find('[role="progressbar"]').attributes('aria-valuenow')).toBe('50')
    expect(wrapper!.find('.bar-fill').attributes('style')).toContain('width: 50%')
    expect(wrapper!.find('.remaining').text()).toBe('剩余约 42 秒')
    expect(statuses()).toEqual(['已完成', '绘制中', '失败', '等待中'])
    expect(wrapper!.find('[data-page="1"] img').attributes('src')).toBe(`${SERVER}/api/v1/images/p1.thumb.jpg`)
    expect(wrapper!.find('[data-page="2"] .spinner').exists()).toBe(true)
  })

  it('a page whose slide the user deleted offers neither 修改 nor 还原 nor 重试, and says so (tester N6); undoing the deletion brings them back', async () => {
    const { controller, store } = await showBatch()
    let deleted = new Set([1, 3])
    controller.slideExists.mockImplementation((n: number) => !deleted.has(n))
    // the float reads the deck again when the store changes (the host's deck is reactive in PPTist)
    store.setRemaining(41)
    await flush()
    expect(statuses()).toEqual(['页面已删除，已跳过', '绘制中', '页面已删除，已跳过', '等待中'])
    for (const n of [1, 3]) {
      expect(wrapper!.find(`[data-page="${n}"] .revise-btn`).exists()).toBe(false)
      expect(wrapper!.find(`[data-page="${n}"] .restore-btn`).exists()).toBe(false)
      expect(wrapper!.find(`[data-page="${n}"] .retry-btn`).exists()).toBe(false)
    }
    deleted = new Set()
    store.setRemaining(40)
    await flush()
    expect(statuses()).toEqual(['已完成', '绘制中', '失败', '等待中'])
    expect(wrapper!.find('[data-page="1"] .revise-btn').exists()).toBe(true)
    expect(wrapper!.find('[data-page="3"] .retry-btn').exists()).toBe(true)
  })

  it('a page the proxy finished says "loading image" and offers no restore until its image is on the slide', async () => {
    const { store } = await showBatch()
    store.upsertPage(pageResult(2, 'contents01', 'completed'))
    await flush()
    expect(statuses()[1]).toBe('载入图片中')
    expect(wrapper!.find('[data-page="2"]').classes()).toContain('loading')
    expect(wrapper!.find('[data-page="2"] .restore-btn').exists()).toBe(false)
    store.markApplied(2)
    await flush()
    expect(statuses()[1]).toBe('已完成')
    expect(wrapper!.find('[data-page="2"]').classes()).not.toContain('loading')
    expect(wrapper!.find('[data-page="2"] .restore-btn').exists()).toBe(true)
    // a revision brings a new image: loading again until that one is on the slide
    store.upsertPage(pageResult(2, 'contents01', 'completed', { image_url: '/api/v1/images/p2-revised.png' }))
    await flush()
    expect(statuses()[1]).toBe('载入图片中')
  })

  it('while the proxy cannot be reached: "reconnecting", no time left, no spinners; back to normal when it answers', async () => {
    const { store } = await showBatch()
    store.setConnection('reconnecting')
    await flush()
    expect(wrapper!.find('.reconnecting').text()).toBe('正在重新连接生成服务…')
    expect(wrapper!.find('.remaining').exists()).toBe(false)
    expect(wrapper!.find('.spinner').exists()).toBe(false)
    store.setConnection('ok')
    await flush()
    expect(wrapper!.find('.reconnecting').exists()).toBe(false)
    expect(wrapper!.find('.remaining').text()).toBe('剩余约 42 秒')
    expect(wrapper!.find('[data-page="2"] .spinner').exists()).toBe(true)
  })

  it('offers "restore" per finished page and for the whole batch once it is over', async () => {
    const { store, controller } = await showBatch()
    expect(wrapper!.find('[data-page="1"] .restore-btn').text()).toBe('还原')
    expect(wrapper!.find('[data-page="2"] .restore-btn').exists()).toBe(false)
    expect(wrapper!.find('.restore-all-btn').exists()).toBe(false)
    await wrapper!.find('[data-page="1"] .restore-btn').trigger('click')
    expect(controller.restore).toHaveBeenCalledWith([1])
    landed(store, pageResult(2, 'contents01', 'completed'))
    landed(store, pageResult(4, 'chart01', 'completed'))
    store.setStatus('partial')
    await flush()
    await wrapper!.find('.restore-all-btn').trigger('click')
    expect(controller.restore).toHaveBeenLastCalledWith()
    store.markRestored(1)
    await flush()
    expect(statuses()[0]).toBe('已恢复可编辑')
    expect(wrapper!.find('[data-page="1"] .restore-btn').exists()).toBe(false)
  })

  it('says "waiting for quota" while the proxy holds calls back after a rate limit (zh and en)', async () => {
    const { store } = await showBatch()
    expect(wrapper!.find('.quota').exists()).toBe(false)
    store.setWaitingForQuota(true)
    await flush()
    expect(wrapper!.find('.quota').text()).toBe('等待配额')
    expect(wrapper!.find('.quota').attributes('title')).toContain('配额')
    store.setWaitingForQuota(false)
    await flush()
    expect(wrapper!.find('.quota').exists()).toBe(false)
    wrapper!.unmount()
    const en = await showBatch('en')
    en.store.setWaitingForQuota(true)
    await flush()
    expect(wrapper!.find('.quota').text()).toBe('waiting for quota')
  })

  it('says "waiting for budget" while pages wait for the proxy\'s spend budget (zh and en)', async () => {
    const { store } = await showBatch()
    expect(wrapper!.find('.budget').exists()).toBe(false)
    store.setWaitingForBudget(true)
    await flush()
    expect(wrapper!.find('.budget').text()).toBe('等待预算')
    expect(wrapper!.find('.budget').attributes('title')).toMatch(/预算.*不会因此失败/)
    store.setStatus('cancelled')
    await flush()
    expect(wrapper!.find('.budget').exists()).toBe(false)
    wrapper!.unmount()
    const en = await showBatch('en')
    en.store.setWaitingForBudget(true)
    await flush()
    expect(wrapper!.find('.budget').text()).toBe('waiting for budget')
    expect(wrapper!.find('.budget').attributes('title')).toContain('do not fail')
  })

  it('while pages wait for budget: no page time estimate, the proxy\'s wait instead when it gives one (zh and en)', async () => {
    const { store } = await showBatch()
    expect(wrapper!.find('.remaining').text()).toBe('剩余约 42 秒')
    store.setWaitingForBudget(true)
    store.setRemaining(1)
    await flush()
    // the wait is not known: no fake "about 1 s left", no resume time either
    expect(wrapper!.find('.remaining').exists()).toBe(false)
    expect(wrapper!.find('.budget-resumes').exists()).toBe(false)
    store.setWaitingForBudget(true, 540)
    store.setRemaining(560)
    await flush()
    expect(wrapper!.find('.remaining').exists()).toBe(false)
    expect(wrapper!.find('.budget-resumes').text()).toBe('约 9 分钟后继续')
    store.setWaitingForBudget(true, 15 * 3600)
    await flush()
    expect(wrapper!.find('.budget-resumes').text()).toBe('约 15 小时后继续')
    store.setWaitingForBudget(false, 540)
    await flush()
    expect(wrapper!.find('.budget-resumes').exists()).toBe(false)
    expect(wrapper!.find('.remaining').text()).toBe('剩余约 9 分 20 秒')
    wrapper!.unmount()
    const en = await showBatch('en')
    en.store.setWaitingForBudget(true, 61)
    await flush()
    expect(wrapper!.find('.budget-resumes').text()).toBe('resumes in about 2 min')
    expect(wrapper!.find('.remaining').exists()).toBe(false)
  })

  it('says why a page failed in words the user can act on', async () => {
    await showBatch()
    expect(wrapper!.find('[data-page="3"] .reason').text()).toBe('模型的安全过滤拒绝了这一页：请改写这页的文字或补充要求后重试。')
  })

  it('a failed page\'s reason is in the UI\'s language; the proxy\'s English words stay in the tooltip', async () => {
    const { store } = await showBatch()
    store.upsertPage(pageResult(4, 'chart01', 'failed', { error_code: 'interrupted', error_message: 'interrupted — retry' }))
    store.upsertPage(pageResult(2, 'contents01', 'failed', {
      error_code: 'upstream_unavailable', error_message: 'Gemini is unavailable or overloaded (gave up after 3 retries)',
    }))
    await flush()
    const reason = (n: number) => wrapper!.find(`[data-page="${n}"] .reason`)
    expect(reason(4).text()).toBe('生成服务重启，这一页被中断：请点“重试”。')
    expect(reason(4).attributes('title')).toContain('interrupted — retry')
    expect(reason(2).text()).toBe('图像服务暂时不可用或过载：请稍后重试。')
    expect(reason(2).attributes('title')).toContain('Gemini is unavailable or overloaded (gave up after 3 retries)')
    // a code the extension does not know yet: the proxy's message is all there is
    store.upsertPage(pageResult(2, 'contents01', 'failed', { error_code: 'brand_new', error_message: 'new upstream trouble' }))
    await flush()
    expect(reason(2).text()).toBe('new upstream trouble')
  })

  it('a failed page\'s reason is in English with locale en', async () => {
    await showBatch('en')
    expect(wrapper!.find('[data-page="3"] .reason').text()).toBe('The model\'s safety filter refused this slide: rephrase its text or the extra instructions, then retry.')
  })

  it('wires retry one, retry all failed, cancel and jump-to-slide to the controller', async () => {
    const { controller } = await showBatch()
    await wrapper!.find('[data-page="3"] .retry-btn').trigger('click')
    expect(controller.retryPage).toHaveBeenCalledWith(3)
    expect(wrapper!.find('[data-page="1"] .retry-btn').exists()).toBe(false)
    await wrapper!.find('.retry-all-btn').trigger('click')
    expect(controller.retryFailed).toHaveBeenCalledOnce()
    await wrapper!.find('[data-page="2"] .thumb').trigger('click')
    expect(controller.jumpTo).toHaveBeenCalledWith(2)
    await wrapper!.find('.cancel-btn').trigger('click')
    expect(controller.cancel).toHaveBeenCalledOnce()
  })

  it('offers "修改" on finished pages: a short instruction, Enter sends it as a retry of that page', async () => {
    const { controller } = await showBatch()
    expect(wrapper!.find('[data-page="1"] .revise-btn').text()).toBe('修改')
    // not on waiting or drawing pages
    for (const n of [2, 4]) expect(wrapper!.find(`[data-page="${n}"] .revise-btn`).exists()).toBe(false)
    expect(wrapper!.find('.revise-box').exists()).toBe(false)

    await wrapper!.find('[data-page="1"] .revise-btn').trigger('click')
    await flush()
    const input = wrapper!.find('.revise-box input')
    expect(wrapper!.find('.revise-box label').text()).toBe('修改第 1 页')
    expect(document.activeElement).toBe(input.element)
    // an empty instruction sends nothing
    await input.trigger('keydown', { key: 'Enter' })
    expect(controller.retryPage).not.toHaveBeenCalled()
    await input.setValue('标题更大一些')
    await input.trigger('keydown', { key: 'Enter' })
    expect(controller.retryPage).toHaveBeenCalledWith(1, '标题更大一些')
    expect(wrapper!.find('.revise-box').exists()).toBe(false)
  })

  it('a failed page offers 修改 beside 重试: another instruction instead of repeating the failed one', async () => {
    const { controller } = await showBatch()
    expect(wrapper!.find('[data-page="3"] .retry-btn').text()).toBe('重试')
    expect(wrapper!.find('[data-page="3"] .revise-btn').text()).toBe('修改')
    await wrapper!.find('[data-page="3"] .revise-btn').trigger('click')
    await flush()
    expect(wrapper!.find('.revise-box label').text()).toBe('修改第 3 页')
    await wrapper!.find('.revise-box input').setValue('不要人物，只用图表')
    await wrapper!.find('.revise-box input').trigger('keydown', { key: 'Enter' })
    expect(controller.retryPage).toHaveBeenCalledWith(3, '不要人物，只用图表')
    // 重试 still repeats the page as it was asked (no instruction from here)
    await wrapper!.find('[data-page="3"] .retry-btn').trigger('click')
    expect(controller.retryPage).toHaveBeenLastCalledWith(3)
  })

  it('Esc closes the revise box without sending; a skipped page cannot be revised', async () => {
    const { controller, store } = await showBatch()
    await wrapper!.find('[data-page="1"] .revise-btn').trigger('click')
    await flush()
    await wrapper!.find('.revise-box input').setValue('换成暖色调')
    await wrapper!.find('.revise-box input').trigger('keydown', { key: 'Escape' })
    expect(wrapper!.find('.revise-box').exists()).toBe(false)
    expect(controller.retryPage).not.toHaveBeenCalled()
    store.markSkipped(1)
    await flush()
    expect(wrapper!.find('[data-page="1"] .revise-btn').exists()).toBe(false)
  })

  it('cannot be closed while running; ends with a summary and a close button', async () => {
    const { store } = await showBatch()
    expect(wrapper!.find('.close-btn').exists()).toBe(false)
    expect(wrapper!.find('.summary').exists()).toBe(false)
    landed(store, pageResult(2, 'contents01', 'completed'))
    landed(store, pageResult(4, 'chart01', 'completed'))
    store.setStatus('partial')
    await flush()
    expect(wrapper!.find('.summary').text()).toBe('3 页完成，1 页失败')
    expect(wrapper!.find('.cancel-btn').exists()).toBe(false)
    expect(wrapper!.find('.percentage').text()).toBe('100%')
    await wrapper!.find('.close-action').trigger('click')
    expect(store.floatVisible).toBe(false)
    expect(wrapper!.find('.nb-progress-float').exists()).toBe(false)
  })

  it('minimises to its header and bar, and restores', async () => {
    await showBatch()
    await wrapper!.find('.minimise-btn').trigger('click')
    expect(wrapper!.find('.body').attributes('style')).toContain('display: none')
    expect(wrapper!.find('[role="progressbar"]').exists()).toBe(true)
    await wrapper!.find('.minimise-btn').trigger('click')
    expect(wrapper!.find('.body').attributes('style') ?? '').not.toContain('display: none')
  })

  /** drags the panel by its header; happy-dom has no layout, so the panel reports where its style puts it */
  async function dragHeaderBy(dx: number, dy: number) {
    const panel = () => wrapper!.find('.nb-progress-float').element as HTMLElement
    const left = parseFloat(panel().style.left)
    const top = parseFloat(panel().style.top)
    panel().getBoundingClientRect = () => ({ left, top, x: left, y: top, width: 340, height: 300, right: left + 340, bottom: top + 300, toJSON: () => '' })
    const start = { clientX: left + 100, clientY: top + 10 }
    const end = { clientX: start.clientX + dx, clientY: start.clientY + dy }
    wrapper!.find('.header').element.dispatchEvent(new PointerEvent('pointerdown', { ...start, pointerType: 'mouse', button: 0, bubbles: true }))
    window.dispatchEvent(new PointerEvent('pointermove', { ...end, pointerType: 'mouse', bubbles: true }))
    window.dispatchEvent(new PointerEvent('pointerup', { ...end, pointerType: 'mouse', bubbles: true }))
    await flush()
    return { panel, left, top }
  }

  it('can be dragged by its header', async () => {
    await showBatch()
    const { panel, left, top } = await dragHeaderBy(-40, 40)
    expect(parseFloat(panel().style.left)).toBe(left - 40)
    expect(parseFloat(panel().style.top)).toBe(top + 40)
  })

  it('stays whole on screen: dragged past the right edge, or when the window shrinks', async () => {
    // happy-dom's own API: resizes the window and fires 'resize'
    const setViewport = (size: { width: number, height: number }) =>
      (window as unknown as { happyDOM: { setViewport: (size: { width: number, height: number }) => void } }).happyDOM.setViewport(size)
    const { width, height } = { width: window.innerWidth, height: window.innerHeight }
    try {
      await showBatch()
      const { panel } = await dragHeaderBy(2900, 0)
      expect(parseFloat(panel().style.left)).toBe(width - 340)

      setViewport({ width: 700, height: 300 })
      await flush()
      expect(parseFloat(panel().style.left)).toBe(700 - 340)
      expect(parseFloat(panel().style.top)).toBeLessThanOrEqual(300 - 40)
    } finally {
      setViewport({ width, height })
    }
  })

  it('marks a page whose slide was deleted as skipped, and counts it apart in the summary', async () => {
    const { store } = await showBatch()
    store.markSkipped(1)
    await flush()
    expect(statuses()[0]).toBe('页面已删除，已跳过')
    landed(store, pageResult(2, 'contents01', 'completed'))
    landed(store, pageResult(4, 'chart01', 'completed'))
    store.setStatus('partial')
    await flush()
    expect(wrapper!.find('.summary').text()).toBe('2 页完成，1 页已跳过，1 页失败')
  })

  it('summary counts every combination exactly: skipped is not done, zero counts are left out', async () => {
    const { store } = await showBatch()
    const summary = async (status: 'completed' | 'partial' | 'cancelled') => {
      store.setStatus(status)
      await flush()
      return wrapper!.find('.summary').text()
    }
    // 4 done, nothing else
    landed(store, pageResult(2, 'contents01', 'completed'))
    landed(store, pageResult(3, 'table01', 'completed'))
    landed(store, pageResult(4, 'chart01', 'completed'))
    expect(await summary('completed')).toBe('4 页完成')
    // one of them skipped (slide deleted): 3 done, 1 skipped, no "0 failed"
    store.markSkipped(4)
    expect(await summary('completed')).toBe('3 页完成，1 页已跳过')
    // a failed page: all three parts
    store.upsertPage(pageResult(3, 'table01', 'failed', { error_code: 'upstream_error', error_message: 'boom' }))
    expect(await summary('partial')).toBe('2 页完成，1 页已跳过，1 页失败')
    // nothing done at all
    store.upsertPage(pageResult(1, 'cover01', 'failed'))
    store.upsertPage(pageResult(2, 'contents01', 'failed'))
    expect(await summary('partial')).toBe('0 页完成，1 页已跳过，3 页失败')
    // cancelled keeps the same counts behind its prefix
    landed(store, pageResult(1, 'cover01', 'completed'))
    expect(await summary('cancelled')).toBe('已取消：1 页完成，1 页已跳过，2 页失败')
  })

  it('a batch cancelled before anything was done reads 0 / n and 0 %, greyed, not a full bar', async () => {
    const controller = fakeController()
    wrapper = (await mountPlugin(GenerationProgressFloat, { props: { teleport: false }, controller })).wrapper
    const store = useNanoBananaStore()
    const ids = ['cover01', 'contents01', 'table01', 'chart01']
    store.startBatch('b1', 'full', ids.map(slide_id => ({ slide_id })))
    store.setStatus('generating')
    ids.forEach((id, i) => store.upsertPage(pageResult(i + 1, id, 'cancelled')))
    store.setStatus('cancelled')
    await flush()
    expect(wrapper.find('.count').text()).toBe('0 / 4')
    expect(wrapper.find('.percentage').text()).toBe('0%')
    expect(wrapper.find('[role="progressbar"]').attributes('aria-valuenow')).toBe('0')
    expect(wrapper.find('.bar-fill').attributes('style')).toContain('width: 0%')
    expect(wrapper.find('.bar').classes()).toContain('cancelled')
    expect(wrapper.find('.summary').text()).toBe('已取消：0 页完成')
  })

  it('a batch cancelled midway counts only the pages done; a finished batch with failures still reads 100 %', async () => {
    const { store } = await showBatch()
    // page 1 done, page 3 failed, pages 2 and 4 cancelled
    store.upsertPage(pageResult(2, 'contents01', 'cancelled'))
    store.upsertPage(pageResult(4, 'chart01', 'cancelled'))
    store.setStatus('cancelled')
    await flush()
    expect(wrapper!.find('.count').text()).toBe('1 / 4')
    expect(wrapper!.find('.percentage').text()).toBe('25%')
    expect(wrapper!.find('.summary').text()).toBe('已取消：1 页完成，1 页失败')
    // the same pages settled without a cancel: every page had its turn
    landed(store, pageResult(2, 'contents01', 'completed'))
    store.upsertPage(pageResult(4, 'chart01', 'failed', { error_code: 'no_image' }))
    store.setStatus('partial')
    await flush()
    expect(wrapper!.find('.count').text()).toBe('4 / 4')
    expect(wrapper!.find('.percentage').text()).toBe('100%')
    expect(wrapper!.find('.bar').classes()).not.toContain('cancelled')
  })

  it('English summary: "7 done, 1 skipped"', async () => {
    const { store } = await showBatch('en')
    for (const [n, id] of [[2, 'contents01'], [3, 'table01'], [4, 'chart01']] as const) landed(store, pageResult(n, id, 'completed'))
    store.markSkipped(2)
    store.setStatus('completed')
    await flush()
    expect(wrapper!.find('.summary').text()).toBe('3 done, 1 skipped')
  })

  it('shows the polling fallback and errors', async () => {
    const { store } = await showBatch()
    store.setTransport('polling')
    store.setError({ kind: 'unreachable', message: `无法连接到生成服务 ${SERVER}` })
    await flush()
    expect(wrapper!.find('.transport').text()).toBe('实时连接不可用，已改为轮询')
    expect(wrapper!.find('[role="alert"]').text()).toContain(SERVER)
  })

  it('speaks English with locale en', async () => {
    const { store } = await showBatch('en')
    expect(statuses()).toEqual(['done', 'drawing', 'failed', 'waiting'])
    store.setStatus('cancelled')
    await flush()
    expect(wrapper!.find('.summary').text()).toBe('Cancelled: 1 done, 1 failed')
  })
})
