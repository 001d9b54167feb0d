// `nano-banana-pptist render`: a .pptx in, a designed .pptx out, through a running proxy (--server) or
// one started in this process. Uploads the deck (POST /api/v1/decks), follows the batch by polling
// /progress, then downloads …/pptx. Exit codes: 0 some or all slides rendered, 1 nothing rendered or an
// error, 2 usage.
import { constants } from 'node:fs'
import { access, readFile, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import cliProgress from 'cli-progress'

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

export class UsageError extends Error {}

/**
 * @typedef {{ file: string, output?: string, template?: string, mode?: string, resolution?: string,
 *   server?: string, token?: string, pages?: string, language?: string, extra?: string,
 *   styleChain?: boolean, dryRun?: boolean, pollMs?: number }} RenderOptions
 * @typedef {{ write: (s: string) => void, isTTY?: boolean }} Out
 */

/** @param {number} seconds */
function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds <= 0) return '—'
  const m = Math.floor(seconds / 60)
  const s = Math.round(seconds % 60)
  return m ? `${m} min ${s} s` : `${s} s`
}

/** @param {string} url @param {RequestInit} init @param {string | undefined} token */
async function call(url, init = {}, token) {
  const headers = new Headers(init.headers)
  if (token) headers.set('Authorization', `Bearer ${token}`)
  let res
  try {
    res = await fetch(url, { ...init, headers })
  }
  catch (err) {
    throw new Error(`cannot reach the proxy at ${new URL(url).origin} (${/** @type {Error} */ (err).cause ? String(/** @type {any} */ (err).cause.code ?? /** @type {any} */ (err).cause.message) : /** @type {Error} */ (err).message}). Is it running? Leave out --server to start one here.`)
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`
    try {
      const body = /** @type {any} */ (await res.json())
      if (body?.error?.message) message = `${body.error.message} (${res.status} ${body.error.code})`
      const ranges = body?.error?.details?.[0]?.suggested_ranges
      if (Array.isArray(ranges)) message += `\nTry: --pages ${ranges[0]}${ranges[1] ? `, then --pages ${ranges[1]}` : ''}`
    }
    catch { /* not JSON */ }
    throw new Error(message)
  }
  return res
}

/** @param {string} server @param {string} wanted @param {string | undefined} token */
async function resolveTemplate(server, wanted, token) {
  const { templates } = /** @type {{ templates: { id: string, name: string, name_en?: string }[] }} */ (await (await call(`${server}/api/v1/templates`, {}, token)).json())
  const w = wanted.trim().toLowerCase()
  const found = templates.find(t => t.id.toLowerCase() === w) ?? templates.find(t => t.name.toLowerCase() === w || t.name_en?.toLowerCase() === w)
    ?? templates.find(t => t.name.toLowerCase().includes(w) || t.name_en?.toLowerCase().includes(w))
  if (!found) throw new UsageError(`No template "${wanted}". Templates:\n${templates.map(t => `  ${t.id}  ${t.name}${t.name_en ? ` (${t.name_en})` : ''}`).join('\n')}`)
  return found
}

/** @param {RenderOptions} o @param {Buffer} bytes @param {Record<string, string>} fields */
function form(o, bytes, fields) {
  const f = new FormData()
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') f.append(k, v)
  f.append('file', new Blob([new Uint8Array(bytes)]), basename(o.file))
  return f
}

/** @param {RenderOptions} o */
function batchFields(o) {
  /** @type {Record<string, string>} */
  const fields = {}
  if (o.pages) fields.pages = o.pages
  if (o.resolution) fields.resolution = o.resolution
  if (o.mode) fields.mode = o.mode
  if (o.language) fields.language = o.language
  if (o.extra) fields.extra_prompt = o.extra
  if (o.styleChain !== undefined) fields.style_chain = String(o.styleChain)
  return fields
}

/** @param {any} body @param {Out} out */
function printDryRun(body, out) {
  const d = body.deck
  out.write(`${d.file_name}: ${d.slide_count} slides, ${d.aspect_ratio} (${Math.round(d.width)}×${Math.round(d.height)} pt)\n`)
  for (const p of d.pages) {
    const selected = d.selected_pages.includes(p.page_number)
    const extras = [p.tables && `${p.tables} table`, p.charts && `${p.charts} chart`, p.formulas && `${p.formulas} formula`, p.pictures && `${p.pictures} picture`, p.notes && 'notes'].filter(Boolean).join(', ')
    const body1 = String(p.content).split('\n')[0]
    out.write(`${selected ? ' ' : '-'}${String(p.page_number).padStart(3)}  ${p.title || '(no title)'}${body1 ? ` — ${body1.slice(0, 60)}${body1.length > 60 ? '…' : ''}` : ''}${extras ? `  [${extras}]` : ''}\n`)
  }
  const e = body.estimate
  const cost = e.preview ? '$0 (offline preview)' : e.cost === null ? 'unknown (no list price for this model)' : `$${Number(e.cost).toFixed(2)} ($${e.price_per_image} per image)`
  out.write(`\n${e.pages} page${e.pages === 1 ? '' : 's'} at ${e.resolution}: about ${duration(e.seconds)}, cost ${cost}\n`)
  if (body.warning) out.write(`\n${body.warning.message}\n`)
}

/**
 * Refuses (UsageError) an output that is the input deck itself, a directory, or in a folder that does not
 * exist or cannot be written.
 * @param {string} output absolute path @param {string} input absolute path
 */
async function checkOutput(output, input) {
  if (output === input) throw new UsageError(`-o ${output} is the deck being rendered; choose another file (the original is kept)`)
  const st = await stat(output).catch(() => null)
  if (st?.isDirectory()) throw new UsageError(`-o ${output} is a directory; give a file name such as ${join(output, basename(input).replace(/(\.pptx)?$/i, '.banana.pptx'))}`)
  try {
    await access(dirname(output), constants.W_OK)
  }
  catch (e) {
    throw new UsageError(`Cannot write ${output}: ${/** @type {NodeJS.ErrnoException} */ (e).code === 'ENOENT' ? 'its folder does not exist' : 'its folder is not writable'}`)
  }
}

/**
 * Runs a render. Returns the process exit code.
 * @param {RenderOptions} o @param {{ out?: Out, err?: Out, env?: Record<string, string | undefined>, signal?: AbortSignal }} io
 */
export async function render(o, io = {}) {
  const out = io.out ?? process.stdout
  const err = io.err ?? process.stderr
  const env = io.env ?? process.env
  if (!o.dryRun && !o.template) throw new UsageError('--template <id|name> is needed (or --dry-run to only look at the deck)')
  if (o.mode && !['full', 'background'].includes(o.mode)) throw new UsageError(`--mode must be full or background (got "${o.mode}")`)
  if (o.resolution && !['1K', '2K', '4K'].includes(o.resolution.toUpperCase())) throw new UsageError(`--resolution must be 1K, 2K or 4K (got "${o.resolution}")`)
  if (o.resolution) o.resolution = o.resolution.toUpperCase()
  const file = resolve(o.file)
  let bytes
  try {
    bytes = await readFile(file)
  }
  catch (e) {
    throw new UsageError(`Cannot read ${file}: ${/** @type {Error} */ (e).message}`)
  }
  // where the deck goes is checked before anything is paid for: a missing folder used to fail only
  // after every page had been drawn, and `-o` naming the input replaced the original deck
  const output = resolve(o.output ?? file.replace(/(\.pptx)?$/i, '.banana.pptx'))
  if (!o.dryRun) await checkOutput(output, file)
  const token = o.token ?? env.NANO_BANANA_TOKEN ?? env.PROXY_TOKEN
  /** @type {{ url: string, provider: string, stop(): Promise<void> } | null} */
  let embedded = null
  let server = o.server?.replace(/\/+$/, '')
  if (!server) {
    const { register } = await import('tsx/esm/api')
    register()
    const mod = await import(pathToFileURL(join(PACKAGE_ROOT, 'server', 'embedded.ts')).href)
    embedded = await mod.startEmbedded(env)
    server = /** @type {string} */ (embedded?.url)
    err.write(`Started the proxy here (${embedded?.provider === 'preview' ? 'offline preview renderer: no API key set' : `provider ${embedded?.provider}`}).\n`)
  }
  try {
    if (o.dryRun) {
      const res = await call(`${server}/api/v1/decks`, { method: 'POST', body: form(o, bytes, batchFields(o)) }, token)
      printDryRun(await res.json(), out)
      return 0
    }
    const template = await resolveTemplate(server, /** @type {string} */ (o.template), token)
    const created = /** @type {any} */ (await (await call(`${server}/api/v1/decks`, { method: 'POST', body: form(o, bytes, { ...batchFields(o), template_id: template.id }) }, token)).json())
    const batchId = created.batch_id
    out.write(`${basename(file)}: ${created.deck.slide_count} slides → ${created.total_pages} pages with "${template.name_en ?? template.name}" (batch ${batchId})\n`)
    const progress = await follow(server, batchId, token, out, o.pollMs ?? 1000, io.signal)
    const res = await call(`${server}/api/v1/slide-generations/batches/${batchId}/pptx`, {}, token)
    const rendered = (res.headers.get('x-slides-rendered') ?? 'none').split(',').filter(s => s && s !== 'none')
    const failedPages = progress.results.filter((/** @type {any} */ r) => r.status === 'failed')
    if (!rendered.length) {
      err.write(`Nothing could be rendered${failedPages[0]?.error_message ? `: ${failedPages[0].error_message}` : ''}. No file written.\n`)
      return 1
    }
    await writeFile(output, Buffer.from(await res.arrayBuffer()))
    const slideOf = (/** @type {number} */ page) => created.deck.selected_pages[page - 1]
    out.write(`Wrote ${output}: ${rendered.length} of ${created.deck.slide_count} slides rendered.\n`)
    for (const r of failedPages) out.write(`  slide ${slideOf(r.page_number)} failed: ${r.error_message ?? r.error_code ?? 'unknown error'}\n`)
    const skipped = progress.results.filter((/** @type {any} */ r) => r.status === 'cancelled' || r.status === 'pending')
    if (skipped.length) out.write(`  not rendered (cancelled): slide ${skipped.map((/** @type {any} */ r) => slideOf(r.page_number)).join(', ')}\n`)
    if (failedPages.length || skipped.length) out.write('  Those slides keep their original look.\n')
    return 0
  }
  finally {
    await embedded?.stop()
  }
}

/**
 * Polls the batch until it ends, drawing a progress bar (a line per change when not a terminal).
 * Ctrl+C cancels the batch on the proxy; what is finished is still written.
 * @param {string} server @param {string} batchId @param {string | undefined} token @param {Out} out @param {number} pollMs @param {AbortSignal | undefined} signal
 */
async function follow(server, batchId, token, out, pollMs, signal) {
  const tty = Boolean(out.isTTY)
  const bar = tty
    ? new cliProgress.SingleBar({ format: ' {bar} {percentage}% | {done}/{total} done, {failed} failed | {left} left', hideCursor: true, clearOnComplete: false, barsize: 30 }, cliProgress.Presets.shades_classic)
    : null
  let cancelled = false
  const cancel = () => {
    if (cancelled) return
    cancelled = true
    call(`${server}/api/v1/slide-generations/batches/${batchId}/cancel`, { method: 'POST' }, token).catch(() => undefined)
  }
  process.once('SIGINT', cancel)
  signal?.addEventListener('abort', cancel)
  let last = ''
  try {
    for (;;) {
      const p = /** @type {any} */ (await (await call(`${server}/api/v1/slide-generations/batches/${batchId}/progress`, {}, token)).json())
      const { completed_pages: done, failed_pages: failed, total_pages: total } = p.progress
      const left = duration(p.estimated_remaining_time)
      if (bar) {
        if (!last) bar.start(total, 0, { done, failed, total, left })
        bar.update(done + failed, { done, failed, total, left })
      }
      const line = `${done}/${total} done, ${failed} failed`
      if (!bar && line !== last) out.write(`  ${line}${['pending', 'generating'].includes(p.status) ? `, about ${left} left` : ''}\n`)
      last = line
      if (!['pending', 'generating'].includes(p.status)) {
        bar?.stop()
        return p
      }
      await new Promise(r => setTimeout(r, pollMs))
    }
  }
  finally {
    process.removeListener('SIGINT', cancel)
  }
}
