// Where an element sits on the slide, as PPTist positions it: absolute box, rotated about its centre.
export interface ElementBoxLike {
  left: number
  top: number
  width: number
  height: number
  rotate: number
}

export function elementBox(el: ElementBoxLike): Record<string, string> {
  return {
    left: el.left + 'px',
    top: el.top + 'px',
    width: el.width + 'px',
    height: el.height + 'px',
    transform: `rotate(${el.rotate}deg)`,
  }
}
