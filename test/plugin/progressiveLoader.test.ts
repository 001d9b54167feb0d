import { describe, expect, it } from 'vitest'
import { createProgressiveLoader } from '../../plugin/composables/useImagePreload'

/** A load function whose calls wait until the test settles them, by src. */
function controlledLoads() {
  const started: string[] = []
  const pending = new Map<string, { resolve: () => void; reject: (e: Error) => void }>()
  const load = (src: string) => new Promise<void>((resolve, reject) => {
    started.push(src)
    pending.set(src, { resolve, reject })
  })
  const settle = async (src: string, error?: Error) => {
    const p = pending.get(src)
    if (!p) throw new Error(`${src} was not asked for`)
    if (error) p.reject(error)
    else p.resolve()
    // let the chained promises run
    for (let i = 0; i < 10; i++) await Promise.resolve()
  }
  return { started, load, settle }
}

const tick = (ms = 0) => new Promise(resolve => setTimeout(resolve, ms))

describe('createProgressiveLoader', () => {
  it('loads the preview first and the full image once the preview has loaded; first gives the preview, full the image', async () => {
    const { started, load, settle } = controlledLoads()
    const loader = createProgressiveLoader(load, load)
    const image = loader('p1.png', 'p1.embed.jpg')
    let first: string | undefined
    void image.first.then(src => { first = src })
    await tick()
    expect(started).toEqual(['p1.embed.jpg'])
    await settle('p1.embed.jpg')
    expect(first).toBe('p1.embed.jpg')
    expect(started).toEqual(['p1.embed.jpg', 'p1.png'])
    await settle('p1.png')
    expect(await image.full).toBe('p1.png')
  })

  it('full images load one at a time, and not while another preview is loading', async () => {
    const { started, load, settle } = controlledLoads()
    const loader = createProgressiveLoader(load, load)
    const a = loader('a.png', 'a.embed.jpg')
    const b = loader('b.png', 'b.embed.jpg')
    await settle('a.embed.jpg')
    // b's preview still loading: a's full image waits for it
    expect(started).toEqual(['a.embed.jpg', 'b.embed.jpg'])
    await settle('b.embed.jpg')
    expect(started).toEqual(['a.embed.jpg', 'b.embed.jpg', 'a.png'])
    await settle('a.png')
    expect(started.at(-1)).toBe('b.png')
    await settle('b.png')
    expect([await a.full, await b.full]).toEqual(['a.png', 'b.png'])
  })

  it('a preview that hangs holds the full images back only for the head start; one slow full image only for maxHoldMs', async () => {
    const { started, load, settle } = controlledLoads()
    const loader = createProgressiveLoader(load, load, { headStartMs: 20, maxHoldMs: 20 })
    const a = loader('a.png', 'a.embed.jpg')
    loader('b.png', 'b.embed.jpg')
    await tick(40)
    expect(started).toContain('a.png')
    await tick(40)
    // a.png never answered: b.png went ahead after a's hold ran out
    expect(started).toContain('b.png')
    // with no preview loaded, the first to load is the full image
    await settle('a.png')
    expect(await a.first).toBe('a.png')
  })

  it('a preview that fails (an older proxy has none): the full image is asked for at once and shown first', async () => {
    const { started, load, settle } = controlledLoads()
    const loader = createProgressiveLoader(load, load, { headStartMs: 60_000 })
    const image = loader('p1.png', 'p1.embed.jpg')
    await settle('p1.embed.jpg', new Error('404'))
    expect(started).toEqual(['p1.embed.jpg', 'p1.png'])
    await settle('p1.png')
    expect(await image.first).toBe('p1.png')
  })

  it('neither loads: first rejects with the full image\'s error', async () => {
    const { load, settle } = controlledLoads()
    const loader = createProgressiveLoader(load, load)
    const image = loader('p1.png', 'p1.embed.jpg')
    await settle('p1.embed.jpg', new Error('preview 404'))
    await settle('p1.png', new Error('image failed to load'))
    await expect(image.first).rejects.toThrow('image failed to load')
    await expect(image.full).rejects.toThrow('image failed to load')
  })
})
