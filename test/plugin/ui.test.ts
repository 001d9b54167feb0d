import { describe, expect, it } from 'vitest'
import { nextTick } from 'vue'
import { mount } from '@vue/test-utils'
import NbRadioGroup from '../../plugin/components/ui/NbRadioGroup.vue'
import NbSwitch from '../../plugin/components/ui/NbSwitch.vue'
import NbModal from '../../plugin/components/ui/NbModal.vue'
import NbButton from '../../plugin/components/ui/NbButton.vue'

const OPTIONS = [{ value: '1K', label: '1K' }, { value: '2K', label: '2K' }, { value: '4K', label: '4K' }]

describe('small UI pieces', () => {
  it('radio group: roles, roving tabindex, arrow keys wrap around', async () => {
    const wrapper = mount(NbRadioGroup, { props: { modelValue: '2K', options: OPTIONS, label: 'res' } })
    expect(wrapper.attributes('role')).toBe('radiogroup')
    const radios = wrapper.findAll('[role="radio"]')
    expect(radios.map(r => r.attributes('aria-checked'))).toEqual(['false', 'true', 'false'])
    expect(radios.map(r => r.attributes('tabindex'))).toEqual(['-1', '0', '-1'])
    await wrapper.trigger('keydown', { key: 'ArrowRight' })
    await wrapper.setProps({ modelValue: '4K' })
    await wrapper.trigger('keydown', { key: 'ArrowRight' })
    await wrapper.trigger('keydown', { key: 'ArrowUp' })
    await radios[0].trigger('click')
    expect(wrapper.emitted('update:modelValue')).toEqual([['4K'], ['1K'], ['2K'], ['1K']])
  })

  it('switch: role switch with aria-checked, toggles on click', async () => {
    const wrapper = mount(NbSwitch, { props: { modelValue: false, label: 'embed' } })
    expect(wrapper.attributes('role')).toBe('switch')
    expect(wrapper.attributes('aria-checked')).toBe('false')
    await wrapper.trigger('click')
    expect(wrapper.emitted('update:modelValue')).toEqual([[true]])
  })

  it('modal: dialog role, closes on Escape, on the mask and on ✕', async () => {
    const wrapper = mount(NbModal, { props: { visible: true, title: 'T', teleport: false }, slots: { default: '<p>body</p>' } })
    expect(wrapper.find('[role="dialog"]').attributes('aria-modal')).toBe('true')
    await wrapper.find('[role="dialog"]').trigger('keydown', { key: 'Escape' })
    await wrapper.find('.mask').trigger('click')
    await wrapper.find('.close-btn').trigger('click')
    expect(wrapper.emitted('update:visible')).toEqual([[false], [false], [false]])
    await wrapper.setProps({ visible: false })
    expect(wrapper.find('[role="dialog"]').exists()).toBe(false)
  })

  it('modal: takes the focus when it opens and gives it back to the opener when it closes', async () => {
    const opener = document.createElement('button')
    document.body.appendChild(opener)
    opener.focus()
    const wrapper = mount(NbModal, { props: { visible: false, title: 'T', teleport: false }, attachTo: document.body })
    try {
      await wrapper.setProps({ visible: true })
      await nextTick()
      expect(document.activeElement).toBe(wrapper.find('[role="dialog"]').element)
      await wrapper.setProps({ visible: false })
      await nextTick()
      expect(document.activeElement).toBe(opener)
    } finally {
      wrapper.unmount()
      opener.remove()
    }
  })

  it('button: a disabled button does not emit', async () => {
    const wrapper = mount(NbButton, { props: { disabled: true }, slots: { default: 'Go' } })
    await wrapper.trigger('click')
    expect(wrapper.emitted('click')).toBeUndefined()
    await wrapper.setProps({ disabled: false })
    await wrapper.trigger('click')
    expect(wrapper.emitted('click')).toHaveLength(1)
  })
})
