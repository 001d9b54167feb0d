// PPTist rich-text HTML → the runs of text as they are drawn (colour, own background, size, weight),
// and the same HTML with some colours changed — no DOM, so it runs in tests, workers and the proxy.
// A run's colour comes from its innermost ancestor with a `color:` declaration, or the element's
// default colour; a run inside a span with its own background (PPTist's backcolor mark, or a `code`
// span, which PPTist's stylesheet paints #f1f1f1) is judged against that background instead of the
// image, and its colour is decided on that span (a colour is added there when it had none).

/** PPTist's stylesheet: `.ProseMirror { font-size: 16px }` and `code { background-color: #f1f1f1 }` (src/assets/styles/prosemirror.scss). */
export const DEFAULT_FONT_PX = 16
export const CODE_BACKGROUND = '#f1f1f1'

/** Who decides a run's colour: the element's defaultColor, or the tag at this index in the HTML. */
export type ColorOwner = 'default' | number

export interface TextRun {
  text: string
  /** the colour it is drawn in (CSS), null when the element names none */
  color: string | null
  owner: ColorOwner
  /** the owner is a tag that inherits its colour (a background span without `color:`) */
  inherited: boolean
  /** its own background (CSS) when a span under it has one, else null (drawn on the box / image) */
  background: string | null
  /** px in slide units */
  sizePx: number
  bold: boolean
}

interface Token {
  /** the source text of the token */
  raw: string
  kind: 'open' | 'close' | 'text' | 'void'
  name: string
  /** the tag's index among open tags (open tokens only) */
  index: number
}

interface OpenTag {
  index: number
  name: string
  color: string | null
  background: string | null
  sizePx: number | null
  bold: boolean | null
}

const VOID = new Set(['br', 'img', 'hr', 'input', 'meta', 'link', 'wbr'])
const TOKEN = /<!--[\s\S]*?-->|<(\/?)([a-zA-Z][\w-]*)((?:"[^"]*"|'[^']*'|[^'">])*)>|([^<]+)|</g
const STYLE_ATTR = /(\sstyle\s*=\s*)("([^"]*)"|'([^']*)')/i

function tokenize(html: string): Token[] {
  const tokens: Token[] = []
  let index = 0
  for (const m of html.matchAll(TOKEN)) {
    if (m[2]) {
      const name = m[2].toLowerCase()
      if (m[1]) tokens.push({ raw: m[0], kind: 'close', name, index: -1 })
      else if (VOID.has(name) || /\/\s*$/.test(m[3])) tokens.push({ raw: m[0], kind: 'void', name, index: -1 })
      else tokens.push({ raw: m[0], kind: 'open', name, index: index++ })
    }
    else tokens.push({ raw: m[0], kind: m[4] !== undefined ? 'text' : 'void', name: '', index: -1 })
  }
  return tokens
}

/** `prop: value` pairs of a tag's style attribute (lower-case props). */
function styleOf(raw: string): Map<string, string> {
  const style = new Map<string, string>()
  const m = STYLE_ATTR.exec(raw)
  if (!m) return style
  for (const decl of (m[3] ?? m[4] ?? '').split(';')) {
    const colon = decl.indexOf(':')
    if (colon > 0) style.set(decl.slice(0, colon).trim().toLowerCase(), decl.slice(colon + 1).trim())
  }
  return style
}

function fontSizePx(value: string | undefined, parentPx: number): number | null {
  if (!value) return null
  const m = /^([\d.]+)(px|pt|em|rem|%)?$/.exec(value.trim().toLowerCase())
  if (!m) return null
  const n = parseFloat(m[1])
  switch (m[2]) {
    case 'pt': return n * 4 / 3
    case 'em': return n * parentPx
    case 'rem': return n * DEFAULT_FONT_PX
    case '%': return n / 100 * parentPx
    default: return n
  }
}

