import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { makeVariants, type VariantTarget } from '../../server/imageVariants.js'

const png = (width = 1200, height = 675) => sharp({ create: { width, height, channels: 3, background: '#2a6' } }).png().toBuffer()

function deferred() {
  let resolve: () => void = () => undefined
  let reject: (err: Error) => void = () => undefined
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/** A target recording what it stores (key → JPEG) */
function recorder(): VariantTarget & { stored: Map<string, Buffer> } {
  const stored = new Map<string, Buffer>()
  return { stored, thumbnail: { width: 300, height: 169 }, put: async (key, jpeg) => { stored.set(key, jpeg) } }
}

describe('image variants after a page', () => {
  it('are decoded from the bytes while the image is still being written, and stored only once it is', async () => {
    const bytes = await png()
    const target = recorder()
    const write = deferred()
    // a path that does not exist: the variants must come from the bytes
    const jobs = makeVariants('a'.repeat(32), { bytes, storedAt: '/nonexistent/image.png' }, write.promise, target)
    // the decode is done (the bytes are free again) while the write has not finished: nothing stored yet
    await jobs.released
    expect(target.stored.size).toBe(0)
    write.resolve()
    const [embed, thumb] = await Promise.all([jobs.embed, jobs.thumbnail])
    expect(embed).toMatchObject({ ok: true, from: 'bytes' })
    expect(thumb).toMatchObject({ ok: true, from: 'bytes' })
    expect([...target.stored.keys()].sort()).toEqual([`${'a'.repeat(32)}.embed.jpg`, `${'a'.repeat(32)}.thumb.jpg`])
    const meta = await sharp(target.stored.get(`${'a'.repeat(32)}.thumb.jpg`)).metadata()
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 300, 169])
  })

  it('are not stored at all when the image could not be written', async () => {
    const target = recorder()
    const write = deferred()
    const jobs = makeVariants('b'.repeat(32), { bytes: await png(), storedAt: '/nonexistent/image.png' }, write.promise, target)
    write.reject(new Error('ENOSPC'))
    expect(await jobs.embed).toMatchObject({ ok: false, error: 'the image was not stored' })
    expect(await jobs.thumbnail).toMatchObject({ ok: false })
    await jobs.released
    expect(target.stored.size).toBe(0)
  })

  it('while the queue is busy, a page waits with where its image is stored, not with its bytes', async () => {
    const bytes = await png(2400, 1350)
    const target = recorder()
    const stored = Promise.resolve()
    // one job per core, at most four: the fifth waits
    const first = Array.from({ length: 4 }, (_, i) => makeVariants(String(i).repeat(32), { bytes, storedAt: bytes }, stored, target))
    // the bytes handed over here are never decoded: only what storedAt names, read once stored
    const other = await png(800, 450)
    const second = makeVariants('d'.repeat(32), { bytes: Buffer.from('not an image'), storedAt: other }, stored, target)
    expect(await first[0].thumbnail).toMatchObject({ ok: true, from: 'bytes' })
    expect(await second.thumbnail).toMatchObject({ ok: true, from: 'stored' })
    await second.released
    expect((await sharp(target.stored.get(`${'d'.repeat(32)}.embed.jpg`)).metadata()).width).toBe(800)
  })
})
