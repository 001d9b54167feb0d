// Realistic batch records as the memory set-up writes them (server/engine/records.ts), for the
// retention test and the start-up bench: finished batches of a few pages with page text, image keys
// and a last progress line, like a day of use leaves behind.
import { randomBytes } from 'node:crypto'
import { pendingPage, type BatchRecord, type PageRecord } from '../../server/engine/records.js'

export const newBatchId = (): string => `b_${randomBytes(12).toString('hex')}`

/**
 * A batch of `pages` pages; finished (all completed) unless `unfinished` (page 2 on are pending).
 * `client`: its owner (default `default`; null: none recorded, any client may read it).
 */
export function batchRecord(id: string, pages = 8, opts: { unfinished?: boolean; at?: Date; client?: string | null } = {}): BatchRecord {
  const at = (opts.at ?? new Date()).toISOString()
  const list: PageRecord[] = Array.from({ length: pages }, (_, i) => {
    const done = !opts.unfinished || i === 0
    const key = randomBytes(16).toString('hex')
    return {
      ...pendingPage({
        page_number: i + 1,
        slide_id: `slide-${i + 1}-${randomBytes(4).toString('hex')}`,
        page_type: i === 0 ? 'cover' : 'content',
        title: `第 ${i + 1} 页：季度经营回顾与下一步计划`,
        content: '本季度收入同比增长 18%，新客户数量创新高。重点项目按计划推进，交付周期缩短两周。'.repeat(4),
        notes: 'Speaker notes: walk through the numbers, then the plan for next quarter.',
      }),
      status: done ? 'completed' : 'pending',
      image_key: done ? `${key}.png` : null,
      thumbnail_key: done ? `${key}.thumb.jpg` : null,
    }
  })
  return {
    version: 1,
    batch_id: id,
    created_at: at,
    updated_at: at,
    template_id: 'nano_banana_1',
    deck_title: 'Quarterly review',
    options: { aspect_ratio: '16:9', resolution: '2K', mode: 'full', language: 'zh', extra_prompt: '', style_chain: true },
    status: opts.unfinished ? 'generating' : 'completed',
    last_event_id: opts.unfinished ? 3 : pages * 2 + 1,
    ...(opts.client === null ? {} : { client: opts.client ?? 'default' }),
    last_progress: JSON.stringify({ current_page: pages, total_pages: pages, completed_pages: pages, failed_pages: 0, percentage: 100, estimated_remaining_time: 0, waiting_for_quota: false }),
    pages: list,
  }
}
