// Pure text edits on PPTist's source files. Every edit inserts whole lines wrapped in
// `nano-banana:start` / `nano-banana:end` markers, so stripping the marked blocks is the exact
// inverse of inserting them (the planner checks that before anything is written).

export const MARKER = 'nano-banana'

export class AnchorError extends Error {
  /**
   * @param {string} file path relative to the PPTist root
   * @param {string} expected what the installer looked for
   * @param {string} [found] what it found instead
   */
  constructor(file, expected, found) {
    super(`${file}: expected ${expected}${found ? `; found ${found}` : ''}`)
    this.name = 'AnchorError'
    this.file = file
    this.expected = expected
  }
}

/** @param {string} text */
export function detectEol(text) {
  return text.includes('\r\n') ? '\r\n' : '\n'
}

/**
 * Splits text into lines that keep their own line ending, so joining them gives the exact bytes back.
 * @param {string} text
 */
export function splitLines(text) {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? []
}

/** @param {string} line */
function indentOf(line) {
  return /^[ \t]*/.exec(line)?.[0] ?? ''
}

/** @param {'ts' | 'html'} style */
function markerLines(style) {
  return style === 'ts'
    ? { start: `// ${MARKER}:start`, end: `// ${MARKER}:end` }
    : { start: `<!-- ${MARKER}:start -->`, end: `<!-- ${MARKER}:end -->` }
}

/**
 * A marked block of lines, indented like its neighbour.
 * @param {string[]} body
 * @param {'ts' | 'html'} style
 * @param {string} indent
 * @param {string} eol
 */
export function markedBlock(body, style, indent, eol) {
  const { start, end } = markerLines(style)
  return [start, ...body, end].map(line => `${indent}${line}${eol}`)
}

const START_RE = new RegExp(`^\\s*(?://|<!--)\\s*${MARKER}:start\\b`)
const END_RE = new RegExp(`^\\s*(?://|<!--)\\s*${MARKER}:end\\b`)

/**
 * Removes every marked block (marker lines included). Throws on unbalanced markers: a file whose
 * markers were edited by hand is not something to guess about.
 * @param {string} text
 * @param {string} file
 */
export function stripMarkedBlocks(text, file) {
  const out = []
  let inside = false
  for (const line of splitLines(text)) {
    if (START_RE.test(line)) {
      if (inside) throw new AnchorError(file, `a "${MARKER}:end" marker before the next "${MARKER}:start"`, 'two start markers in a row')
      inside = true
      continue
    }
    if (END_RE.test(line)) {
      if (!inside) throw new AnchorError(file, `a "${MARKER}:start" marker before "${MARKER}:end"`, 'an end marker without a start')
      inside = false
      continue
    }
    if (!inside) out.push(line)
  }
  if (inside) throw new AnchorError(file, `a "${MARKER}:end" marker`, 'a start marker that is never closed')
  return out.join('')
}

/** @param {string} text */
export function hasMarkedBlocks(text) {
  return splitLines(text).some(line => START_RE.test(line) || END_RE.test(line))
}

/**
 * Index of the single line matching `test`; otherwise an AnchorError naming the file.
 * @param {string[]} lines
 * @param {(line: string) => boolean} test
 * @param {string} file
 * @param {string} expected
 */
function findOnly(lines, test, file, expected) {
  /** @type {number[]} */
  const hits = []
  lines.forEach((line, i) => { if (test(line)) hits.push(i) })
  if (hits.length === 1) return hits[0]
  throw new AnchorError(file, expected, hits.length === 0 ? 'no such line' : `${hits.length} such lines (${hits.map(i => `line ${i + 1}`).join(', ')})`)
}

export const MAIN_TS = 'src/main.ts'
export const EDITOR_HEADER = 'src/views/Editor/EditorHeader/index.vue'

/**
 * src/main.ts: import the extension and its config next to PPTist's imports, and install the
 * extension right after Pinia (it reads PPTist's stores through the active Pinia).
 * @param {string} clean main.ts without any marked block
 */
