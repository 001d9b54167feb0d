// The demo's opening deck: an 8-page maths lesson in PPTist's slide JSON shapes
// (cover, contents, transition, four content pages, end), with the decoration shapes, lines,
// textType tags and speaker notes a deck made in PPTist typically carries.
import type { LineElement, PPTElement, ShapeElement, Slide, SlideTheme, TableCell, TextElement, TextType } from '../types/slides'

const BLUE = '#2f6fb0'
const LIGHT_BLUE = '#dbe8f6'
const ORANGE = '#f2a541'
const INK = '#333333'

const RECT = 'M 0 0 L 200 0 L 200 200 L 0 200 Z'
const CIRCLE = 'M 100 0 A 50 50 0 1 1 100 200 A 50 50 0 1 1 100 0 Z'
const TRIANGLE = 'M 0 0 L 0 200 L 200 200 Z'

function roundRectPath(w: number, h: number, r: number): string {
  return `M ${r} 0 L ${w - r} 0 Q ${w} 0 ${w} ${r} L ${w} ${h - r} Q ${w} ${h} ${w - r} ${h} L ${r} ${h} Q 0 ${h} 0 ${h - r} L 0 ${r} Q 0 0 ${r} 0 Z`
}

interface Box {
  left: number
  top: number
  width: number
  height: number
}

function text(id: string, box: Box, content: string, textType?: TextType, extra: Partial<TextElement> = {}): TextElement {
  return {
    type: 'text', id, ...box, rotate: 0, content,
    defaultFontName: '', defaultColor: INK, vertical: false,
    ...(textType ? { textType } : {}),
    ...extra,
  }
}

function shape(id: string, box: Box, path: string, fill: string, extra: Partial<ShapeElement> = {}): ShapeElement {
  return {
    type: 'shape', id, ...box, rotate: 0,
    viewBox: [200, 200], path, fill, fixedRatio: false,
    ...extra,
  }
}

function roundRect(id: string, box: Box, fill: string, radius: number, extra: Partial<ShapeElement> = {}): ShapeElement {
  return shape(id, box, roundRectPath(box.width, box.height, radius), fill, { viewBox: [box.width, box.height], ...extra })
}

function line(id: string, left: number, top: number, length: number, color: string, width = 2, style: LineElement['style'] = 'solid'): LineElement {
  return { type: 'line', id, left, top, width, start: [0, 0], end: [length, 0], points: ['', ''], color, style }
}

const p = (html: string, size: number, color = INK, align = 'left', bold = false): string => {
  const inner = `<span style="font-size: ${size}px;"><span style="color: ${color};">${html}</span></span>`
  return `<p style="text-align: ${align};">${bold ? `<strong>${inner}</strong>` : inner}</p>`
}

const bullets = (items: string[], size: number): string =>
  `<ul style="font-size: ${size}px; color: ${INK};">${items.map(i => `<li><p><span style="font-size: ${size}px;">${i}</span></p></li>`).join('')}</ul>`

// The title bar every content page shares: a blue block, the title and a thin orange rule.
function pageHeader(prefix: string, title: string): PPTElement[] {
  return [
    shape(`${prefix}-bar`, { left: 0, top: 40, width: 14, height: 56 }, RECT, BLUE),
    text(`${prefix}-title`, { left: 40, top: 36, width: 700, height: 64 }, p(title, 32, BLUE, 'left', true), 'title'),
    line(`${prefix}-rule`, 50, 104, 120, ORANGE, 3),
    shape(`${prefix}-corner`, { left: 880, top: 462.5, width: 120, height: 100 }, TRIANGLE, LIGHT_BLUE, { flipH: true }),
  ]
}

function cell(id: string, value: string, extra: TableCell['style'] = {}): TableCell {
  return { id, colspan: 1, rowspan: 1, text: value, style: { align: 'center', fontsize: '18px', ...extra } }
}

export const sampleDeckTitle = '有理数的大小比较'

export const sampleDeckTheme: Partial<SlideTheme> = {
  themeColors: [BLUE, ORANGE, '#5b9279', '#8c6bb1', '#d14424', '#8c8c8c'],
  fontColor: INK,
  backgroundColor: '#ffffff',
}

