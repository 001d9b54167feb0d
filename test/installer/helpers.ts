// Helpers for the installer tests: temp copies of the PPTist fixture, a small stand-in for this
// package's sources, the CLI run as a real process, and a hash of every file and directory of a tree.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import ts from 'typescript'

export const REPO_ROOT = resolve(import.meta.dirname, '../..')
export const BIN = join(REPO_ROOT, 'bin/nano-banana-pptist.mjs')
export const FIXTURE = join(REPO_ROOT, 'test/fixtures/pptist')

const made: string[] = []

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `nb-installer-${prefix}-`))
  made.push(dir)
  return dir
}

export function cleanupTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** A fresh copy of the PPTist fixture. */
export function pptistCopy(): string {
  const dir = join(tempDir('pptist'), 'PPTist')
  cpSync(FIXTURE, dir, { recursive: true })
  return dir
}

/**
 * A small stand-in for this package (plugin/, template images, package.json), so that tests can change
 * the "extension" between runs. Its imports mirror the real extension's kinds: vue, pinia, an npm
 * package PPTist lacks, one it has, and relative imports.
 */
export function fakeSource(): string {
  const dir = tempDir('source')
  const ourPkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: ourPkg.name, version: ourPkg.version, dependencies: ourPkg.dependencies }, null, 2))
  // the lock the installer copies package-lock.json entries from (exact versions and integrity)
  cpSync(join(REPO_ROOT, 'package-lock.json'), join(dir, 'package-lock.json'))
  writeFiles(dir, {
    'plugin/index.ts': [
      "import type { App } from 'vue'",
      "import BananaGenerateButton from './components/BananaGenerateButton.vue'",
      "export default { install(app: App) { app.component('BananaGenerateButton', BananaGenerateButton) } }",
      '',
    ].join('\n'),
    'plugin/components/BananaGenerateButton.vue': [
      '<template><button class="banana">🍌</button></template>',
      '<script lang="ts" setup>',
      "import { useIntervalFn } from '@vueuse/core'",
      "import { defineStore } from 'pinia'",
      "import axios from 'axios'",
      "import { api } from '../services/api'",
      '// import nothing from \'commented-out-package\'',
      'void useIntervalFn; void defineStore; void axios; void api',
      '</script>',
      '',
    ].join('\n'),
    'plugin/services/api.ts': "export const api = { base: '/api/v1' }\n",
    'plugin/services/api.test.ts': "// tests are not copied\nimport { describe } from 'vitest'\nvoid describe\n",
    'public/imgs/nano_banana/business_pro.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]),
    'public/imgs/nano_banana/business_pro.thumb.jpg': Buffer.from([0xff, 0xd8, 0xff, 0xe0, 4, 5, 6]),
  })
  return dir
}

export function writeFiles(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(root, rel)
    mkdirSync(join(path, '..'), { recursive: true })
    writeFileSync(path, content)
  }
}

export interface CliResult {
  status: number | null
  stdout: string
  stderr: string
}

export function cli(...args: string[]): CliResult {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** Every file (path → sha256) and every directory (path → 'dir') under root. */
export function treeHash(root: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name
      if (entry.isDirectory()) {
        out[`${path}/`] = 'dir'
        walk(path)
      }
      else {
        out[path] = createHash('sha256').update(readFileSync(join(root, path))).digest('hex')
      }
    }
  }
  walk('')
  return out
}

export function read(root: string, rel: string): string {
  return readFileSync(join(root, rel), 'utf8')
}

/**
 * Evaluates the generated src/configs/nanoBanana.ts the way Vite would, with `import.meta.env`
 * holding the given variables.
 */
export function evaluateConfig(source: string, env: Record<string, string>): { enabled: boolean, serverUrl: string, token?: string } {
  const js = ts.transpileModule(source.replace(/import\.meta\.env/g, '__env'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText
  const module = { exports: {} as { default?: { enabled: boolean, serverUrl: string, token?: string } } }
  new Function('module', 'exports', '__env', js)(module, module.exports, env)
  if (!module.exports.default) throw new Error('the config module has no default export')
  return module.exports.default
}
