import { describe, expect, it } from 'vitest'
import { buildPrompt, languageName, toPlainText, type PromptInput } from '../../server/prompts.js'
import { NANO_BANANA_TEMPLATES } from '../../plugin/configs/nanoBananaTemplates.js'

function input(overrides: Partial<PromptInput> = {}): PromptInput {
  return {
    template: NANO_BANANA_TEMPLATES[1],
    deckTitle: 'Rational numbers',
    pageTitles: ['Rational numbers', 'Agenda', 'The number line', 'Summary'],
    page: { pageNumber: 3, totalPages: 4, pageType: 'content', title: 'The **number** line', content: '## Key points\n- Right is **greater**\n* Positive > 0 > negative\n\n1. Example: -3 < 2' },
    mode: 'full',
    language: 'en',
    aspectRatio: '16:9',
    extraPrompt: '',
    references: ['template'],
    ...overrides,
  }
}

describe('toPlainText', () => {
  it('removes markdown syntax and keeps the words', () => {
    expect(toPlainText('# Title\n**bold** and __strong words__ and `code` and *it*\n> quoted\n- one\n+ two\n---\n[link](https://x.example) ![img](https://x.example/a.png)'))
      .toBe('Title\nbold and strong words and code and it\nquoted\n• one\n• two\nlink')
  })

  it('keeps comparison signs, angle brackets and entity-like text as typed (page text is plain text)', () => {
    expect(toPlainText('-3 < -2 且 0 > -1\n若 a<b, b>c\n5 > 3')).toBe('-3 < -2 且 0 > -1\n若 a<b, b>c\n5 > 3')
    expect(toPlainText('use <div> and <br/> tags\nA &amp; B, x &lt; y')).toBe('use <div> and <br/> tags\nA &amp; B, x &lt; y')
    expect(toPlainText('> 0 for every x\n>= 5\n> quoted')).toBe('> 0 for every x\n>= 5\nquoted')
  })

  it('keeps code as written: dunders, **kwargs, a lone backtick', () => {
    expect(toPlainText('def __init__(self, **kwargs):\nprint(`x) # not a heading')).toBe('def __init__(self, **kwargs):\nprint(`x) # not a heading')
    expect(toPlainText('a `b` and __two words__ and **x** ~~y~~')).toBe('a b and two words and x y')
  })

  it('leaves arithmetic, snake_case and negative numbers alone', () => {
    expect(toPlainText('2 * 3 * 4 = 24\nfile_name_here\n-5 degrees')).toBe('2 * 3 * 4 = 24\nfile_name_here\n-5 degrees')
  })
})

describe('buildPrompt', () => {
  it('is deterministic', () => {
    expect(buildPrompt(input())).toBe(buildPrompt(input()))
    expect(buildPrompt(input())).not.toBe(buildPrompt(input({ extraPrompt: 'more icons' })))
  })

  it('full mode asks for exactly the page text, without markdown symbols', () => {
    const prompt = buildPrompt(input())
    expect(prompt).toMatch(/render exactly the text below/i)
    expect(prompt).toMatch(/nothing missing, nothing added/i)
    for (const line of ['The number line', 'Key points', '• Right is greater', '• Positive > 0 > negative', '1. Example: -3 < 2']) {
      expect(prompt).toContain(`    ${line}`)
    }
    expect(prompt).not.toContain('**')
    expect(prompt).not.toContain('## ')
    expect(prompt).toContain('in English')
  })

  it('never invents placeholder text for an empty title or an empty page', () => {
    const noTitle = buildPrompt(input({ page: { ...input().page, title: '  ' } }))
    expect(noTitle).not.toContain('Title:')
    expect(noTitle).toContain('    Key points')
    const empty = buildPrompt(input({ page: { ...input().page, title: '', content: '' } }))
    expect(empty).toMatch(/this slide has no text/i)
    expect(empty).not.toMatch(/render exactly/i)
    // nor asks for a title and a body elsewhere (fresh tester: the role line contradicted "no text")
    expect(empty).not.toMatch(/title|body/i)
  })

  it('background mode with the slide\'s text boxes asks to keep exactly those rectangles calm', () => {
    const page = { ...input().page, textBoxes: [{ x: 0.06, y: 0.05, w: 0.88, h: 0.11 }, { x: 0.1, y: 0.2, w: 0.4, h: 0.6 }] }
    const prompt = buildPrompt(input({ mode: 'background', page }))
    expect(prompt).toContain('exactly these rectangles of the canvas')
    expect(prompt).toContain('from 6% to 94% across, 5% to 16% down; from 10% to 50% across, 20% to 80% down')
    expect(prompt).not.toMatch(/a band across the top for the title/)
    // full mode draws the text itself: the rectangles are not mentioned
    expect(buildPrompt(input({ mode: 'full', page }))).not.toContain('rectangles')
  })

  it('background mode forbids any text and keeps space for the slide\'s own text', () => {
    const prompt = buildPrompt(input({ mode: 'background' }))
    expect(prompt).toMatch(/must contain no text at all/i)
    expect(prompt).toMatch(/band across the top for the title/)
    expect(prompt).not.toMatch(/render exactly/i)
    expect(prompt).not.toContain('    • Right is greater')
    expect(buildPrompt(input({ mode: 'background', page: { ...input().page, pageType: 'cover', pageNumber: 1 } }))).toMatch(/central area for the large title/)
  })

  it('gives the deck context: title, every page title and this page\'s position', () => {
    const prompt = buildPrompt(input())
    expect(prompt).toContain('Deck: "Rational numbers". This is page 3 of 4.')
    expect(prompt).toContain('  2. Agenda\n')
    expect(prompt).toContain('  3. The number line   ← this page')
    expect(prompt).toContain('  4. Summary')
  })

  it('names the template style and colours', () => {
    const prompt = buildPrompt(input())
    const t = NANO_BANANA_TEMPLATES[1]
    expect(prompt).toContain(t.name)
    expect(prompt).toContain(t.metadata.color_scheme.join(', '))
  })

  it('explains each reference image by its position', () => {
    const one = buildPrompt(input())
    expect(one).toMatch(/Image 1 is the style template\. Copy its visual style.*never its text/)
    expect(one).not.toContain('Image 2')

    const chained = buildPrompt(input({ references: ['template', 'style_chain'] }))
    expect(chained).toMatch(/Image 2 is page 1 of this same deck.*same look/)

    const revision = buildPrompt(input({ references: ['template', 'style_chain', 'previous'], instruction: 'Make the title larger' }))
    expect(revision).toMatch(/Image 3 is the previous version of this slide/)
    expect(revision).toMatch(/apply this instruction.*Make the title larger/)

    const chainOnly = buildPrompt(input({ references: ['style_chain'] }))
    expect(chainOnly).toMatch(/Image 1 is page 1 of this same deck/)
  })

  it('includes the language, aspect ratio and extra prompt', () => {
    const prompt = buildPrompt(input({ language: 'zh', aspectRatio: '9:16', extraPrompt: '  多用插图  ' }))
    expect(prompt).toContain('Simplified Chinese')
    expect(prompt).toContain('9:16 portrait')
    expect(prompt).toContain('Additional wishes from the author: 多用插图')
  })
})

describe('languageName', () => {
  it('maps codes and keeps unknown ones', () => {
    expect(languageName('zh-TW')).toBe('Traditional Chinese')
    expect(languageName('ja')).toBe('Japanese')
    expect(languageName('en_US')).toBe('English')
    expect(languageName('eo')).toBe('eo')
  })
})