export function createSampleDeck(): Slide[] {
  return [
    {
      id: 'nb-cover',
      type: 'cover',
      background: { type: 'gradient', gradient: { type: 'linear', rotate: 0, colors: [{ pos: 0, color: '#ffffff' }, { pos: 100, color: LIGHT_BLUE }] } },
      remark: '<p>开场：用“冬天哪座城市更冷”引入，请两位同学读出气温。</p>',
      elements: [
        shape('cover-block', { left: 0, top: 0, width: 340, height: 562.5 }, RECT, BLUE),
        shape('cover-dot-1', { left: 250, top: 70, width: 180, height: 180 }, CIRCLE, ORANGE, { fixedRatio: true, opacity: 0.85 }),
        shape('cover-dot-2', { left: 60, top: 380, width: 90, height: 90 }, CIRCLE, '#ffffff', { fixedRatio: true, opacity: 0.25 }),
        text('cover-title', { left: 400, top: 190, width: 560, height: 90 }, p('有理数的大小比较', 52, BLUE, 'left', true), 'title'),
        line('cover-rule', 410, 292, 200, ORANGE, 4),
        text('cover-subtitle', { left: 400, top: 310, width: 560, height: 90 }, p('人教版 · 七年级数学上册 第一章 1.2.4', 22, '#555555') + p('主讲：李老师 &nbsp;|&nbsp; 2026 年秋季学期', 18, '#777777'), 'subtitle'),
      ],
    },
    {
      id: 'nb-contents',
      type: 'contents',
      background: { type: 'solid', color: '#ffffff' },
      elements: [
        shape('contents-side', { left: 0, top: 0, width: 300, height: 562.5 }, RECT, BLUE),
        text('contents-title', { left: 40, top: 200, width: 240, height: 80 }, p('目录', 44, '#ffffff', 'left', true), 'title'),
        text('contents-en', { left: 40, top: 270, width: 240, height: 40 }, p('CONTENTS', 18, LIGHT_BLUE), 'subtitle'),
        ...['从数轴看大小', '正数、0 与负数', '两个负数比大小', '课堂练习'].flatMap((item, i): PPTElement[] => [
          roundRect(`contents-num-${i + 1}`, { left: 380, top: 90 + i * 100, width: 64, height: 64 }, i % 2 ? ORANGE : BLUE, 8, {
            text: { content: p(`0${i + 1}`, 24, '#ffffff', 'center', true), defaultFontName: '', defaultColor: '#ffffff', align: 'middle', type: 'itemNumber' },
          }),
          text(`contents-item-${i + 1}`, { left: 470, top: 96 + i * 100, width: 440, height: 52 }, p(item, 26, INK), 'item'),
          line(`contents-line-${i + 1}`, 470, 152 + i * 100, 440, '#e0e0e0', 1, 'dashed'),
        ]),
      ],
    },
    {
      id: 'nb-transition',
      type: 'transition',
      background: { type: 'solid', color: BLUE },
      elements: [
        shape('transition-ring', { left: 90, top: 160, width: 240, height: 240 }, CIRCLE, '#ffffff', { fixedRatio: true, opacity: 0.15 }),
        text('transition-number', { left: 110, top: 215, width: 200, height: 120 }, p('01', 88, '#ffffff', 'center', true), 'partNumber'),
        text('transition-title', { left: 380, top: 210, width: 560, height: 72 }, p('从数轴看大小', 44, '#ffffff', 'left', true), 'title'),
        line('transition-rule', 390, 292, 160, ORANGE, 4),
        text('transition-sub', { left: 380, top: 305, width: 560, height: 48 }, p('数轴上右边的点表示的数总比左边的大', 20, LIGHT_BLUE), 'content'),
      ],
    },
    {
      id: 'nb-rules',
      type: 'content',
      background: { type: 'solid', color: '#ffffff' },
      remark: '<p>强调“数轴上从左到右，数越来越大”，让学生先在数轴上标出 -3、-1、0、2。</p>',
      elements: [
        ...pageHeader('rules', '比较法则'),
        text('rules-body', { left: 60, top: 140, width: 560, height: 300 }, bullets([
          '<strong>正数</strong>大于 0，0 大于<strong>负数</strong>；',
          '正数大于一切负数；',
          '两个负数，<strong>绝对值大的反而小</strong>；',
          '在数轴上，右边的点表示的数总比左边的大。',
        ], 22), 'content', { lineHeight: 1.8, paragraphSpace: 12 }),
        roundRect('rules-tip', { left: 660, top: 150, width: 280, height: 220 }, LIGHT_BLUE, 12, {
          text: {
            content: p('口诀', 22, BLUE, 'center', true) + p('正大于零，零大于负；', 18, INK, 'center') + p('负负相比，绝对值大的反而小。', 18, INK, 'center'),
            defaultFontName: '', defaultColor: INK, align: 'middle', type: 'content',
          },
        }),
      ],
    },
    {
      id: 'nb-negative',
      type: 'content',
      background: { type: 'solid', color: '#ffffff' },
      remark: '<p>先求绝对值，再比较：|-5| = 5 &gt; |-3| = 3，所以 -5 &lt; -3。</p>',
      elements: [
        ...pageHeader('negative', '两个负数比大小'),
        roundRect('negative-steps', { left: 60, top: 140, width: 380, height: 260 }, BLUE, 10, {
          text: {
            content: p('三步走', 24, '#ffffff', 'left', true) + p('① 分别求出两个负数的绝对值', 18, '#ffffff') + p('② 比较两个绝对值的大小', 18, '#ffffff') + p('③ 绝对值大的负数反而小', 18, '#ffffff'),
            defaultFontName: '', defaultColor: '#ffffff', align: 'middle', inset: [20, 24, 20, 24], type: 'content',
          },
        }),
        {
          type: 'table', id: 'negative-table', left: 480, top: 140, width: 460, height: 260, rotate: 0,
          outline: { width: 2, style: 'solid', color: '#eeeeee' },
          theme: { color: BLUE, rowHeader: true, rowFooter: false, colHeader: false, colFooter: false },
          colWidths: [0.34, 0.33, 0.33],
          cellMinHeight: 52,
          data: [
            [cell('t-h1', '两个数', { bold: true, color: '#ffffff' }), cell('t-h2', '绝对值', { bold: true, color: '#ffffff' }), cell('t-h3', '结论', { bold: true, color: '#ffffff' })],
            [cell('t-11', '-5 与 -3'), cell('t-12', '5 &gt; 3'), cell('t-13', '-5 &lt; -3')],
            [cell('t-21', '-0.5 与 -1'), cell('t-22', '0.5 &lt; 1'), cell('t-23', '-0.5 &gt; -1')],
            [cell('t-31', '-2/3 与 -3/4'), cell('t-32', '8/12 &lt; 9/12'), cell('t-33', '-2/3 &gt; -3/4')],
            [cell('t-41', '-7 与 -7'), cell('t-42', '7 = 7'), cell('t-43', '-7 = -7')],
          ],
        },
        text('negative-note', { left: 60, top: 420, width: 880, height: 40 }, p('注意：分数比较时先通分，再比较绝对值。', 16, '#888888'), 'notes'),
      ],
    },
    {
      id: 'nb-columns',
      type: 'content',
      background: { type: 'solid', color: '#ffffff' },
      elements: [
        ...pageHeader('columns', '两种比较方法'),
        roundRect('columns-left-card', { left: 60, top: 140, width: 420, height: 300 }, '#f7f9fc', 8, { outline: { width: 1, color: '#d5e0ee', style: 'solid' } }),
        roundRect('columns-right-card', { left: 520, top: 140, width: 420, height: 300 }, '#fff8ee', 8, { outline: { width: 1, color: '#f3dcb4', style: 'solid' } }),
        text('columns-left-title', { left: 80, top: 155, width: 380, height: 50 }, p('方法一：数轴法', 24, BLUE, 'left', true), 'itemTitle'),
        text('columns-left-body', { left: 80, top: 210, width: 380, height: 200 }, p('把数在数轴上表示出来，右边的总比左边的大。', 18) + p('适合：数比较少、便于画图的时候。', 18, '#666666') + p('例：-3 在 -1 的左边，所以 -3 &lt; -1。', 18, BLUE), 'item'),
        text('columns-right-title', { left: 540, top: 155, width: 380, height: 50 }, p('方法二：法则法', 24, '#c77c0a', 'left', true), 'itemTitle'),
        text('columns-right-body', { left: 540, top: 210, width: 380, height: 200 }, p('先判断正负，同为负数时比较绝对值。', 18) + p('适合：数较多或是分数、小数的时候。', 18, '#666666') + p('例：|-0.2| &lt; |-0.3|，所以 -0.2 &gt; -0.3。', 18, '#c77c0a'), 'item'),
      ],
    },
    {
      id: 'nb-practice',
      type: 'content',
      background: { type: 'solid', color: '#ffffff' },
      remark: '<p>练习 5 分钟，请三位同学到黑板上写出比较过程。</p>',
      elements: [
        ...pageHeader('practice', '课堂练习'),
        ...['比较 -2.5 与 -2 的大小', '把 -3、0、1.5、-1/2 按从小到大排列', '气温 -8 ℃ 和 -12 ℃，哪个更冷？'].flatMap((q, i): PPTElement[] => [
          shape(`practice-dot-${i + 1}`, { left: 70, top: 162 + i * 90, width: 36, height: 36 }, CIRCLE, ORANGE, {
            fixedRatio: true,
            text: { content: p(`${i + 1}`, 18, '#ffffff', 'center', true), defaultFontName: '', defaultColor: '#ffffff', align: 'middle', inset: [0, 0, 0, 0], type: 'itemNumber' },
          }),
          text(`practice-q-${i + 1}`, { left: 120, top: 156 + i * 90, width: 780, height: 48 }, p(q, 22), 'item'),
        ]),
      ],
    },
    {
      id: 'nb-end',
      type: 'end',
      background: { type: 'solid', color: '#ffffff' },
      elements: [
        shape('end-circle-1', { left: 820, top: 380, width: 300, height: 300 }, CIRCLE, BLUE, { fixedRatio: true, opacity: 0.15 }),
        shape('end-circle-2', { left: -150, top: -150, width: 320, height: 320 }, CIRCLE, BLUE, { fixedRatio: true }),
        text('end-title', { left: 250, top: 180, width: 500, height: 90 }, p('谢谢观看', 54, BLUE, 'center', true), 'title'),
        roundRect('end-tag', { left: 350, top: 290, width: 300, height: 44 }, ORANGE, 6, {
          text: { content: p('课后作业：习题 1.2 第 4、5 题', 16, '#ffffff', 'center'), defaultFontName: '', defaultColor: '#ffffff', align: 'middle' },
        }),
      ],
    },
  ]
}