function boldOf(name: string, weight: string | undefined): boolean | null {
  if (weight) {
    const w = weight.trim().toLowerCase()
    if (w === 'bold' || w === 'bolder') return true
    if (w === 'normal' || w === 'lighter') return false
    const n = parseInt(w, 10)
    if (Number.isFinite(n)) return n >= 700
  }
  if (name === 'strong' || name === 'b' || /^h[1-6]$/.test(name)) return true
  return null
}

function openTag(token: Token, parentPx: number): OpenTag {
  const style = styleOf(token.raw)
  const background = style.get('background-color') ?? style.get('background') ?? (token.name === 'code' ? CODE_BACKGROUND : null)
  return {
    index: token.index,
    name: token.name,
    color: style.get('color') ?? null,
    background: background && !/^(transparent|none|initial|inherit)$/i.test(background) ? background : null,
    sizePx: fontSizePx(style.get('font-size'), parentPx),
    bold: boldOf(token.name, style.get('font-weight')),
  }
}

/**
 * The runs of visible text in PPTist rich-text HTML, in order. `defaultColor` is the element's,
 * `defaultPx` its base size (PPTist: 16 px). Whitespace-only text is skipped.
 */
export function textRuns(html: string, defaultColor: string | null, defaultPx = DEFAULT_FONT_PX): TextRun[] {
  const runs: TextRun[] = []
  const stack: OpenTag[] = []
  for (const token of tokenize(html)) {
    if (token.kind === 'open') {
      const parentPx = stack.reduce((px, tag) => tag.sizePx ?? px, defaultPx)
      stack.push(openTag(token, parentPx))
    }
    else if (token.kind === 'close') {
      const at = stack.map(t => t.name).lastIndexOf(token.name)
      if (at >= 0) stack.length = at
    }
    else if (token.kind === 'text' && token.raw.replace(/&nbsp;|&#160;/g, ' ').trim()) {
      let color: string | null = defaultColor
      let colorDepth = -1
      let background: string | null = null
      let backgroundDepth = -1
      let sizePx = defaultPx
      let bold = false
      stack.forEach((tag, depth) => {
        if (tag.color) {
          color = tag.color
          colorDepth = depth
        }
        if (tag.background) {
          background = tag.background
          backgroundDepth = depth
        }
        if (tag.sizePx) sizePx = tag.sizePx
        if (tag.bold !== null) bold = tag.bold
      })
      const owner: ColorOwner = backgroundDepth > colorDepth
        ? stack[backgroundDepth].index
        : colorDepth >= 0 ? stack[colorDepth].index : 'default'
      runs.push({ text: token.raw, color, owner, inherited: backgroundDepth > colorDepth, background, sizePx, bold })
    }
  }
  return runs
}

/** `style` with its `color` declaration set to `color` (added when it had none). */
function withColor(raw: string, color: string): string {
  const m = STYLE_ATTR.exec(raw)
  if (!m) return raw.replace(/^(<[a-zA-Z][\w-]*)/, `$1 style="color: ${color};"`)
  const quote = m[2][0]
  const body = m[3] ?? m[4] ?? ''
  let replaced = false
  const decls = body.split(';').map(decl => {
    const colon = decl.indexOf(':')
    if (colon > 0 && decl.slice(0, colon).trim().toLowerCase() === 'color') {
      replaced = true
      return `${decl.slice(0, colon + 1)} ${color}`
    }
    return decl
  })
  let next = decls.join(';')
  if (!replaced) next = `${body.trim().replace(/;?\s*$/, body.trim() ? '; ' : '')}color: ${color};`
  return raw.replace(m[0], `${m[1]}${quote}${next}${quote}`)
}

/** The HTML with the tags at these indices drawing in new colours; everything else byte for byte. */
export function recolorTags(html: string, colors: Map<number, string>): string {
  if (!colors.size) return html
  return tokenize(html).map(token => {
    const color = token.kind === 'open' ? colors.get(token.index) : undefined
    return color ? withColor(token.raw, color) : token.raw
  }).join('')
}
