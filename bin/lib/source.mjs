// What the installer copies from this package: the extension (`plugin/`), the template images
// (`public/imgs/nano_banana/`), and which npm packages the extension imports.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, posix, relative, sep } from 'node:path'

const SKIPPED = [/(^|\/)__tests__\//, /\.(test|spec)\.[cm]?[jt]sx?$/, /(^|\/)\.DS_Store$/, /(^|\/)node_modules\//]
const CODE_FILE = /\.(vue|[cm]?[jt]sx?)$/

/**
 * Every file under `dir`, as posix paths relative to it, sorted (so plans are deterministic).
 * @param {string} dir
 * @returns {string[]}
 */
export function listFiles(dir) {
  /** @type {string[]} */
  const out = []
  const walk = (/** @type {string} */ sub) => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name
      if (entry.isDirectory()) walk(rel)
      else if (entry.isFile()) out.push(rel)
    }
  }
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory()) walk('')
  return out.filter(f => !SKIPPED.some(re => re.test(f))).sort()
}

/**
 * Module specifiers a JS/TS/Vue file imports (static, dynamic, re-exports, side-effect imports).
 * Comments are removed first so commented-out imports do not count.
 * @param {string} code
 */
export function importSpecifiers(code) {
  const withoutComments = code
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`\\])\/\/[^\n]*/g, '$1')
    .replace(/<!--[\s\S]*?-->/g, '')
  const specs = new Set()
  const patterns = [
    /\bimport\s+(?:type\s+)?[\w*{}\s,$]+?\s+from\s+['"]([^'"]+)['"]/g,
    /\bexport\s+(?:type\s+)?[\w*{}\s,$]*?\s*from\s+['"]([^'"]+)['"]/g,
    /\bimport\s+['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ]
  for (const re of patterns) {
    for (const m of withoutComments.matchAll(re)) specs.add(m[1])
  }
  return [...specs]
}

/** @param {string} spec a bare specifier */
export function packageName(spec) {
  const parts = spec.split('/')
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

const BUILTINS = new Set(builtinModules)

/**
 * Reads the extension's sources and checks it is self-contained: relative imports stay inside
 * `plugin/`, no `@/` alias (that would point into PPTist), no Node built-ins.
 * @param {string} pluginDir
 * @returns {{ files: string[], packages: string[], problems: string[] }}
 */
export function scanPlugin(pluginDir) {
  const files = listFiles(pluginDir)
  const packages = new Set()
  const problems = []
  for (const file of files.filter(f => CODE_FILE.test(f))) {
    const code = readFileSync(join(pluginDir, file), 'utf8')
    for (const raw of importSpecifiers(code)) {
      const spec = raw.replace(/[?#].*$/, '')
      if (spec.startsWith('.')) {
        const resolved = posix.normalize(posix.join(posix.dirname(file), spec))
        if (resolved.startsWith('..')) problems.push(`plugin/${file} imports '${raw}', outside plugin/`)
      }
      else if (spec.startsWith('@/') || spec.startsWith('/') || spec.startsWith('~')) {
        problems.push(`plugin/${file} imports '${raw}' (an alias or absolute path; the extension must use relative imports only)`)
      }
      else if (spec.startsWith('node:') || BUILTINS.has(packageName(spec))) {
        problems.push(`plugin/${file} imports the Node built-in '${raw}'`)
      }
      else {
        packages.add(packageName(spec))
      }
    }
  }
  return { files, packages: [...packages].sort(), problems }
}

/**
 * Single-file components whose SCSS style blocks use `@use` / `@forward`. Sass wants those before any
 * other rule, and a host that prepends `@import …` to every SCSS block (PPTist does, through Vite's
 * `css.preprocessorOptions.scss.additionalData`) makes them fail to compile.
 * @param {string} pluginDir
 * @param {string[]} files
 */
export function scssUseInStyleBlocks(pluginDir, files) {
  const offenders = []
  for (const file of files.filter(f => f.endsWith('.vue'))) {
    const sfc = readFileSync(join(pluginDir, file), 'utf8')
    for (const m of sfc.matchAll(/<style\b([^>]*)>([\s\S]*?)<\/style>/g)) {
      if (!/\blang=["']scss["']/.test(m[1])) continue
      const use = /^[ \t]*@(use|forward)\b[^\n]*/m.exec(m[2].replace(/\/\*[\s\S]*?\*\//g, ''))
      if (use) offenders.push(`plugin/${file}: \`${use[0].trim()}\``)
    }
  }
  return offenders
}

/** @param {string} root @param {string} path */
export function toPosixRelative(root, path) {
  return relative(root, path).split(sep).join('/')
}
