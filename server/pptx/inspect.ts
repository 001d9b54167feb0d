// Checks an uploaded file before anything parses it: is it a .pptx at all, is it safe to unpack?
// Every refusal is a DeckError with a machine code and a sentence for the user.
// Zip entries are read with yauzl (it validates declared sizes against the inflated bytes), so a
// zip bomb is stopped by counting the bytes actually inflated, not by trusting the central directory.
import yauzl from 'yauzl'

export class DeckError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: unknown[] = []) {
    super(message)
    this.name = 'DeckError'
  }
}

export interface InspectLimits {
  /** total inflated bytes of all entries (default 256 MB) */
  maxUncompressedBytes: number
  /** number of zip entries (default 10,000) */
  maxEntries: number
  /** inflated / compressed of one entry above this, and over 1 MB inflated, is a bomb (default 200) */
  maxRatio: number
}

export const DEFAULT_INSPECT_LIMITS: InspectLimits = {
  maxUncompressedBytes: 256 * 1024 * 1024,
  maxEntries: 10_000,
  maxRatio: 200,
}

export interface InspectResult {
  /** `ppt/slides/slideN.xml` parts */
  slideCount: number
  entries: number
  uncompressedBytes: number
}

const CFB_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])
// An Office file saved with a password is an OLE compound file holding an "EncryptedPackage" stream
// ([MS-OFFCRYPTO] 2.3.4.4); the stream names are UTF-16LE in the directory sectors.
const ENCRYPTED_PACKAGE = Buffer.from('EncryptedPackage', 'utf16le')

function notPptx(message: string): DeckError {
  return new DeckError(415, 'unsupported_file', message)
}

/** Opens the zip, inflates every entry (counting bytes) and returns the entry names. */
async function walkZip(buf: Buffer, limits: InspectLimits): Promise<{ names: string[]; total: number }> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }, (err, z) => (err || !z ? reject(err ?? new Error('no zip')) : resolve(z)))
  }).catch((err: unknown) => {
    throw new DeckError(400, 'invalid_pptx', `The file is not a readable .pptx (broken zip: ${(err as Error).message})`)
  })
  const names: string[] = []
  let total = 0
  return await new Promise((resolve, reject) => {
    const fail = (e: DeckError) => {
      zip.close()
      reject(e)
    }
    zip.on('error', (err: Error) => fail(err instanceof DeckError ? err : new DeckError(400, 'invalid_pptx', `The file is not a readable .pptx (broken zip: ${err.message})`)))
    zip.on('end', () => resolve({ names, total }))
    zip.on('entry', (entry: yauzl.Entry) => {
      names.push(entry.fileName)
      if (names.length > limits.maxEntries) return fail(new DeckError(413, 'deck_too_large', `The file holds more than ${limits.maxEntries} parts; that is not a normal presentation`))
      if (entry.isEncrypted()) return fail(new DeckError(400, 'encrypted_pptx', 'The file is encrypted (password-protected). Save it without a password and upload it again'))
      if (entry.fileName.endsWith('/')) return zip.readEntry()
      const declared = entry.uncompressedSize
      if (declared > 1024 * 1024 && declared > entry.compressedSize * limits.maxRatio) {
        return fail(new DeckError(413, 'zip_bomb', `The file looks like a zip bomb: "${entry.fileName}" unpacks to ${declared} bytes from ${entry.compressedSize}`))
      }
      if (total + declared > limits.maxUncompressedBytes) {
        return fail(new DeckError(413, 'deck_too_large', `The file unpacks to more than ${Math.round(limits.maxUncompressedBytes / 1048576)} MB (embedded media); make it smaller (compress pictures, remove videos) and upload it again`))
      }
      zip.openReadStream(entry, (err, stream) => {
        if (err || !stream) return fail(new DeckError(400, 'invalid_pptx', `The file is not a readable .pptx (${err?.message ?? 'unreadable entry'})`))
        stream.on('data', (chunk: Buffer) => {
          total += chunk.length
          if (total > limits.maxUncompressedBytes) {
            stream.destroy()
            fail(new DeckError(413, 'zip_bomb', `The file unpacks to more than ${Math.round(limits.maxUncompressedBytes / 1048576)} MB; refused as a possible zip bomb`))
          }
        })
        stream.on('error', (e: Error) => fail(new DeckError(400, 'invalid_pptx', `The file is not a readable .pptx (${e.message})`)))
        stream.on('end', () => zip.readEntry())
      })
    })
    zip.readEntry()
  })
}

/**
 * Refuses what is not a PowerPoint 2007+ file, or not safe to unpack.
 * Codes: `unsupported_file` (415: legacy .ppt, Keynote, Word/Excel, not a zip), `encrypted_pptx` (400),
 * `invalid_pptx` (400: broken zip, no presentation part), `zip_bomb` / `deck_too_large` (413),
 * `no_slides` (400).
 */
export async function inspectPptx(buf: Buffer, limits: InspectLimits = DEFAULT_INSPECT_LIMITS): Promise<InspectResult> {
  if (buf.length >= 8 && buf.subarray(0, 8).equals(CFB_MAGIC)) {
    if (buf.includes(ENCRYPTED_PACKAGE)) throw new DeckError(400, 'encrypted_pptx', 'The file is encrypted (password-protected). Save it without a password and upload it again')
    throw notPptx('This is an old binary PowerPoint file (.ppt). Open it in PowerPoint or LibreOffice, save it as .pptx, and upload that')
  }
  if (buf.length < 4 || buf.readUInt32LE(0) !== 0x04034b50) {
    if (buf.length >= 4 && buf.readUInt32LE(0) === 0x06054b50) throw new DeckError(400, 'no_slides', 'The file is an empty zip: there are no slides in it')
    throw notPptx('The file is not a .pptx (a .pptx is a zip file; this one is not)')
  }
  const { names, total } = await walkZip(buf, limits)
  const set = new Set(names)
  if (!set.has('ppt/presentation.xml')) {
    if (set.has('index.apxl') || names.some(n => /^Index\/.*\.iwa$/.test(n))) throw notPptx('This is a Keynote file (.key). In Keynote choose File → Export To → PowerPoint, and upload the .pptx')
    if (names.some(n => n.startsWith('word/'))) throw notPptx('This is a Word document, not a PowerPoint file')
    if (names.some(n => n.startsWith('xl/'))) throw notPptx('This is an Excel workbook, not a PowerPoint file')
    if (set.has('content.xml') && set.has('mimetype')) throw notPptx('This is an OpenDocument file (.odp?). Save it as .pptx and upload that')
    throw new DeckError(400, 'invalid_pptx', 'The zip holds no PowerPoint presentation (ppt/presentation.xml is missing)')
  }
  const slideCount = names.filter(n => /^ppt\/slides\/slide\d+\.xml$/.test(n)).length
  if (!slideCount) throw new DeckError(400, 'no_slides', 'The presentation has no slides')
  return { slideCount, entries: names.length, uncompressedBytes: total }
}
