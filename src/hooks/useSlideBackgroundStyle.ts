import { computed, type Ref } from 'vue'
import type { SlideBackground } from '../types/slides'

type BackgroundStyle = Record<string, string>

// Turns a slide background into CSS the way PPTist does: solid colour, image (cover / contain / repeat)
// or a linear / radial gradient. No background means white.
export function backgroundToStyle(background: SlideBackground | undefined): BackgroundStyle {
  if (!background) return { backgroundColor: '#fff' }
  const { type, color, image, gradient } = background

  if (type === 'solid') return { backgroundColor: color ?? '#fff' }

  if (type === 'image' && image?.src) {
    return {
      backgroundImage: `url("${image.src.replace(/"/g, '%22')}")`,
      backgroundRepeat: image.size === 'repeat' ? 'repeat' : 'no-repeat',
      backgroundSize: image.size === 'repeat' ? 'contain' : image.size || 'cover',
    }
  }

  if (type === 'gradient' && gradient) {
    const stops = gradient.colors.map(c => `${c.color} ${c.pos}%`).join(', ')
    if (gradient.type === 'radial') return { backgroundImage: `radial-gradient(${stops})` }
    return { backgroundImage: `linear-gradient(${gradient.rotate + 90}deg, ${stops})` }
  }

  return { backgroundColor: '#fff' }
}

export function useSlideBackgroundStyle(background: Ref<SlideBackground | undefined>) {
  const backgroundStyle = computed(() => backgroundToStyle(background.value))
  return { backgroundStyle }
}