export function editMainTs(clean) {
  const file = MAIN_TS
  const eol = detectEol(clean)
  const lines = splitLines(clean)
  const createApp = findOnly(lines, l => /^const app = createApp\(App\)\s*$/.test(l), file,
    'one line `const app = createApp(App)`')
  const pinia = findOnly(lines, l => /^app\.use\(createPinia\(\)\)\s*$/.test(l), file,
    'one line `app.use(createPinia())`')
  const mount = findOnly(lines, l => /^app\.mount\(/.test(l), file, "one line `app.mount('#app')`")
  if (!(createApp < pinia && pinia < mount)) {
    throw new AnchorError(file, '`const app = createApp(App)`, then `app.use(createPinia())`, then `app.mount(...)` in that order',
      `them at lines ${createApp + 1}, ${pinia + 1}, ${mount + 1}`)
  }
  // the imports go after the last non-blank line above `const app = …` (PPTist's last import)
  let importsAfter = createApp - 1
  while (importsAfter >= 0 && lines[importsAfter].trim() === '') importsAfter--
  if (importsAfter < 0) throw new AnchorError(file, 'import lines above `const app = createApp(App)`', 'none')

  const importBlock = markedBlock([
    "import NanoBanana from '@/plugins/nano-banana'",
    "import nanoBananaConfig from '@/configs/nanoBanana'",
  ], 'ts', '', eol)
  const useBlock = markedBlock([
    'if (nanoBananaConfig.enabled) {',
    '  app.use(NanoBanana, { serverUrl: nanoBananaConfig.serverUrl, token: nanoBananaConfig.token })',
    '}',
  ], 'ts', '', eol)

  // both blocks go after lines that are followed by another line, so they always end in a newline
  const out = [...lines]
  out.splice(pinia + 1, 0, ...useBlock)
  out.splice(importsAfter + 1, 0, ...importBlock)
  return out.join('')
}

export const AIPPT_OFFER = 'integrations/AIPPTOffer.vue'

/**
 * src/views/Editor/EditorHeader/index.vue: the 🍌 button goes in the header's right part, just
 * before PPTist's export button (i.e. after the "AI" button), shown only when enabled. With
 * `aipptOffer`, also the extension's "render these slides" offer shown after PPTist's AIPPT run
 * (it teleports itself to <body>; the header is just a place that is always mounted in the editor).
 * @param {string} clean the component without any marked block
 * @param {{ aipptOffer?: boolean }} [options]
 */
export function editEditorHeader(clean, { aipptOffer = false } = {}) {
  const file = EDITOR_HEADER
  const eol = detectEol(clean)
  const lines = splitLines(clean)
  const right = findOnly(lines, l => /^\s*<div class="right">\s*$/.test(l), file,
    'one line `<div class="right">` (the right part of the header)')
  const exportButton = findOnly(lines, l => /^\s*<div class="menu-item"[^>]*v-tooltip="'导出'"[^>]*setDialogForExport\('pptx'\)/.test(l), file,
    "one export button line `<div class=\"menu-item\" v-tooltip=\"'导出'\" @click=\"setDialogForExport('pptx')\">`")
  if (exportButton < right) {
    throw new AnchorError(file, 'the export button inside `<div class="right">`', `it at line ${exportButton + 1}, before line ${right + 1}`)
  }
  const script = findOnly(lines, l => /^<script lang="ts" setup>\s*$/.test(l), file, 'one line `<script lang="ts" setup>`')
  if (script < exportButton) throw new AnchorError(file, 'the template before `<script lang="ts" setup>`', 'the script first')

  const buttonBlock = markedBlock([
    '<BananaGenerateButton v-if="nanoBananaConfig.enabled" />',
    ...(aipptOffer ? ['<NanoBananaAIPPTOffer v-if="nanoBananaConfig.enabled" />'] : []),
  ], 'html', indentOf(lines[exportButton]), eol)
  const importBlock = markedBlock([
    "import nanoBananaConfig from '@/configs/nanoBanana'",
    ...(aipptOffer ? [`import NanoBananaAIPPTOffer from '@/plugins/nano-banana/${AIPPT_OFFER}'`] : []),
  ], 'ts', '', eol)

  const out = [...lines]
  out.splice(script + 1, 0, ...importBlock)
  out.splice(exportButton, 0, ...buttonBlock)
  return out.join('')
}

/**
 * package.json: add the npm packages the extension imports and PPTist lacks, keeping the file's
 * indentation, line endings and (if it was sorted) alphabetical order.
 * @param {string} original
 * @param {Record<string, string>} add package name → version range
 */
export function editPackageJson(original, add) {
  if (Object.keys(add).length === 0) return original
  const pkg = JSON.parse(original)
  const eol = detectEol(original)
  const indentMatch = /^[{[]\r?\n([ \t]+)/.exec(original)
  const indent = indentMatch ? indentMatch[1] : '  '
  const deps = pkg.dependencies ?? {}
  const names = Object.keys(deps)
  const wasSorted = names.every((n, i) => i === 0 || names[i - 1].localeCompare(n, 'en') <= 0)
  const merged = { ...deps, ...add }
  const ordered = wasSorted
    ? Object.fromEntries(Object.keys(merged).sort((a, b) => a.localeCompare(b, 'en')).map(k => [k, merged[k]]))
    : merged
  pkg.dependencies = ordered
  const trailing = /\r?\n$/.test(original) ? eol : ''
  return JSON.stringify(pkg, null, indent).replace(/\n/g, eol) + trailing
}

/**
 * Removes from package.json the dependencies the installer added, where they still have the version
 * it wrote (a maintainer who changed one keeps it).
 * @param {string} current
 * @param {Record<string, string>} added
 */
export function unEditPackageJson(current, added) {
  const pkg = JSON.parse(current)
  const eol = detectEol(current)
  const indentMatch = /^[{[]\r?\n([ \t]+)/.exec(current)
  const indent = indentMatch ? indentMatch[1] : '  '
  if (!pkg.dependencies) return current
  let changed = false
  for (const [name, version] of Object.entries(added)) {
    if (pkg.dependencies[name] === version) {
      delete pkg.dependencies[name]
      changed = true
    }
  }
  if (!changed) return current
  const trailing = /\r?\n$/.test(current) ? eol : ''
  return JSON.stringify(pkg, null, indent).replace(/\n/g, eol) + trailing
}

/**
 * src/configs/nanoBanana.ts, in PPTist's code style (no semicolons, single quotes, 2 spaces).
 * @param {{ enabled: boolean, serverUrl: string }} options
 */
export function renderConfig({ enabled, serverUrl }) {
  const quoted = `'${serverUrl.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
  return `// Nano Banana 🍌 settings, written by \`nano-banana-pptist install\`.
// Your edits are kept when the installer runs again; \`nano-banana-pptist uninstall\` removes this file.
//
// Build-time overrides (environment or .env.local), read by Vite:
//   VITE_NANO_BANANA_ENABLED=false   no 🍌 button and the extension is not installed at all
//   VITE_NANO_BANANA_SERVER=https://banana.example.com   the Nano Banana proxy (its CORS_ORIGINS must allow this site)
//   VITE_NANO_BANANA_TOKEN=...       the proxy's PROXY_TOKEN, if it has one (it ends up in the page: not a secret)

export interface NanoBananaConfig {
  enabled: boolean
  serverUrl: string
  token?: string
}

const env = import.meta.env

const readSwitch = (value: string | undefined, fallback: boolean) => {
  if (value === undefined || value.trim() === '') return fallback
  return !['false', '0', 'off', 'no'].includes(value.trim().toLowerCase())
}

const nanoBananaConfig: NanoBananaConfig = {
  enabled: readSwitch(env.VITE_NANO_BANANA_ENABLED, ${enabled ? 'true' : 'false'}),
  serverUrl: env.VITE_NANO_BANANA_SERVER || ${quoted},
  token: env.VITE_NANO_BANANA_TOKEN || undefined,
}

export default nanoBananaConfig
`
}
