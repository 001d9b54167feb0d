// The slide-XML facts pptxtojson leaves out (title placeholders, chart titles and labels), read in one
// linear pass per part — including on parts crafted to make a backtracking regex scan rescan to the end.
import JSZip from 'jszip'
import { describe, expect, it } from 'vitest'
import { readDeck } from '../../../server/pptx/read.js'
import { chartFacts, findAll, MAX_SHAPES_PER_SLIDE, parseXml, slideParts, titlePlaceholderIds } from '../../../server/pptx/xmlFacts.js'
import { fixture } from './helpers.js'

/** lo-text-4x3.pptx with one part's text changed. */
async function edited(part: string, edit: (xml: string) => string): Promise<Buffer> {
  const zip = await JSZip.loadAsync(fixture('lo-text-4x3.pptx'))
  const xml = await zip.file(part)!.async('string')
  const changed = edit(xml)
  expect(changed).not.toBe(xml)
  zip.file(part, changed)
  return await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' })
}

const beforeClose = (tag: string, insert: string) => (xml: string) => xml.replace(tag, `${insert}${tag}`)

describe('slide XML facts: crafted parts are read in linear time', () => {
  // Each of these made the former regex scans (/<p:sp[\s>][\s\S]*?<\/p:sp>/, /<c:chart\b[^>]*\br:id=…/,
  // /PartName="…"[^>]*ContentType="…slide+xml"/) rescan to the end of the part for every opening: each
  // case took over 10 s (the first 16 s per slide). The comment hides the openings from every XML
  // parser, so the deck reads as the original does. The timeout is a hang guard, not a timing goal.
  const cases: [string, string, (xml: string) => string][] = [
    ['125,000 <p:sp /> in a comment', 'ppt/slides/slide1.xml', beforeClose('</p:spTree>', `<!--${'<p:sp />'.repeat(125_000)}-->`)],
    ['125,000 <c:chart openings in a comment', 'ppt/slides/slide1.xml', beforeClose('</p:spTree>', `<!--${'<c:chart '.repeat(125_000)}-->`)],
    ['80,000 PartName= in one Override', '[Content_Types].xml', beforeClose('</Types>', `<!--<Override ${'PartName="/x" '.repeat(80_000)}-->`)],
  ]
  for (const [name, part, edit] of cases) {
    it(name, async () => {
      const original = await readDeck(fixture('lo-text-4x3.pptx'))
      const buf = await edited(part, edit)
      expect(buf.length).toBeLessThan(60_000)
      expect(await readDeck(buf)).toEqual(original)
    }, 10_000)
  }

  it(`refuses a slide with more than ${MAX_SHAPES_PER_SLIDE} shapes: 422 slide_too_complex naming the slide`, async () => {
    // slide 2 has 4 shapes of its own
    const buf = await edited('ppt/slides/slide2.xml', beforeClose('</p:spTree>', '<p:sp/>'.repeat(MAX_SHAPES_PER_SLIDE + 1)))
    await expect(readDeck(buf)).rejects.toMatchObject({
      status: 422, code: 'slide_too_complex',
      message: expect.stringContaining('Slide 2'),
      details: [{ slide: 2, part: 'ppt/slides/slide2.xml', shapes: MAX_SHAPES_PER_SLIDE + 5, max_shapes: MAX_SHAPES_PER_SLIDE }],
    })
  }, 10_000)

  it('answers 400 invalid_pptx for 100,000 nested unclosed <p:sp> (too deep to parse), without hanging', async () => {
    const buf = await edited('ppt/slides/slide1.xml', beforeClose('</p:spTree>', '<p:sp>'.repeat(100_000)))
    await expect(readDeck(buf)).rejects.toMatchObject({ status: 400, code: 'invalid_pptx' })
  }, 10_000)
})

