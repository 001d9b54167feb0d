#!/usr/bin/env node
// nano-banana-pptist: install the Nano Banana 🍌 extension into a PPTist checkout, or take it out again.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  IMAGES_DIR, MANIFEST, PACKAGE_LOCK, PLUGIN_DIR, Refusal, applyOps, decodeOriginal, encodeOriginal, planInstall, planUninstall, readManifest, sha256,
} from './lib/installer.mjs'
import { render, UsageError } from './lib/render.mjs'

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

const USAGE = `Usage:
  nano-banana-pptist install <pptist-dir> [--server-url <url>] [--disabled | --enabled] [--npm-install] [--dry-run]
  nano-banana-pptist uninstall <pptist-dir> [--dry-run]
  nano-banana-pptist check <pptist-dir>        (same as install --dry-run)
  nano-banana-pptist render <deck.pptx> [-o <out.pptx>] --template <id|name> [--mode full|background]
                     [--resolution 1K|2K|4K] [--pages 1-3,5] [--server <url>] [--token <token>] [--dry-run]

install     adds to <pptist-dir> (new files):
              src/plugins/nano-banana/      the extension (this package's plugin/, tests left out)
                                            and .install-manifest.json (what was added, originals of patched files)
              public/imgs/nano_banana/      the template preview images
              src/configs/nanoBanana.ts     enabled flag and proxy URL (your later edits are kept)
            patches (marked "nano-banana:start/end"; originals kept in the manifest):
              src/main.ts                   two blocks: the imports, and app.use(NanoBanana) after Pinia
              src/views/Editor/EditorHeader/index.vue   two blocks: before "导出" the 🍌 button and the AIPPT offer
                                            ("render these slides" after PPTist's AIPPT dialog), and their imports
              package.json                  the npm packages the extension imports and PPTist lacks
                                            (today @microsoft/fetch-event-source, @vueuse/core; exact versions)
              package-lock.json             the same packages and what they need, copied from this package's
                                            lock (version, integrity; PPTist's registry host), so \`npm ci\` passes
            It does not touch node_modules: run \`npm ci\` (or \`npm install\`) in <pptist-dir> afterwards.
            Running it again changes nothing, or updates the copied extension when this package has a newer one.
  --server-url  the Nano Banana proxy's URL (default http://localhost:8787, or the one used last time)
  --disabled    write enabled: false (no button, extension not installed; VITE_NANO_BANANA_ENABLED=true turns it on)
  --npm-install run \`npm install\` in <pptist-dir> afterwards (uninstall still restores package-lock.json)
  --dry-run     show what would change, change nothing
uninstall   writes back the original bytes of every patched file (src/main.ts, the header, package.json,
            package-lock.json) and removes every added file and the directories install created. A patched
            file you edited since is not overwritten: only our blocks / our packages are taken out of it
            (an edited package-lock.json is left as is).
            node_modules keeps the extension's packages until \`npm ci\` or \`npm prune\`.
render      restyles a PowerPoint file: uploads it to the proxy (--server, else one started here with
            the environment's configuration), shows the progress, writes <deck>.banana.pptx (or -o) even
            when some pages failed and says which; exit code 1 only when nothing could be rendered.
  --template    template id or name (see GET /api/v1/templates)
  --mode        full (default: the image is the slide, its text goes to the notes) or background
                (editable text boxes on a designed background)
  --pages       only these slides (the others keep their look); needed for decks over 100 slides
  --language, --extra <text>, --no-style-chain   as in the editor's dialog
  --token       the proxy's PROXY_TOKEN (default: $NANO_BANANA_TOKEN or $PROXY_TOKEN)
  --dry-run     print the pages read from the deck and the cost estimate, render nothing
`

/** @param {string} message */
const fail = (message, code = 1) => {
  process.stderr.write(`${message}\n`)
  process.exit(code)
}

/**
 * One line per changed PPTist file; the extension's folder and the template images as counts.
 * @param {import('./lib/installer.mjs').Op[]} ops
 */
function describe(ops) {
  const verb = { write: 'write ', remove: 'remove', rmdir: 'rmdir ' }
  const groups = [[PLUGIN_DIR, 'the extension'], [IMAGES_DIR, 'template images']]
  const groupOf = (/** @type {string} */ path) => groups.find(([dir]) => path === dir || path.startsWith(`${dir}/`))
  const lines = []
  for (const [dir, label] of groups) {
    const inGroup = ops.filter(op => groupOf(op.path)?.[0] === dir)
    const counts = /** @type {const} */ (['write', 'remove', 'rmdir'])
      .map(kind => ({ kind, n: inGroup.filter(op => op.kind === kind).length }))
      .filter(({ n }) => n).map(({ kind, n }) => `${verb[kind].trim()} ${n}`)
    if (counts.length) lines.push(`  ${dir}/ (${label}): ${counts.join(', ')}`)
  }
  for (const op of ops) if (!groupOf(op.path)) lines.push(`  ${verb[op.kind]} ${op.path}`)
  return lines.join('\n')
}

/** @param {string} root */
function runNpmInstall(root) {
  process.stdout.write(`Running npm install in ${root} …\n`)
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
  return result.status === 0
}

/**
 * After `npm install`, remember package-lock.json's original bytes so uninstall can restore it too.
 * @param {string} root @param {Buffer | null} lockBefore
 */
