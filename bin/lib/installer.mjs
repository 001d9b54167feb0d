// Plans and applies installing / uninstalling the extension into a PPTist checkout.
// Everything is planned and checked first (target, anchors, sources); only then are files written,
// and a failed write rolls back everything written before it. The manifest records what was added
// and the original bytes of every PPTist file that was changed, so uninstall restores them exactly.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, posix } from 'node:path'
import {
  AIPPT_OFFER, AnchorError, EDITOR_HEADER, MAIN_TS, editEditorHeader, editMainTs, editPackageJson, hasMarkedBlocks,
  renderConfig, stripMarkedBlocks, unEditPackageJson,
} from './edits.mjs'
import { LockError, editPackageLock } from './lockfile.mjs'
import { listFiles, scanPlugin, scssUseInStyleBlocks } from './source.mjs'

export const PLUGIN_DIR = 'src/plugins/nano-banana'
export const MANIFEST = `${PLUGIN_DIR}/.install-manifest.json`
export const CONFIG = 'src/configs/nanoBanana.ts'
export const IMAGES_DIR = 'public/imgs/nano_banana'
export const PACKAGE_JSON = 'package.json'
export const PACKAGE_LOCK = 'package-lock.json'
export const DEFAULT_SERVER_URL = 'http://localhost:8787'

/** Files of PPTist the extension relies on; their absence means "not PPTist". */
const REQUIRED = [
  PACKAGE_JSON, MAIN_TS, EDITOR_HEADER, 'src/store/main.ts', 'src/store/slides.ts', 'src/store/snapshot.ts', 'src/configs',
]
/** Pinia stores the extension reads and writes by id. */
const STORES = [['src/store/slides.ts', 'slides'], ['src/store/snapshot.ts', 'snapshot'], ['src/store/main.ts', 'main']]
/** Text files the installer edits. */
const TEXT_FILES = [MAIN_TS, EDITOR_HEADER]

/** A clear "no": nothing was written. */
export class Refusal extends Error {
  /** @param {string} summary @param {string[]} reasons */
  constructor(summary, reasons = []) {
    super([summary, ...reasons.map(r => `  - ${r}`)].join('\n'))
    this.name = 'Refusal'
    this.reasons = reasons
  }
}

/** @param {Buffer | string} data */
export const sha256 = data => createHash('sha256').update(data).digest('hex')

/**
 * Originals are kept readable (UTF-8) when that round-trips exactly, else as base64.
 * @param {Buffer} buf
 * @returns {{ encoding: 'utf8' | 'base64', original: string }}
 */
export function encodeOriginal(buf) {
  const text = buf.toString('utf8')
  return Buffer.from(text, 'utf8').equals(buf) ? { encoding: 'utf8', original: text } : { encoding: 'base64', original: buf.toString('base64') }
}
/** @param {{ encoding?: string, original: string }} entry */
export const decodeOriginal = entry => Buffer.from(entry.original, entry.encoding === 'utf8' ? 'utf8' : 'base64')

/** @param {string} root @param {string} rel */
const abs = (root, rel) => join(root, ...rel.split('/'))
/** @param {string} root @param {string} rel */
const readIfExists = (root, rel) => (existsSync(abs(root, rel)) ? readFileSync(abs(root, rel)) : null)

/**
 * @typedef {{ kind: 'write', path: string, content: Buffer }
 *   | { kind: 'remove', path: string }
 *   | { kind: 'rmdir', path: string }} Op
 * @typedef {{
 *   tool: 'nano-banana-pptist', version: string,
 *   options: { enabled: boolean, serverUrl: string },
 *   dependencies: Record<string, string>,
 *   added: Record<string, string>,
 *   modified: Record<string, { originalSha256: string, installedSha256: string, encoding: 'utf8' | 'base64', original: string }>,
 *   createdDirs: string[],
 * }} Manifest
 */

/**
 * Is `root` a PPTist checkout? Returns its parsed package.json and notes; refuses otherwise.
 * @param {string} root
 */