describe('titlePlaceholderIds', () => {
  it('finds title and ctrTitle placeholders in shapes at any depth; ignores comments, other placeholders and lookalike tags', () => {
    const slide = parseXml(`<p:sld><p:cSld><p:spTree>
      <p:sp/>
      <!-- <p:sp><p:nvSpPr><p:cNvPr id="9"/><p:nvPr><p:ph type="title"/></p:nvPr></p:nvSpPr></p:sp> -->
      <p:sp><p:nvSpPr><p:cNvPr id="2" name="Title 1"/><p:cNvSpPr/><p:nvPr><p:ph type="title"/></p:nvPr></p:nvSpPr></p:sp>
      <p:grpSp><p:sp ><p:nvSpPr><p:cNvPr name="g" id='3'></p:cNvPr><p:nvPr><p:ph idx="0" type='ctrTitle'/></p:nvPr></p:nvSpPr></p:sp></p:grpSp>
      <p:sp><p:nvSpPr><p:cNvPr id="4"/><p:nvPr><p:ph type="body" idx="1"/></p:nvPr></p:nvSpPr></p:sp>
      <p:sp><p:nvSpPr><p:cNvPr id="5"/><p:nvPr><p:ph/></p:nvPr></p:nvSpPr></p:sp>
      <p:spPr><p:ph type="title"/><p:cNvPr id="6"/></p:spPr>
      <p:sp><p:nvSpPr><p:cNvPr id="x7"/><p:nvPr><p:ph type="title"/></p:nvPr></p:nvSpPr></p:sp>
    </p:spTree></p:cSld></p:sld>`)
    const { ids, shapes } = titlePlaceholderIds(slide)
    expect([...ids]).toEqual(['2', '3'])
    expect(shapes).toBe(6)
  })

  it('walks deep trees without recursion', () => {
    let node = { tagName: 'p:sp', attributes: {}, children: [] as never[] }
    for (let i = 0; i < 200_000; i++) node = { tagName: 'p:grpSp', attributes: {}, children: [node] as never[] }
    expect(findAll([node], 'p:sp')).toHaveLength(1)
  })
})

describe('chartFacts', () => {
  it('reads the chart title (not the axis titles), runs joined with their spaces, and the first series\' category labels', () => {
    const chart = parseXml(`<?xml version="1.0"?><c:chartSpace><c:chart>
      <c:title><c:tx><c:rich><a:p><a:r><a:t>Growth </a:t></a:r><a:r><a:t xml:space="preserve">增长 &amp; more</a:t></a:r></a:p></c:rich></c:tx></c:title>
      <c:plotArea><c:lineChart>
        <c:ser><c:cat><c:strLit><c:ptCount val="2"/><c:pt idx="0"><c:v>Jan</c:v></c:pt><c:pt idx="1"> <c:v>Q&lt;2</c:v></c:pt></c:strLit></c:cat></c:ser>
        <c:ser><c:cat><c:strLit><c:pt idx="0"><c:v>Other</c:v></c:pt></c:strLit></c:cat></c:ser>
      </c:lineChart>
      <c:valAx><c:title><c:tx><c:rich><a:p><a:r><a:t>Axis</a:t></a:r></a:p></c:rich></c:tx></c:title></c:valAx></c:plotArea>
    </c:chart></c:chartSpace>`)
    expect(chartFacts(chart)).toEqual({ title: 'Growth 增长 & more', labels: ['Jan', 'Q<2'] })
  })

  it('has an empty title when only the axes have titles', () => {
    const chart = parseXml('<c:chartSpace><c:chart><c:plotArea><c:catAx><c:title><a:t>Months</a:t></c:title></c:catAx></c:plotArea></c:chart></c:chartSpace>')
    expect(chartFacts(chart)).toEqual({ title: '', labels: [] })
  })
})

describe('slideParts', () => {
  it('lists the slide parts by number, whatever the attribute order', () => {
    const types = parseXml(`<Types>
      <Override PartName="/ppt/slides/slide10.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slide+xml"/>
      <Override ContentType="application/vnd.openxmlformats-officedocument.presentationml.slide+xml" PartName="/ppt/slides/slide2.xml"/>
      <Override PartName="/ppt/notesSlides/notesSlide1.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.notesSlide+xml"/>
      <!-- <Override PartName="/ppt/slides/slide1.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slide+xml"/> -->
    </Types>`)
    expect(slideParts(types)).toEqual(['ppt/slides/slide2.xml', 'ppt/slides/slide10.xml'])
  })
})