function recordLockfile(root, lockBefore) {
  const lockPath = join(root, PACKAGE_LOCK)
  const manifest = readManifest(root)
  if (!manifest || !lockBefore || !existsSync(lockPath)) return
  const lockAfter = readFileSync(lockPath)
  const entry = manifest.modified[PACKAGE_LOCK]
  const original = entry ? decodeOriginal(entry) : lockBefore
  if (lockAfter.equals(original)) return
  manifest.modified[PACKAGE_LOCK] = {
    originalSha256: sha256(original),
    installedSha256: sha256(lockAfter),
    ...encodeOriginal(original),
  }
  writeFileSync(join(root, ...MANIFEST.split('/')), `${JSON.stringify(manifest, null, 2)}\n`)
}

async function renderCommand(/** @type {string[]} */ args) {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        template: { type: 'string', short: 't' },
        mode: { type: 'string' },
        resolution: { type: 'string' },
        pages: { type: 'string' },
        server: { type: 'string' },
        token: { type: 'string' },
        language: { type: 'string' },
        extra: { type: 'string' },
        'no-style-chain': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  }
  catch (err) {
    return fail(`${/** @type {Error} */ (err).message}\n\n${USAGE}`, 2)
  }
  const { values, positionals } = parsed
  if (values.help) return process.stdout.write(USAGE)
  if (positionals.length !== 1) return fail(`render takes one .pptx file.\n\n${USAGE}`, 2)
  try {
    const code = await render({
      file: positionals[0], output: values.output, template: values.template, mode: values.mode,
      resolution: values.resolution, pages: values.pages, server: values.server, token: values.token,
      language: values.language, extra: values.extra, dryRun: values['dry-run'],
      ...(values['no-style-chain'] ? { styleChain: false } : {}),
    })
    process.exit(code)
  }
  catch (err) {
    if (err instanceof UsageError) return fail(err.message, 2)
    const e = /** @type {Error & { name?: string }} */ (err)
    return fail(e.name === 'ConfigError' ? `Configuration error: ${e.message}` : `render failed: ${e.message}`)
  }
}

function main() {
  if (process.argv[2] === 'render') return void renderCommand(process.argv.slice(3))
  let parsed
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        'server-url': { type: 'string' },
        disabled: { type: 'boolean' },
        enabled: { type: 'boolean' },
        'npm-install': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        source: { type: 'string' }, // another copy of this package (development and tests)
        help: { type: 'boolean', short: 'h' },
      },
    })
  }
  catch (err) {
    return fail(`${/** @type {Error} */ (err).message}\n\n${USAGE}`, 2)
  }
  const { values, positionals } = parsed
  if (values.help) return process.stdout.write(USAGE)
  const [command, target, ...extra] = positionals
  if (!command || !target || extra.length || !['install', 'uninstall', 'check'].includes(command)) return fail(USAGE, 2)
  if (values.disabled && values.enabled) return fail('--disabled and --enabled contradict each other.', 2)
  const root = resolve(target)
  const sourceRoot = values.source ? resolve(values.source) : PACKAGE_ROOT
  const dryRun = Boolean(values['dry-run']) || command === 'check'

  try {
    if (command === 'uninstall') {
      const { ops, notes } = planUninstall({ root })
      for (const note of notes) process.stdout.write(`note: ${note}\n`)
      if (dryRun) return process.stdout.write(ops.length ? `Would change:\n${describe(ops)}\n` : 'Nothing to change.\n')
      if (!ops.length) return
      applyOps(root, ops)
      process.stdout.write(`Removed Nano Banana from ${root}:\n${describe(ops)}\n`)
      return
    }

    const enabled = values.disabled ? false : values.enabled ? true : undefined
    const { ops, manifest, notes, addedDependencies } = planInstall({ root, sourceRoot, serverUrl: values['server-url'], enabled })
    for (const note of notes) process.stdout.write(`note: ${note}\n`)
    const deps = Object.entries(addedDependencies).map(([n, v]) => `${n}@${v}`)
    if (dryRun) {
      process.stdout.write(ops.length ? `Would change:\n${describe(ops)}\n` : 'Already installed; nothing would change.\n')
      return
    }
    const lockBefore = existsSync(join(root, PACKAGE_LOCK)) ? readFileSync(join(root, PACKAGE_LOCK)) : null
    if (ops.length) {
      applyOps(root, ops)
      process.stdout.write(`Installed Nano Banana into ${root} (enabled: ${manifest.options.enabled}, server: ${manifest.options.serverUrl}):\n${describe(ops)}\n`)
    }
    else {
      process.stdout.write(`Nano Banana is already installed in ${root}; nothing changed.\n`)
    }
    if (values['npm-install']) {
      if (!runNpmInstall(root)) return fail(`npm install failed in ${root}; the extension's files are in place, run npm install there yourself.`)
      recordLockfile(root, lockBefore)
    }
    else if (deps.length && ops.some(op => op.path === 'package.json')) {
      const lockToo = ops.some(op => op.path === PACKAGE_LOCK)
      process.stdout.write(`\nThe extension needs ${deps.join(', ')} (added to package.json${lockToo ? ' and package-lock.json' : ''}): `
        + `run \`${lockToo ? 'npm ci' : 'npm install'}\` in ${root}.\n`)
    }
  }
  catch (err) {
    if (err instanceof Refusal) return fail(err.message)
    return fail(`nano-banana-pptist ${command} failed: ${/** @type {Error} */ (err).message}`)
  }
}

// Output piped into `head` and the like may be closed early: finish the work rather than die on EPIPE.
process.stdout.on('error', err => {
  if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EPIPE') throw err
})

main()