export function checkTarget(root) {
  if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Refusal(`Refusing: ${root} is not a directory.`)
  }
  const missing = REQUIRED.filter(rel => !existsSync(abs(root, rel)))
  if (missing.length) {
    throw new Refusal(`Refusing: ${root} does not look like a PPTist checkout (github.com/pipipi-pikachu/PPTist). Missing:`,
      missing.map(rel => `${rel}`))
  }
  /** @type {{ name?: string, dependencies?: Record<string, string>, devDependencies?: Record<string, string> }} */
  let pkg
  try {
    pkg = JSON.parse(readFileSync(abs(root, PACKAGE_JSON), 'utf8'))
  }
  catch (err) {
    throw new Refusal(`Refusing: ${PACKAGE_JSON} in ${root} is not valid JSON (${/** @type {Error} */ (err).message}).`)
  }
  const reasons = []
  for (const [rel, id] of STORES) {
    const code = readFileSync(abs(root, rel), 'utf8')
    if (!new RegExp(`defineStore\\(\\s*['"]${id}['"]`).test(code)) reasons.push(`${rel}: expected a Pinia store \`defineStore('${id}', …)\`; the extension uses it`)
  }
  for (const dep of ['vue', 'pinia']) {
    if (!pkg.dependencies?.[dep]) reasons.push(`${PACKAGE_JSON}: expected "${dep}" in dependencies`)
  }
  if (reasons.length) throw new Refusal(`Refusing: ${root} does not look like the PPTist the extension was written for:`, reasons)
  const notes = pkg.name === 'pptist' ? [] : [`${PACKAGE_JSON} names the package "${pkg.name}", not "pptist"; its PPTist files are all there, so going on.`]
  return { pkg, notes }
}

/** @param {string} root @returns {Manifest | null} */
export function readManifest(root) {
  const raw = readIfExists(root, MANIFEST)
  if (!raw) return null
  try {
    const manifest = JSON.parse(raw.toString('utf8'))
    if (manifest.tool !== 'nano-banana-pptist') throw new Error('not written by nano-banana-pptist')
    return manifest
  }
  catch (err) {
    throw new Refusal(`Refusing: ${MANIFEST} cannot be read (${/** @type {Error} */ (err).message}). Remove it only if you know no install happened.`)
  }
}

/** Directories between `root` and `rel`'s parent that do not exist yet, outermost first. @param {string} root @param {string} rel */
function missingDirs(root, rel) {
  const dirs = []
  for (let dir = posix.dirname(rel); dir !== '.' && !existsSync(abs(root, dir)); dir = posix.dirname(dir)) dirs.unshift(dir)
  return dirs
}

/**
 * The state of one PPTist file before our edit: the original if the file is as we left it,
 * otherwise the current text with our edit taken out (edits made by the maintainer survive).
 * @param {Manifest | null} manifest @param {string} rel @param {Buffer} current
 * @param {(text: string) => string} unEdit
 */
function baseOf(manifest, rel, current, unEdit) {
  const entry = manifest?.modified[rel]
  if (entry && sha256(current) === entry.installedSha256) return { base: decodeOriginal(entry), changedSince: false }
  return { base: Buffer.from(unEdit(current.toString('utf8')), 'utf8'), changedSince: Boolean(entry) }
}

/**
 * @param {{ root: string, sourceRoot: string, serverUrl?: string, enabled?: boolean }} args
 * @returns {{ ops: Op[], manifest: Manifest, notes: string[], addedDependencies: Record<string, string> }}
 */
