// Builds the LibreOffice-made .pptx fixtures in test/fixtures/pptx/ (committed, so `npm test` needs no
// LibreOffice). Run again only to change them:  npx tsx scripts/make-pptx-fixtures.ts
// Needs Debian's LibreOffice Impress (`apt-get install libreoffice-impress`).
//
// Sources: three decks written with pptxgenjs (text, a table, a chart with a title, notes; 16:9 and 4:3;
// one with a title placeholder and three boxes that are grouped in LibreOffice's flat ODP, since
// pptxgenjs cannot write groups), each opened and saved as .pptx by LibreOffice (`soffice --headless --convert-to pptx`), so the
// fixtures carry LibreOffice's own PowerPoint writer's output, not pptxgenjs's.
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import PptxGenJS from 'pptxgenjs'

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'pptx')

async function mixed169(): Promise<Buffer> {
  const pptx = new PptxGenJS()
  pptx.layout = 'LAYOUT_16x9'
  const cover = pptx.addSlide()
  cover.background = { color: '1F3864' }
  cover.addText('有理数的大小比较', { x: 0.5, y: 1.6, w: 9, h: 1.2, fontSize: 40, bold: true, color: 'FFFFFF', align: 'center' })
  cover.addText('Comparing rational numbers', { x: 0.5, y: 2.9, w: 9, h: 0.7, fontSize: 20, color: 'DDDDDD', align: 'center' })
  cover.addNotes('开场：先问学生 -3 和 -5 哪个大。')

  const table = pptx.addSlide()
  table.addText('成绩对比 Scores', { x: 0.5, y: 0.3, w: 9, h: 0.8, fontSize: 30, bold: true, color: '1F3864' })
  table.addTable([
    [{ text: '班级 Class' }, { text: '平均分 Mean' }, { text: '最高分 Max' }],
    [{ text: '一班' }, { text: '86' }, { text: '99' }],
    [{ text: '二班' }, { text: '81' }, { text: '97' }],
  ], { x: 0.5, y: 1.4, w: 6, fontSize: 14, color: '222222', border: { type: 'solid', pt: 1, color: '999999' } })
  table.addNotes('Point at the second row.')

  const chart = pptx.addSlide()
  chart.addText('Revenue by quarter 季度收入', { x: 0.5, y: 0.3, w: 9, h: 0.8, fontSize: 28, bold: true, color: '333333' })
  chart.addChart(pptx.ChartType.bar, [
    { name: 'Revenue', labels: ['Q1', 'Q2', 'Q3', 'Q4'], values: [12, 18, 15, 22] },
  ], { x: 0.8, y: 1.3, w: 8.4, h: 3.8, showTitle: true, title: 'Revenue 2026', showLegend: true })
  chart.addNotes('Q4 was the best quarter.')
  return await pptx.write({ outputType: 'nodebuffer' }) as Buffer
}

async function text43(): Promise<Buffer> {
  const pptx = new PptxGenJS()
  pptx.layout = 'LAYOUT_4x3'
  const s1 = pptx.addSlide()
  s1.addText('Project kickoff', { x: 0.5, y: 0.4, w: 9, h: 1, fontSize: 36, bold: true, color: '2E75B6' })
  s1.addText([
    { text: 'Goals for the first month', options: { bullet: true, breakLine: true } },
    { text: 'Who does what', options: { bullet: true, breakLine: true } },
    { text: 'Risks and open questions', options: { bullet: true } },
  ], { x: 0.7, y: 1.7, w: 8.6, h: 3, fontSize: 22, color: '404040', valign: 'top' })
  s1.addNotes('Keep this under five minutes.')
  const s2 = pptx.addSlide()
  s2.addText('左栏 Left', { x: 0.5, y: 0.5, w: 4.2, h: 0.8, fontSize: 26, bold: true, color: '000000' })
  s2.addText('左栏正文 left body', { x: 0.5, y: 1.5, w: 4.2, h: 2, fontSize: 16, color: '000000', valign: 'top' })
  s2.addText('右栏 Right', { x: 5.3, y: 0.5, w: 4.2, h: 0.8, fontSize: 26, bold: true, color: '000000' })
  s2.addText('右栏正文 right body', { x: 5.3, y: 1.5, w: 4.2, h: 2, fontSize: 16, color: '000000', valign: 'top' })
  return await pptx.write({ outputType: 'nodebuffer' }) as Buffer
}

