import { inject, type InjectionKey } from 'vue'

export type DemoLocale = 'zh' | 'en'

const messages = {
  zh: {
    undo: '撤销（Ctrl + Z）',
    redo: '重做（Ctrl + Y）',
    importJson: '导入 PPTist JSON',
    importPptx: '导入 PPTX',
    importPptxFailed: '无法正确读取 / 解析该 PPTX 文件',
    exportJson: '导出 JSON',
    importFailed: '无法正确读取 / 解析该文件',
    imported: '已导入',
    slideCount: (i: number, n: number) => `幻灯片 ${i} / ${n}`,
    remark: '备注',
    remarkEmpty: '这一页没有备注',
    design: '幻灯片设计',
    background: '背景',
    pageType: '页面类型',
    elements: '元素',
    backgroundTypes: { solid: '纯色', image: '图片', gradient: '渐变' } as Record<string, string>,
    slideTypes: { cover: '封面页', contents: '目录页', transition: '过渡页', content: '内容页', end: '结束页' } as Record<string, string>,
    untyped: '未标注',
    editTitle: '点击修改标题',
    addSlide: '添加幻灯片',
  },
  en: {
    undo: 'Undo (Ctrl + Z)',
    redo: 'Redo (Ctrl + Y)',
    importJson: 'Open PPTist JSON',
    importPptx: 'Open PPTX',
    importPptxFailed: 'This file could not be read as a .pptx',
    exportJson: 'Export JSON',
    importFailed: 'This file could not be read as a PPTist deck',
    imported: 'Imported',
    slideCount: (i: number, n: number) => `Slide ${i} / ${n}`,
    remark: 'Notes',
    remarkEmpty: 'No speaker notes on this slide',
    design: 'Slide design',
    background: 'Background',
    pageType: 'Page type',
    elements: 'Elements',
    backgroundTypes: { solid: 'Solid', image: 'Image', gradient: 'Gradient' } as Record<string, string>,
    slideTypes: { cover: 'Cover', contents: 'Contents', transition: 'Transition', content: 'Content', end: 'End' } as Record<string, string>,
    untyped: 'Not set',
    editTitle: 'Click to rename',
    addSlide: 'New slide',
  },
}

export type DemoMessages = typeof messages.zh

export const demoMessagesKey: InjectionKey<DemoMessages> = Symbol('demoMessages')

export function localeFromUrl(search: string): DemoLocale {
  return new URLSearchParams(search).get('lang') === 'en' ? 'en' : 'zh'
}

export function demoMessages(locale: DemoLocale): DemoMessages {
  return messages[locale]
}

export function useDemoMessages(): DemoMessages {
  return inject(demoMessagesKey, messages.zh)
}
