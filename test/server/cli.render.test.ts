// The CLI's render command against a running proxy (a scripted provider), as a user runs it.
import { spawn } from 'node:child_process'
import { copyFile, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NANO_BANANA_TEMPLATES } from '../../plugin/configs/nanoBananaTemplates.js'
import { readDeck } from '../../server/pptx/read.js'
import { ProviderError } from '../../server/providers/types.js'
import { fakePublicDir, okImage, scriptedProvider, startTestServer, tempDir, type TestServer } from './helpers.js'
import { FIXTURES } from './pptx/helpers.js'

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'nano-banana-pptist.mjs')

function run(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NANO_BANANA_TOKEN: '', PROXY_TOKEN: '' } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => (stdout += d))
    child.stderr.on('data', d => (stderr += d))
    child.on('close', code => resolve({ code, stdout, stderr }))
  })
}

let tmp: Awaited<ReturnType<typeof tempDir>>
let server: TestServer
let failAll = false
let provider: ReturnType<typeof scriptedProvider>
const template = NANO_BANANA_TEMPLATES[1]

beforeAll(async () => {
  tmp = await tempDir('nb-cli-')
  const publicDir = await fakePublicDir(tmp.dir)
  provider = scriptedProvider(page => (failAll || page === 2 ? new ProviderError('refused', 'safety_refused', 'refused by the safety filter') : okImage()))
  server = await startTestServer({ provider, dataDir: tmp.dir, publicDir })
  await copyFile(path.join(FIXTURES, 'lo-mixed-16x9.pptx'), path.join(tmp.dir, 'talk.pptx'))
  // a deck never rendered before (identical requests would reuse the stored images)
  await copyFile(path.join(FIXTURES, 'lo-text-4x3.pptx'), path.join(tmp.dir, 'other.pptx'))
})
afterAll(async () => {
  await server?.stop()
  await tmp?.cleanup()
})

describe('nano-banana-pptist render', () => {
  it('--dry-run prints the pages and the estimate, writes nothing', async () => {
    const r = await run(['render', 'talk.pptx', '--server', server.url, '--dry-run'], tmp.dir)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('talk.pptx: 3 slides, 16:9')
    expect(r.stdout).toContain('成绩对比 Scores')
    expect(r.stdout).toMatch(/3 pages at 1K: about .+, cost/)
    await expect(stat(path.join(tmp.dir, 'talk.banana.pptx'))).rejects.toThrow()
  })

  it('writes the deck even when a page failed, and says which; exit 0', async () => {
    const r = await run(['render', 'talk.pptx', '--server', server.url, '--template', template.name_en ?? template.name, '--mode', 'background'], tmp.dir)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('3 slides → 3 pages')
    expect(r.stdout).toMatch(/Wrote .*talk\.banana\.pptx: 2 of 3 slides rendered/)
    expect(r.stdout).toContain('slide 2 failed: refused by the safety filter')
    const deck = await readDeck(await readFile(path.join(tmp.dir, 'talk.banana.pptx')))
    expect(deck.slides[0].textBoxes.map(b => b.text)).toEqual(['有理数的大小比较', 'Comparing rational numbers'])
  })

  it('exit 1 and no file when nothing could be rendered; exit 2 on usage errors', async () => {
    failAll = true
    try {
      const r = await run(['render', 'other.pptx', '-o', 'none.pptx', '--server', server.url, '--template', template.id], tmp.dir)
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('Nothing could be rendered')
      await expect(stat(path.join(tmp.dir, 'none.pptx'))).rejects.toThrow()
    }
    finally {
      failAll = false
    }
    expect((await run(['render', 'talk.pptx', '--server', server.url], tmp.dir)).code).toBe(2)
    const unknown = await run(['render', 'talk.pptx', '--server', server.url, '--template', 'no-such-style'], tmp.dir)
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining(template.id)])
    const notPptx = await run(['render', 'package.json', '--server', server.url, '--dry-run'], path.resolve(BIN, '..', '..'))
    expect([notPptx.code, notPptx.stderr]).toEqual([1, expect.stringContaining('not a .pptx')])
    const down = await run(['render', 'talk.pptx', '--server', 'http://127.0.0.1:9', '--dry-run'], tmp.dir)
    expect([down.code, down.stderr]).toEqual([1, expect.stringContaining('cannot reach the proxy')])
  })

  it('checks where the deck goes before anything is paid: -o naming the input, a directory or a missing folder is a usage error, no call made (tester N7)', async () => {
    const calls = provider.calls.length
    const before = await readFile(path.join(tmp.dir, 'talk.pptx'))
    for (const [out, says] of [['talk.pptx', 'is the deck being rendered'], ['.', 'is a directory'], ['no/such/dir/out.pptx', 'its folder does not exist']] as const) {
      const r = await run(['render', 'talk.pptx', '-o', out, '--server', server.url, '--template', template.id], tmp.dir)
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(says)])
    }
    expect(provider.calls.length).toBe(calls)
    expect(await readFile(path.join(tmp.dir, 'talk.pptx'))).toEqual(before)
  })
})
