// Template id → drawing style. Unknown templates (e.g. added later without a style) fall back to
// the business style so previews never fail.
import type { SlideTemplate } from '../../../plugin/configs/nanoBananaTemplates.js'
import type { SlideStyle } from '../types.js'
import { academicSlate, businessPro, minimalMono, techFuture } from './business.js'
import { eduFresh, guochao, marketingVibrant, morandiSoft } from './vivid.js'
import { dataViz, handDrawn, kidsCartoon, magazineEditorial } from './playful.js'

export const STYLES: Record<string, SlideStyle> = {
  nano_banana_1: businessPro,
  nano_banana_2: techFuture,
  nano_banana_3: eduFresh,
  nano_banana_4: marketingVibrant,
  nano_banana_5: minimalMono,
  nano_banana_6: academicSlate,
  nano_banana_7: guochao,
  nano_banana_8: morandiSoft,
  nano_banana_9: handDrawn,
  nano_banana_10: magazineEditorial,
  nano_banana_11: dataViz,
  nano_banana_12: kidsCartoon,
}

export function styleFor(template: Pick<SlideTemplate, 'id'>): SlideStyle {
  return STYLES[template.id] ?? businessPro
}