export function planInstall({ root, sourceRoot, serverUrl, enabled }) {
  const { notes } = checkTarget(root)
  const manifest = readManifest(root)
  const ourPkg = JSON.parse(readFileSync(join(sourceRoot, 'package.json'), 'utf8'))
  const scan = scanPlugin(join(sourceRoot, 'plugin'))
  if (scan.problems.length) throw new Refusal(`Refusing: the extension in ${join(sourceRoot, 'plugin')} is not self-contained:`, scan.problems)
  const viteConfig = ['vite.config.ts', 'vite.config.mts', 'vite.config.js', 'vite.config.mjs']
    .find(rel => readIfExists(root, rel)?.toString('utf8').includes('additionalData'))
  if (viteConfig) {
    const offenders = scssUseInStyleBlocks(join(sourceRoot, 'plugin'), scan.files)
    if (offenders.length) {
      throw new Refusal(`Refusing: PPTist would no longer build. Its ${viteConfig} prepends \`@import\` lines to every SCSS block `
        + '(css.preprocessorOptions.scss.additionalData), and Sass requires `@use` to come before any other rule. '
        + 'These style blocks of the extension use it (use `@import` there, or no SCSS import):', offenders)
    }
  }
  if (!scan.files.includes('index.ts')) throw new Refusal(`Refusing: ${join(sourceRoot, 'plugin', 'index.ts')} is missing (the extension's entry point).`)

  const options = {
    enabled: enabled ?? manifest?.options.enabled ?? true,
    serverUrl: serverUrl ?? manifest?.options.serverUrl ?? DEFAULT_SERVER_URL,
  }
  if (!/^https?:\/\/[^\s'"\\]+$/.test(options.serverUrl) && !/^\/[^\s'"\\]*$/.test(options.serverUrl)) {
    throw new Refusal(`Refusing: --server-url must be an http(s) URL or a path on this site, got ${JSON.stringify(options.serverUrl)}.`)
  }

  /** @type {Map<string, Buffer>} files we add: target path → content */
  const added = new Map()
  for (const f of scan.files) added.set(`${PLUGIN_DIR}/${f}`, readFileSync(join(sourceRoot, 'plugin', ...f.split('/'))))
  for (const f of listFiles(join(sourceRoot, ...IMAGES_DIR.split('/')))) {
    added.set(`${IMAGES_DIR}/${f}`, readFileSync(join(sourceRoot, ...IMAGES_DIR.split('/'), ...f.split('/'))))
  }
  /** @type {Map<string, string>} recorded hash when it is not the hash of the content (a kept, edited config) */
  const recordedHash = new Map()
  const currentConfig = readIfExists(root, CONFIG)
  if (manifest?.added[CONFIG] && currentConfig && sha256(currentConfig) !== manifest.added[CONFIG]) {
    notes.push(`${CONFIG} was edited after the last install; keeping your version (delete it and re-run to get a fresh one).`)
    added.set(CONFIG, currentConfig)
    recordedHash.set(CONFIG, manifest.added[CONFIG])
  }
  else {
    added.set(CONFIG, Buffer.from(renderConfig(options), 'utf8'))
  }

  // never overwrite a file we did not create
  const foreign = []
  if (!manifest && existsSync(abs(root, PLUGIN_DIR))) foreign.push(`${PLUGIN_DIR}/ exists but has no ${posix.basename(MANIFEST)}; it was not put there by this installer`)
  for (const rel of added.keys()) {
    if (!manifest?.added[rel] && existsSync(abs(root, rel)) && !rel.startsWith(`${PLUGIN_DIR}/`)) foreign.push(`${rel} already exists and was not written by this installer`)
  }
  if (foreign.length) throw new Refusal(`Refusing to overwrite files in ${root}:`, [...foreign, 'move them away (or run uninstall if this is an old install) and try again'])

  // PPTist files we change
  /** @type {Map<string, { base: Buffer, next: Buffer }>} */
  const modified = new Map()
  /** @type {Map<string, Buffer>} PPTist files given back their original bytes (no longer changed by us) */
  const writeBack = new Map()
  const anchorProblems = []
  const aipptOffer = scan.files.includes(AIPPT_OFFER)
  /** @type {Record<string, (text: string) => string>} */
  const textEdits = {
    [MAIN_TS]: editMainTs,
    [EDITOR_HEADER]: text => editEditorHeader(text, { aipptOffer }),
  }
  for (const rel of TEXT_FILES) {
    const edit = textEdits[rel]
    const current = readFileSync(abs(root, rel))
    try {
      const { base, changedSince } = baseOf(manifest, rel, current, text => stripMarkedBlocks(text, rel))
      if (changedSince) notes.push(`${rel} changed since the last install; your changes are kept.`)
      else if (!manifest && hasMarkedBlocks(current.toString('utf8'))) notes.push(`${rel} had nano-banana blocks but no install manifest; replacing those blocks.`)
      const baseText = base.toString('utf8')
      const nextText = edit(baseText)
      if (stripMarkedBlocks(nextText, rel) !== baseText) throw new AnchorError(rel, 'an edit that can be undone exactly', 'one that cannot (please report this)')
      modified.set(rel, { base, next: Buffer.from(nextText, 'utf8') })
    }
    catch (err) {
      if (err instanceof AnchorError) anchorProblems.push(err.message)
      else throw err
    }
  }
  if (anchorProblems.length) {
    throw new Refusal(`Refusing: ${root} is PPTist, but not in the shape this installer knows (nothing was changed):`,
      [...anchorProblems, 'if PPTist moved these lines, add the two marked blocks by hand (see the README, section "For maintainers")'])
  }

  // npm packages the extension imports that PPTist lacks
  const pkgCurrent = readFileSync(abs(root, PACKAGE_JSON))
  const { base: pkgBase, changedSince: pkgChanged } = baseOf(manifest, PACKAGE_JSON, pkgCurrent,
    text => unEditPackageJson(text, manifest?.dependencies ?? {}))
  if (pkgChanged) notes.push(`${PACKAGE_JSON} changed since the last install; your changes are kept.`)
  const basePkg = JSON.parse(pkgBase.toString('utf8'))
  const have = { ...basePkg.devDependencies, ...basePkg.peerDependencies, ...basePkg.dependencies }
  /** @type {Record<string, string>} */
  const addDeps = {}
  const unknown = []
  const major = (/** @type {string | undefined} */ range) => /\d+/.exec(range ?? '')?.[0]
  for (const name of scan.packages) {
    const version = ourPkg.dependencies?.[name] ?? ourPkg.devDependencies?.[name]
    if (have[name]) {
      if (version && major(have[name]) !== major(version)) {
        notes.push(`PPTist has ${name}@${have[name]}; the extension is built and tested with ${name}@${version}.`)
      }
      continue
    }
    if (version) addDeps[name] = version
    else unknown.push(`the extension imports '${name}', which is not in ${join(sourceRoot, 'package.json')}`)
  }
  if (unknown.length) throw new Refusal('Refusing: cannot tell which version of these packages to add:', unknown)
  const pkgNext = Buffer.from(editPackageJson(pkgBase.toString('utf8'), addDeps), 'utf8')
  if (!pkgNext.equals(pkgBase) || manifest?.modified[PACKAGE_JSON]) modified.set(PACKAGE_JSON, { base: pkgBase, next: pkgNext })

  // package-lock.json gets the same packages (from our own lock), so that PPTist's `npm ci` still passes
  const lockCurrent = readIfExists(root, PACKAGE_LOCK)
  const ourLock = readIfExists(sourceRoot, PACKAGE_LOCK)
  if (lockCurrent && Object.keys(addDeps).length) {
    const lockEntry = manifest?.modified[PACKAGE_LOCK]
    const lockBase = lockEntry && sha256(lockCurrent) === lockEntry.installedSha256 ? decodeOriginal(lockEntry) : lockCurrent
    if (lockEntry && lockBase === lockCurrent) notes.push(`${PACKAGE_LOCK} changed since the last install; keeping your version and adding what is missing.`)
    if (!ourLock) {
      notes.push(`${join(sourceRoot, PACKAGE_LOCK)} is missing, so ${PACKAGE_LOCK} is not updated: run \`npm install\` in ${root} before \`npm ci\`.`)
    }
    else {
      try {
        const { text } = editPackageLock(lockBase.toString('utf8'), JSON.parse(ourLock.toString('utf8')), addDeps)
        modified.set(PACKAGE_LOCK, { base: lockBase, next: Buffer.from(text, 'utf8') })
      }
      catch (err) {
        if (!(err instanceof LockError)) throw err
        throw new Refusal(`Refusing: cannot add the extension's packages to ${PACKAGE_LOCK} (nothing was changed):`, [err.message])
      }
    }
  }
  else if (lockCurrent && manifest?.modified[PACKAGE_LOCK]) {
    // the extension needs no package any more: the lock goes back to what it was
    const lockEntry = manifest.modified[PACKAGE_LOCK]
    if (sha256(lockCurrent) === lockEntry.installedSha256) writeBack.set(PACKAGE_LOCK, decodeOriginal(lockEntry))
    else notes.push(`${PACKAGE_LOCK} changed since the last install; left as is.`)
  }

  // directories we create (recorded so that uninstall removes them again); those of ours that no
  // file needs any more (the extension dropped a folder) go now
  const neededDirs = new Set()
  for (const rel of [...added.keys(), MANIFEST]) {
    for (let dir = posix.dirname(rel); dir !== '.'; dir = posix.dirname(dir)) neededDirs.add(dir)
  }
  const createdDirs = new Set((manifest?.createdDirs ?? []).filter(dir => neededDirs.has(dir)))
  const staleDirs = (manifest?.createdDirs ?? []).filter(dir => !neededDirs.has(dir)).sort((a, b) => b.length - a.length)
  for (const rel of [...added.keys(), MANIFEST]) for (const dir of missingDirs(root, rel)) createdDirs.add(dir)

  /** @type {Manifest} */
  const nextManifest = {
    tool: 'nano-banana-pptist',
    version: ourPkg.version,
    options,
    dependencies: addDeps,
    added: Object.fromEntries([...added].sort(([a], [b]) => (a < b ? -1 : 1)).map(([rel, buf]) => [rel, recordedHash.get(rel) ?? sha256(buf)])),
    modified: Object.fromEntries([...modified].map(([rel, { base, next }]) => [rel, {
      originalSha256: sha256(base),
      installedSha256: sha256(next),
      ...encodeOriginal(base),
    }])),
    createdDirs: [...createdDirs].sort(),
  }

  /** @type {Op[]} */
  const ops = []
  const writeIfDifferent = (/** @type {string} */ rel, /** @type {Buffer} */ content) => {
    const current = readIfExists(root, rel)
    if (!current || !current.equals(content)) ops.push({ kind: 'write', path: rel, content })
  }
  for (const [rel, content] of added) writeIfDifferent(rel, content)
  for (const [rel, { next }] of modified) writeIfDifferent(rel, next)
  for (const [rel, content] of writeBack) writeIfDifferent(rel, content)
  for (const rel of Object.keys(manifest?.added ?? {})) {
    if (!added.has(rel) && existsSync(abs(root, rel))) ops.push({ kind: 'remove', path: rel })
  }
  for (const dir of staleDirs) if (existsSync(abs(root, dir))) ops.push({ kind: 'rmdir', path: dir })
  writeIfDifferent(MANIFEST, Buffer.from(`${JSON.stringify(nextManifest, null, 2)}\n`, 'utf8'))

  return { ops, manifest: nextManifest, notes, addedDependencies: addDeps }
}

/**
 * @param {{ root: string }} args
 * @returns {{ ops: Op[], notes: string[] }}
 */
export function planUninstall({ root }) {
  checkTarget(root)
  const manifest = readManifest(root)
  /** @type {Op[]} */
  const ops = []
  const notes = []
  if (!manifest) {
    // no manifest: take out any marked blocks left behind, and nothing else
    for (const rel of TEXT_FILES) {
      const current = readFileSync(abs(root, rel), 'utf8')
      if (!hasMarkedBlocks(current)) continue
      ops.push({ kind: 'write', path: rel, content: Buffer.from(stripMarkedBlocks(current, rel), 'utf8') })
      notes.push(`${rel}: removed nano-banana blocks (no install manifest was found, so nothing else is known).`)
    }
    if (!ops.length) notes.push(`Nano Banana is not installed in ${root} (no ${MANIFEST}).`)
    return { ops, notes }
  }

  for (const [rel, entry] of Object.entries(manifest.modified)) {
    const current = readIfExists(root, rel)
    if (!current) {
      notes.push(`${rel} no longer exists; not restoring it.`)
      continue
    }
    if (sha256(current) === entry.installedSha256) {
      const original = decodeOriginal(entry)
      if (sha256(original) !== entry.originalSha256) throw new Refusal(`Refusing: the backup of ${rel} in ${MANIFEST} is damaged.`)
      ops.push({ kind: 'write', path: rel, content: original })
    }
    else if (rel === PACKAGE_JSON) {
      ops.push({ kind: 'write', path: rel, content: Buffer.from(unEditPackageJson(current.toString('utf8'), manifest.dependencies), 'utf8') })
      notes.push(`${rel} changed since install: removed only the dependencies the installer added.`)
    }
    else if (rel === PACKAGE_LOCK) {
      notes.push(`${rel} changed since install; left as is: run \`npm install\` to drop the extension's packages from it.`)
    }
    else {
      ops.push({ kind: 'write', path: rel, content: Buffer.from(stripMarkedBlocks(current.toString('utf8'), rel), 'utf8') })
      notes.push(`${rel} changed since install: removed only the nano-banana blocks, your other changes stay.`)
    }
  }
  const editedInPlugin = []
  for (const [rel, hash] of Object.entries(manifest.added)) {
    const current = readIfExists(root, rel)
    if (!current) continue
    if (sha256(current) !== hash) {
      if (rel.startsWith(`${PLUGIN_DIR}/`)) editedInPlugin.push(rel)
      else notes.push(`${rel} was edited after install; removing it anyway.`)
    }
    ops.push({ kind: 'remove', path: rel })
  }
  if (editedInPlugin.length) notes.push(`${editedInPlugin.length} file(s) in ${PLUGIN_DIR}/ were edited after install; removing them anyway.`)
  ops.push({ kind: 'remove', path: MANIFEST })
  // files a maintainer put inside the extension's folder keep it (and its parents) alive
  for (const dir of [...manifest.createdDirs].sort((a, b) => b.length - a.length)) ops.push({ kind: 'rmdir', path: dir })
  const deps = Object.keys(manifest.dependencies)
  if (deps.length && !manifest.modified[PACKAGE_LOCK]) {
    notes.push(`Run \`npm install\` in ${root} to remove ${deps.join(', ')} from node_modules and package-lock.json.`)
  }
  else if (deps.length) {
    notes.push(`package-lock.json is restored; \`npm prune\` in ${root} removes ${deps.join(', ')} from node_modules.`)
  }
  return { ops, notes }
}

/**
 * Applies ops in order. On any error, undoes every op already applied (restoring the exact bytes),
 * removes directories it created, and rethrows.
 * @param {string} root @param {Op[]} ops
 */
export function applyOps(root, ops) {
  /** @type {{ path: string, before: Buffer | null }[]} */
  const journal = []
  /** @type {string[]} */
  const createdDirs = []
  /** @type {string[]} */
  const removedDirs = []
  try {
    for (const op of ops) {
      const target = abs(root, op.path)
      if (op.kind === 'rmdir') {
        if (existsSync(target) && readdirSync(target).length === 0) {
          rmdirSync(target)
          removedDirs.push(target)
        }
        continue
      }
      const before = existsSync(target) ? readFileSync(target) : null
      if (op.kind === 'remove') {
        if (before) {
          journal.push({ path: target, before })
          unlinkSync(target)
        }
        continue
      }
      for (const dir of missingDirs(root, op.path)) {
        mkdirSync(abs(root, dir))
        createdDirs.push(abs(root, dir))
      }
      journal.push({ path: target, before })
      writeFileSync(target, op.content)
    }
  }
  catch (err) {
    const problems = []
    for (const dir of removedDirs.reverse()) {
      try { mkdirSync(dir) }
      catch (e) { problems.push(`${dir}: ${/** @type {Error} */ (e).message}`) }
    }
    for (const { path, before } of journal.reverse()) {
      try {
        if (before) {
          mkdirSync(dirname(path), { recursive: true })
          writeFileSync(path, before)
        }
        else if (existsSync(path)) unlinkSync(path)
      }
      catch (e) { problems.push(`${path}: ${/** @type {Error} */ (e).message}`) }
    }
    for (const dir of createdDirs.reverse()) {
      try { if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir) }
      catch (e) { problems.push(`${dir}: ${/** @type {Error} */ (e).message}`) }
    }
    const message = `Writing ${/** @type {NodeJS.ErrnoException} */ (err).path ?? 'a file'} failed (${/** @type {Error} */ (err).message}); `
      + (problems.length ? `rolling back also failed for:\n${problems.map(p => `  - ${p}`).join('\n')}` : 'every change was rolled back, the tree is as before.')
    throw new Error(message, { cause: err })
  }
}
