import { randomBytes } from 'node:crypto'
import JSZip from 'jszip'
import { describe, expect, it } from 'vitest'
import { DEFAULT_INSPECT_LIMITS, inspectPptx } from '../../../server/pptx/inspect.js'
import { fixture, makeDeck } from './helpers.js'

const CFB = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])

/** An OLE compound file header followed by a directory entry name (what .ppt and encrypted .pptx are). */
function compoundFile(streamName: string): Buffer {
  return Buffer.concat([CFB, Buffer.alloc(504), Buffer.from(streamName, 'utf16le'), Buffer.alloc(1024)])
}

async function zipOf(files: Record<string, string | Buffer>, compression: 'DEFLATE' | 'STORE' = 'DEFLATE'): Promise<Buffer> {
  const zip = new JSZip()
  for (const [name, data] of Object.entries(files)) zip.file(name, data)
  return await zip.generateAsync({ type: 'nodebuffer', compression })
}

describe('inspectPptx', () => {
  it('accepts real decks and counts their slides', async () => {
    expect(await inspectPptx(await makeDeck(3))).toMatchObject({ slideCount: 3 })
    expect(await inspectPptx(fixture('lo-mixed-16x9.pptx'))).toMatchObject({ slideCount: 3 })
  })

  it('refuses what is not a zip, a legacy .ppt, an encrypted file, Keynote, Word', async () => {
    await expect(inspectPptx(Buffer.from('%PDF-1.7 hello'))).rejects.toMatchObject({ status: 415, code: 'unsupported_file', message: expect.stringContaining('not a .pptx') })
    await expect(inspectPptx(Buffer.alloc(0))).rejects.toMatchObject({ status: 415 })
    await expect(inspectPptx(compoundFile('PowerPoint Document'))).rejects.toMatchObject({ status: 415, message: expect.stringContaining('.ppt') })
    await expect(inspectPptx(compoundFile('EncryptedPackage'))).rejects.toMatchObject({ status: 400, code: 'encrypted_pptx', message: expect.stringContaining('password') })
    await expect(inspectPptx(await zipOf({ 'Index/Document.iwa': randomBytes(100), 'Metadata/Properties.plist': 'x' }))).rejects.toMatchObject({ status: 415, message: expect.stringContaining('Keynote') })
    await expect(inspectPptx(await zipOf({ 'index.apxl': '<key/>' }))).rejects.toMatchObject({ message: expect.stringContaining('Keynote') })
    await expect(inspectPptx(await zipOf({ '[Content_Types].xml': '<Types/>', 'word/document.xml': '<w/>' }))).rejects.toMatchObject({ message: expect.stringContaining('Word') })
  })

  it('refuses a broken zip and a zip without a presentation or slides', async () => {
    const good = await makeDeck(1)
    await expect(inspectPptx(good.subarray(0, good.length >> 1))).rejects.toMatchObject({ status: 400, code: 'invalid_pptx' })
    await expect(inspectPptx(await zipOf({ 'hello.txt': 'hi' }))).rejects.toMatchObject({ status: 400, code: 'invalid_pptx' })
    await expect(inspectPptx(await zipOf({ 'ppt/presentation.xml': '<p/>' }))).rejects.toMatchObject({ status: 400, code: 'no_slides' })
  })

  it('stops a zip bomb: a huge entry from a tiny one, and a total past the limit', async () => {
    const bomb = await zipOf({ 'ppt/presentation.xml': '<p/>', 'ppt/slides/slide1.xml': '<s/>', 'ppt/media/image1.png': Buffer.alloc(20 * 1024 * 1024) })
    expect(bomb.length).toBeLessThan(100_000)
    await expect(inspectPptx(bomb)).rejects.toMatchObject({ status: 413, code: 'zip_bomb' })
    // incompressible media past a small limit: too large, whatever the zip claims
    const big = await zipOf({ 'ppt/presentation.xml': '<p/>', 'ppt/slides/slide1.xml': '<s/>', 'ppt/media/v.mp4': randomBytes(3 * 1024 * 1024) }, 'STORE')
    await expect(inspectPptx(big, { ...DEFAULT_INSPECT_LIMITS, maxUncompressedBytes: 2 * 1024 * 1024 })).rejects.toMatchObject({ status: 413, code: 'deck_too_large' })
    await expect(inspectPptx(big)).resolves.toMatchObject({ slideCount: 1 })
  })

  it('does not trust sizes the zip declares: an entry that inflates past its declared size is refused', async () => {
    const zip = await zipOf({ 'ppt/presentation.xml': '<p/>', 'ppt/slides/slide1.xml': Buffer.alloc(64 * 1024, 0x41) })
    // lower the declared uncompressed size of slide1.xml in its local header and the central directory
    const lie = Buffer.from(zip)
    let patched = 0
    for (let i = 0; i < lie.length - 30; i++) {
      const sig = lie.readUInt32LE(i)
      const nameAt = sig === 0x04034b50 ? i + 30 : sig === 0x02014b50 ? i + 46 : -1
      if (nameAt < 0) continue
      const nameLen = lie.readUInt16LE(sig === 0x04034b50 ? i + 26 : i + 28)
      if (lie.toString('utf8', nameAt, nameAt + nameLen) !== 'ppt/slides/slide1.xml') continue
      lie.writeUInt32LE(100, sig === 0x04034b50 ? i + 22 : i + 24)
      patched++
    }
    expect(patched).toBe(2)
    await expect(inspectPptx(lie)).rejects.toMatchObject({ status: 400, code: 'invalid_pptx' })
  })
})
