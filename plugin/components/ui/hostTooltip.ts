// The host's own tooltip, when it has one: PPTist registers a global `v-tooltip` directive
// (src/directive/tooltip.ts in PPTist 2.0.0: tippy.js, theme "tooltip", dark #262626 box, 300 ms
// delay), so a 🍌 tooltip looks exactly like the header's other tooltips. Without it (another host,
// the demo, unit tests) the text goes into the native `title` attribute.
import { getCurrentInstance, type Directive, type DirectiveBinding, type ObjectDirective } from 'vue'

type TooltipValue = string

const titleFallback: ObjectDirective<HTMLElement, TooltipValue> = {
  mounted(el, binding) {
    el.title = binding.value
  },
  updated(el, binding) {
    el.title = binding.value
  },
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)

/**
 * PPTist's tooltip renders its content as HTML (tippy `allowHTML: true`); our texts are plain (and
 * template descriptions come from the proxy), so they are escaped on the way in.
 */
function plainText(host: ObjectDirective<HTMLElement, TooltipValue>): ObjectDirective<HTMLElement, TooltipValue> {
  const plain = (binding: DirectiveBinding<TooltipValue>) => ({ ...binding, value: escapeHtml(binding.value ?? '') })
  return {
    ...host,
    mounted: host.mounted && ((el, binding, vnode, prev) => {
      host.mounted?.(el, plain(binding), vnode, prev)
      // PPTist's tippy also opens on focus; our 🍌 button gets focus back when the dialog closes, and
      // the tooltip then stayed open over the progress float. Hover only (the button has an aria-label).
      // tippy keeps its instance on the element as `_tippy` (documented: atomiks.github.io/tippyjs/v6/tippy-instance/).
      const tippy = (el as HTMLElement & { _tippy?: { setProps: (props: { trigger: string }) => void } })._tippy
      tippy?.setProps({ trigger: 'mouseenter' })
    }),
    updated: host.updated && ((el, binding, vnode, prev) => host.updated?.(el, plain(binding), vnode, prev)),
  }
}

/**
 * The directive to use as `v-nb-tooltip="text"` in a component's template (call it in `setup`).
 * @returns the app's `tooltip` directive if the host registered one, else one writing `title`
 */
export function useHostTooltip(): Directive<HTMLElement, TooltipValue> {
  const host = getCurrentInstance()?.appContext.directives.tooltip as Directive<HTMLElement, TooltipValue> | undefined
  if (!host) return titleFallback
  return typeof host === 'function' ? host : plainText(host)
}