/** A 4:3 deck: a title placeholder, three labelled boxes (grouped later, in LibreOffice's own ODP), notes. */
async function groups43(): Promise<Buffer> {
  const pptx = new PptxGenJS()
  pptx.layout = 'LAYOUT_4x3'
  pptx.defineSlideMaster({
    title: 'TITLED',
    background: { color: 'FFF8E7' },
    objects: [{ placeholder: { options: { name: 'title', type: 'title', x: 0.6, y: 0.5, w: 8.8, h: 1.2 }, text: '' } }],
  })
  const s1 = pptx.addSlide({ masterName: 'TITLED' })
  s1.addText('三步走 Three steps', { placeholder: 'title', fontSize: 36, bold: true, color: '1F3864' })
  s1.addText('从想法到上线 From idea to launch', { x: 0.6, y: 1.9, w: 8.8, h: 0.7, fontSize: 18, color: '333333' })
  for (const [i, label] of ['调研 Research', '设计 Design', '上线 Launch'].entries()) {
    s1.addText(label, { shape: pptx.ShapeType.rect, x: 0.6 + i * 3, y: 3.2, w: 2.8, h: 1.6, fill: { color: '4472C4' }, color: 'FFFFFF', fontSize: 20, align: 'center', valign: 'middle' })
  }
  s1.addNotes('每一步两周。Two weeks per step.')
  const s2 = pptx.addSlide({ masterName: 'TITLED' })
  s2.addText('谢谢 Thank you', { placeholder: 'title', fontSize: 36, bold: true, color: '1F3864' })
  s2.addNotes('Questions?')
  return await pptx.write({ outputType: 'nodebuffer' }) as Buffer
}

/** Wraps the three step boxes of LibreOffice's flat ODP in one draw:g (pptxgenjs cannot write groups). */
function groupSteps(fodp: string): string {
  const shapes = [...fodp.matchAll(/<draw:custom-shape\b[\s\S]*?<\/draw:custom-shape>/g)].filter(m => /Research|Design|Launch/.test(m[0]))
  if (shapes.length !== 3) throw new Error(`expected the three step boxes in LibreOffice's ODP, found ${shapes.length}`)
  const first = shapes[0].index
  const last = shapes[2].index + shapes[2][0].length
  return `${fodp.slice(0, first)}<draw:g>${fodp.slice(first, last)}</draw:g>${fodp.slice(last)}`
}

function convert(dir: string, source: string, name: string, format = 'pptx:Impress MS PowerPoint 2007 XML'): string {
  // a private profile: parallel or leftover LibreOffice instances do not block the conversion
  const profile = `file://${path.join(dir, 'profile')}`
  const out = path.join(dir, 'out')
  mkdirSync(out, { recursive: true })
  execFileSync('soffice', [`-env:UserInstallation=${profile}`, '--headless', '--convert-to', format, '--outdir', out, source], { stdio: 'inherit', timeout: 180_000 })
  const produced = path.join(out, path.basename(source).replace(/\.[^.]+$/, `.${format.split(':')[0]}`))
  if (!name) return produced
  copyFileSync(produced, path.join(OUT, name))
  console.log(`${name}: ${statSync(path.join(OUT, name)).size} bytes`)
  return produced
}

const dir = mkdtempSync(path.join(tmpdir(), 'pptx-fixtures-'))
try {
  mkdirSync(OUT, { recursive: true })
  const src = path.join(dir, 'src')
  mkdirSync(src)
  writeFileSync(path.join(src, 'lo-mixed-16x9.pptx'), await mixed169())
  writeFileSync(path.join(src, 'lo-text-4x3.pptx'), await text43())
  writeFileSync(path.join(src, 'lo-groups-4x3.pptx'), await groups43())
  const fodp = convert(dir, path.join(src, 'lo-groups-4x3.pptx'), '', 'fodp')
  writeFileSync(path.join(src, 'lo-groups-4x3.fodp'), groupSteps(readFileSync(fodp, 'utf8')))
  convert(dir, path.join(src, 'lo-mixed-16x9.pptx'), 'lo-mixed-16x9.pptx')
  convert(dir, path.join(src, 'lo-text-4x3.pptx'), 'lo-text-4x3.pptx')
  convert(dir, path.join(src, 'lo-groups-4x3.fodp'), 'lo-groups-4x3.pptx')
}
finally {
  rmSync(dir, { recursive: true, force: true })
}
