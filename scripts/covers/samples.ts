// Sample slide text for each template cover: a content page on a topic the style is made for,
// so the cover shows title, bullets and decoration together (it is also the model's style reference).
import type { SlideContent } from '../../server/render/types.js'

type Sample = Pick<SlideContent, 'title' | 'content' | 'deckTitle'>

export const COVER_SAMPLES: Record<string, Sample> = {
  nano_banana_1: {
    deckTitle: '2025 年度经营分析',
    title: '营收同比增长 35%，利润率稳步提升',
    content: '核心产品线贡献超过 60% 的营业收入\n海外市场实现突破，东南亚销售额翻倍\n数字化平台上线，运营成本下降 18%\n客户续约率达到 92%，满意度持续领先',
  },
  nano_banana_2: {
    deckTitle: 'AI 平台发布会',
    title: '下一代智能计算平台',
    content: '自研推理引擎，响应延迟降低 70%\n多模态大模型，一个接口理解文本与图像\n云边协同架构，百万设备实时在线\n开放生态：SDK、插件市场与开发者计划',
  },
  nano_banana_3: {
    deckTitle: '初一数学 · 有理数',
    title: '有理数的大小比较',
    content: '正数都大于 0，负数都小于 0\n正数大于一切负数\n两个负数比较，绝对值大的反而小\n在数轴上，右边的数总比左边的数大',
  },
  nano_banana_4: {
    deckTitle: '双十一营销方案',
    title: '引爆双十一：三步打造爆款',
    content: '预热期：短视频种草，话题曝光破亿\n爆发期：直播间限时秒杀，满减叠加\n返场期：会员专享福利，提升复购\n全渠道联动，目标 GMV 同比增长 50%',
  },
  nano_banana_5: {
    deckTitle: '品牌设计提案',
    title: '少即是多：品牌视觉的克制之美',
    content: '一种主色，建立统一识别\n大量留白，让信息自己说话\n严格网格，保证版面秩序\n细节精确到像素，成就整体质感',
  },
  nano_banana_6: {
    deckTitle: '硕士学位论文答辩',
    title: '研究方法与实验设计',
    content: '基于多源遥感数据构建训练样本集\n提出注意力融合网络，提升分类精度\n在三个公开数据集上进行对比实验\n消融实验验证各模块的有效性',
  },
  nano_banana_7: {
    deckTitle: '新春品牌活动',
    title: '传承经典 · 国潮新春礼遇',
    content: '非遗工艺联名礼盒，限量发售\n祥云纹样焕新演绎，传统与潮流相融\n线下庙会快闪，沉浸式年味体验\n集福卡赢好礼，全民共享新春喜悦',
  },
  nano_banana_8: {
    deckTitle: '生活方式品牌手册',
    title: '慢生活，好好爱自己',
    content: '晨间十分钟，与自己安静对话\n用温和的色彩布置居住空间\n每周一次，远离屏幕走进自然\n记录小确幸，感受平凡日子的美好',
  },
  nano_banana_9: {
    deckTitle: '创意工作坊',
    title: '头脑风暴：点子从哪里来？',
    content: '先求数量，再求质量\n不评判，鼓励天马行空\n在别人的想法上继续生长\n画出来比说出来更清楚',
  },
  nano_banana_10: {
    deckTitle: '品牌故事',
    title: '光影之间，讲述城市的故事',
    content: '十二位摄影师，记录城市的清晨与黄昏\n以人物为线索，串起街巷的温度\n一本杂志，一场展览，一部短片\n让每一个普通人成为故事的主角',
  },
  nano_banana_11: {
    deckTitle: '季度数据报告',
    title: 'Q3 核心指标：用户增长 42%',
    content: '月活跃用户突破 1,200 万\n付费转化率由 3.1% 提升至 4.6%\n平均会话时长增长 18%\n华东与华南贡献 65% 的新增用户',
  },
  nano_banana_12: {
    deckTitle: '快乐自然课',
    title: '认识彩虹的七种颜色',
    content: '红橙黄绿青蓝紫，排排站好队\n雨后出太阳，彩虹就会出现\n阳光里藏着很多种颜色\n动手试一试：用水杯做彩虹',
  },
}
