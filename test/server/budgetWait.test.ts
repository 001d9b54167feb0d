// Pages waiting for a spend budget wait visibly (issue #10 item 1): the page event and the progress
// say so (waiting_for_budget), and once the budget allows the call the page runs and the flag goes.
import { afterEach, describe, expect, it } from 'vitest'
import { getJson, okImage, openSse, pages, postJson, scriptedProvider, startTestServer, tempDir, waitUntil } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

interface PageData { page_number: number; status: string; waiting_for_budget?: boolean; budget_resumes_at?: string }
interface ProgressData { waiting_for_budget?: boolean; completed_pages: number; budget_resumes_in_seconds?: number; estimated_remaining_time: number }

describe('a page waiting for the budget', () => {
  it('is pending with waiting_for_budget in its page event, progress and snapshot; when the budget allows it, it runs and the flag goes', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const provider = scriptedProvider(() => okImage())
    // 0.24 per image, 0.5 per 10 min: two images fit, the third waits — until the price drops
    let price = 0.24
    const server = await startTestServer({ provider, dataDir: t.dir, price: () => price, spendPollMs: 20, config: { budget: { per10MinUsd: 0.5 }, maxConcurrentGenerations: 1 } })
    cleanups.push(() => server.stop())
    const base = `${server.url}/api/v1/slide-generations/batches`
    const created = await postJson(base, { template_id: 'nano_banana_1', deck_title: 'Budget', pages: pages(3), options: { style_chain: false } })
    expect(created.status).toBe(202)
    const sse = await openSse(`${base}/${created.body.batch_id}/events`)
    const waiting = await sse.waitFor(e => e.event === 'page' && (e.data as PageData).page_number === 3 && !!(e.data as PageData).waiting_for_budget)
    expect(waiting.data).toMatchObject({ status: 'pending', waiting_for_budget: true })
    const waitingProgress = (await sse.waitFor(e => e.event === 'progress' && (e.data as ProgressData).waiting_for_budget === true)).data as ProgressData
    // page 2's image may still be being stored while page 3 starts waiting (its slot is freed for that)
    await waitUntil(async () => (await getJson(`${base}/${created.body.batch_id}/progress`)).body.progress.completed_pages === 2)
    const progress = await getJson(`${base}/${created.body.batch_id}/progress`)
    expect(progress.body).toMatchObject({ status: 'generating', waiting_for_budget: true, progress: { completed_pages: 2, failed_pages: 0 } })
    // when: the first charge leaves the rolling 10 minutes (~600 s from now), and the estimate is not a fake few seconds
    for (const p of [progress.body as ProgressData, waitingProgress]) {
      expect(p.budget_resumes_in_seconds).toBeGreaterThan(590)
      expect(p.budget_resumes_in_seconds).toBeLessThanOrEqual(601)
      expect(p.estimated_remaining_time).toBeGreaterThanOrEqual(p.budget_resumes_in_seconds!)
    }
    const resumesAt = Date.parse((waiting.data as PageData).budget_resumes_at ?? '')
    expect(resumesAt - Date.now()).toBeGreaterThan(590_000)
    expect(resumesAt - Date.now()).toBeLessThanOrEqual(601_000)
    expect(progress.body.results.map((r: PageData) => r.waiting_for_budget ?? false)).toEqual([false, false, true])
    // looking again (every 20 ms here) sends nothing new
    const before = sse.events.length
    await new Promise(r => setTimeout(r, 300))
    expect(sse.events.length).toBe(before)
    expect(provider.calls).toHaveLength(2)

    price = 0.01
    const done = await sse.waitFor(e => e.event === 'done')
    expect(done.data).toMatchObject({ status: 'completed', completed_pages: 3 })
    const page3 = sse.events.filter(e => e.event === 'page' && (e.data as PageData).page_number === 3).map(e => e.data as PageData)
    expect(page3.map(p => `${p.status}${p.waiting_for_budget ? '+budget' : ''}`)).toEqual(['pending+budget', 'generating', 'completed'])
    const lastProgress = sse.events.filter(e => e.event === 'progress').at(-1)!.data as ProgressData
    expect(lastProgress.waiting_for_budget).toBe(false)
    expect(lastProgress.budget_resumes_in_seconds).toBeUndefined()
    const after = await getJson(`${base}/${created.body.batch_id}/progress`)
    expect(after.body.waiting_for_budget).toBe(false)
    expect(after.body.budget_resumes_in_seconds).toBeUndefined()
    expect(after.body.results[2].waiting_for_budget).toBeUndefined()
    expect(after.body.results[2].budget_resumes_at).toBeUndefined()
  })

  it('a queued page dearer than a whole budget (the price rose after it was accepted) fails unpaid with budget_below_price instead of waiting for ever', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    let price = 0.24
    const provider = scriptedProvider(() => {
      price = 0.6 // from now on one image costs more than the whole $0.50 per 10 minutes
      return okImage()
    })
    const server = await startTestServer({ provider, dataDir: t.dir, price: () => price, spendPollMs: 20, config: { budget: { per10MinUsd: 0.5 }, maxConcurrentGenerations: 1 } })
    cleanups.push(() => server.stop())
    const base = `${server.url}/api/v1/slide-generations/batches`
    const created = await postJson(base, { template_id: 'nano_banana_1', deck_title: 'Dear', pages: pages(2), options: { style_chain: false } })
    expect(created.status).toBe(202)
    await waitUntil(async () => (await getJson(`${base}/${created.body.batch_id}/progress`)).body.status === 'partial')
    const p = await getJson(`${base}/${created.body.batch_id}/progress`)
    expect(p.body.results[1]).toMatchObject({ status: 'failed', error_code: 'budget_below_price', error_message: expect.stringMatching(/costs \$0\.6, more than the proxy's whole budget of \$0\.50 per 10 minutes.*nothing was paid/) })
    expect(provider.calls).toHaveLength(1)
  })

  it('a cancelled batch no longer says it waits', async () => {
    const t = await tempDir()
    cleanups.push(t.cleanup)
    const provider = scriptedProvider(() => okImage())
    const server = await startTestServer({ provider, dataDir: t.dir, price: () => 0.3, spendPollMs: 20, config: { budget: { per10MinUsd: 0.5 } } })
    cleanups.push(() => server.stop())
    const base = `${server.url}/api/v1/slide-generations/batches`
    const created = await postJson(base, { template_id: 'nano_banana_1', deck_title: 'Cancel', pages: pages(2), options: { style_chain: false } })
    await waitUntil(async () => (await getJson(`${base}/${created.body.batch_id}/progress`)).body.waiting_for_budget === true)
    const cancelled = await postJson(`${base}/${created.body.batch_id}/cancel`, {})
    expect(cancelled.body).toMatchObject({ status: 'cancelled', waiting_for_budget: false })
    expect(cancelled.body.results[1]).toMatchObject({ status: 'cancelled' })
    expect(cancelled.body.results[1].waiting_for_budget).toBeUndefined()
    expect(provider.calls).toHaveLength(1)
  })
})
