// The installer, run as the real CLI against temp copies of the PPTist-shaped fixture.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  BIN, cleanupTempDirs, cli, evaluateConfig, fakeSource, pptistCopy, read, treeHash, writeFiles,
} from './helpers'

const MAIN = 'src/main.ts'
const HEADER = 'src/views/Editor/EditorHeader/index.vue'
const CONFIG = 'src/configs/nanoBanana.ts'
const MANIFEST = 'src/plugins/nano-banana/.install-manifest.json'

afterEach(cleanupTempDirs)

function install(target: string, source: string, ...flags: string[]) {
  return cli('install', target, '--source', source, ...flags)
}

describe('install', () => {
  it('copies the extension and images, writes the config, and wires main.ts, the header and package.json', () => {
    const target = pptistCopy()
    const source = fakeSource()
    const result = install(target, source)
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)

    for (const rel of ['plugin/index.ts', 'plugin/components/BananaGenerateButton.vue', 'plugin/services/api.ts']) {
      expect(readFileSync(join(target, 'src/plugins/nano-banana', rel.slice('plugin/'.length)))).toEqual(readFileSync(join(source, rel)))
    }
    expect(existsSync(join(target, 'src/plugins/nano-banana/services/api.test.ts'))).toBe(false)
    for (const img of ['business_pro.png', 'business_pro.thumb.jpg']) {
      expect(readFileSync(join(target, 'public/imgs/nano_banana', img))).toEqual(readFileSync(join(source, 'public/imgs/nano_banana', img)))
    }

    const main = read(target, MAIN).split('\n')
    const at = (pattern: RegExp) => main.findIndex(line => pattern.test(line))
    const importLine = at(/^import NanoBanana from '@\/plugins\/nano-banana'$/)
    const pinia = at(/^app\.use\(createPinia\(\)\)$/)
    const use = at(/app\.use\(NanoBanana, \{ serverUrl: nanoBananaConfig\.serverUrl/)
    const mount = at(/^app\.mount\(/)
    expect(importLine).toBeGreaterThan(-1)
    expect(importLine).toBeLessThan(at(/^const app = createApp\(App\)$/))
    expect(main.some(line => line === "import nanoBananaConfig from '@/configs/nanoBanana'")).toBe(true)
    expect(pinia).toBeLessThan(use)
    expect(use).toBeLessThan(mount)
    expect(main[use - 1]).toBe('if (nanoBananaConfig.enabled) {')

    const header = read(target, HEADER).split('\n')
    const button = header.findIndex(line => line.trim() === '<BananaGenerateButton v-if="nanoBananaConfig.enabled" />')
    const exportButton = header.findIndex(line => line.includes('setDialogForExport(\'pptx\')') && line.includes('v-tooltip'))
    expect(button).toBeGreaterThan(header.findIndex(line => line.includes('<div class="right">')))
    expect(button).toBe(exportButton - 2) // button, end marker, export button
    expect(header[button]).toMatch(/^ {6}</) // indented like its neighbours
    const script = header.indexOf('<script lang="ts" setup>')
    expect(header.slice(script, script + 4)).toContain("import nanoBananaConfig from '@/configs/nanoBanana'")

    const pkg = JSON.parse(read(target, 'package.json'))
    const ours = JSON.parse(read(source, 'package.json'))
    expect(pkg.dependencies['@vueuse/core']).toBe(ours.dependencies['@vueuse/core'])
    expect(pkg.dependencies.axios).toBe('^1.7.9') // PPTist's own range is left alone
    expect(pkg.dependencies).not.toHaveProperty('commented-out-package')
    expect(pkg.dependencies).not.toHaveProperty('vitest')
    expect(Object.keys(pkg.dependencies)).toEqual([...Object.keys(pkg.dependencies)].sort())
    expect(result.stdout).toContain(`@vueuse/core@${ours.dependencies['@vueuse/core']}`)
    expect(result.stdout).toContain('added to package.json and package-lock.json): run `npm ci`')

    const config = evaluateConfig(read(target, CONFIG), {})
    expect(config).toEqual({ enabled: true, serverUrl: 'http://localhost:8787', token: undefined })
  })

  it('marks every edit so it can be recognised', () => {
    const target = pptistCopy()
    expect(install(target, fakeSource()).status).toBe(0)
    const main = read(target, MAIN)
    expect(main.match(/^\/\/ nano-banana:start$/gm)).toHaveLength(2)
    expect(main.match(/^\/\/ nano-banana:end$/gm)).toHaveLength(2)
    const header = read(target, HEADER)
    expect(header.match(/<!-- nano-banana:start -->/g)).toHaveLength(1)
    expect(header.match(/^\/\/ nano-banana:start$/gm)).toHaveLength(1)
  })

  it('writes code in PPTist\'s style: no semicolons, single quotes, two-space indents', () => {
    const target = pptistCopy()
    expect(install(target, fakeSource()).status).toBe(0)
    const config = read(target, CONFIG)
    const added = read(target, MAIN).split('\n').filter(l => !l.startsWith('//') && /nanoBanana|NanoBanana|^\}$/.test(l))
    for (const line of [...config.split('\n').filter(l => !l.startsWith('//')), ...added]) {
      expect(line).not.toMatch(/;\s*$/)
      expect(line).not.toMatch(/^(?: {2})*\t/)
      expect(line.replace(/'[^']*'/g, '')).not.toContain('"')
    }
  })

  it('is idempotent: a second run changes no byte and says so', () => {
    const target = pptistCopy()
    const source = fakeSource()
    expect(install(target, source).status).toBe(0)
    const after1 = treeHash(target)
    const second = install(target, source)
    expect(second.status).toBe(0)
    expect(second.stdout).toContain('nothing changed')
    expect(second.stdout).not.toContain('npm install')
    expect(treeHash(target)).toEqual(after1)
  })

  it('keeps the server URL and enabled flag chosen last time when re-run without flags', () => {
    const target = pptistCopy()
    const source = fakeSource()
    expect(install(target, source, '--server-url', 'https://banana.example.com', '--disabled').status).toBe(0)
    const after1 = treeHash(target)
    expect(install(target, source).status).toBe(0)
    expect(treeHash(target)).toEqual(after1)
    expect(evaluateConfig(read(target, CONFIG), {})).toMatchObject({ enabled: false, serverUrl: 'https://banana.example.com' })
    expect(install(target, source, '--server-url', 'https://other.example.com').status).toBe(0)
    expect(evaluateConfig(read(target, CONFIG), {})).toMatchObject({ enabled: false, serverUrl: 'https://other.example.com' })
  })

  it('updates the copied extension when the source changed, and nothing else', () => {
    const target = pptistCopy()
    const source = fakeSource()
    expect(install(target, source).status).toBe(0)
    const before = treeHash(target)

    writeFiles(source, {
      'plugin/services/api.ts': "export const api = { base: '/api/v1', version: 2 }\n",
      'plugin/extra/Helper.ts': 'export const helper = 1\n',
    })
    rmSync(join(source, 'public/imgs/nano_banana/business_pro.thumb.jpg'))
    const result = install(target, source)
    expect(result.status).toBe(0)
    const after = treeHash(target)

    const changed = Object.keys({ ...before, ...after }).filter(k => before[k] !== after[k]).sort()
    expect(changed).toEqual([
      'public/imgs/nano_banana/business_pro.thumb.jpg',
      MANIFEST,
      'src/plugins/nano-banana/extra/',
      'src/plugins/nano-banana/extra/Helper.ts',
      'src/plugins/nano-banana/services/api.ts',
    ].sort())
    expect(read(target, 'src/plugins/nano-banana/services/api.ts')).toContain('version: 2')
  })
})

describe('the AIPPT offer', () => {
  it('is mounted in the header only when the extension ships it, and uninstalls cleanly', () => {
    const without = pptistCopy()
    expect(install(without, fakeSource()).status).toBe(0)
    expect(read(without, HEADER)).not.toContain('NanoBananaAIPPTOffer')

    const target = pptistCopy()
    const pristine = treeHash(target)
    const source = fakeSource()
    writeFiles(source, { 'plugin/integrations/AIPPTOffer.vue': '<template><div /></template>\n' })
    expect(install(target, source).status).toBe(0)
    const header = read(target, HEADER)
    expect(header).toContain("import NanoBananaAIPPTOffer from '@/plugins/nano-banana/integrations/AIPPTOffer.vue'")
    expect(header).toContain('<NanoBananaAIPPTOffer v-if="nanoBananaConfig.enabled" />')
    expect(existsSync(join(target, 'src/plugins/nano-banana/integrations/AIPPTOffer.vue'))).toBe(true)

    // the extension drops it again: the header loses the line on the next run
    rmSync(join(source, 'plugin/integrations'), { recursive: true })
    expect(install(target, source).status).toBe(0)
    expect(read(target, HEADER)).not.toContain('NanoBananaAIPPTOffer')
    expect(existsSync(join(target, 'src/plugins/nano-banana/integrations'))).toBe(false)
    expect(cli('uninstall', target).status).toBe(0)
    expect(treeHash(target)).toEqual(pristine)
  })
})

describe('uninstall', () => {
  it('restores every PPTist file byte for byte and removes everything added, directories included', () => {
    const target = pptistCopy()
    const pristine = treeHash(target)
    expect(install(target, fakeSource(), '--server-url', 'https://banana.example.com').status).toBe(0)
    expect(treeHash(target)).not.toEqual(pristine)
    const result = cli('uninstall', target)
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    expect(treeHash(target)).toEqual(pristine)
  })

  it('restores byte for byte after an install that was updated in between', () => {
    const target = pptistCopy()
    const source = fakeSource()
    const pristine = treeHash(target)
    expect(install(target, source).status).toBe(0)
    writeFiles(source, { 'plugin/more/Thing.vue': '<template><i /></template>\n' })
    expect(install(target, source, '--disabled').status).toBe(0)
    expect(cli('uninstall', target).status).toBe(0)
    expect(treeHash(target)).toEqual(pristine)
  })

  it('keeps a maintainer\'s own later edits to PPTist files and removes only ours', () => {
    const target = pptistCopy()
    const source = fakeSource()
    const originalMain = read(target, MAIN)
    expect(install(target, source).status).toBe(0)
    writeFileSync(join(target, MAIN), `${read(target, MAIN)}console.info('maintainer line')\n`)
    writeFileSync(join(target, CONFIG), read(target, CONFIG).replace('http://localhost:8787', 'https://mine.example.com'))

    const rerun = install(target, source)
    expect(rerun.status).toBe(0)
    expect(rerun.stdout).toContain(`${CONFIG} was edited after the last install`)
    expect(read(target, CONFIG)).toContain('https://mine.example.com')
    expect(read(target, MAIN)).toContain("console.info('maintainer line')")

    const result = cli('uninstall', target)
    expect(result.status).toBe(0)
    expect(read(target, MAIN)).toBe(`${originalMain}console.info('maintainer line')\n`)
    expect(existsSync(join(target, CONFIG))).toBe(false)
  })

  it('keeps Windows line endings, and restores CRLF files byte for byte', () => {
    const target = pptistCopy()
    for (const rel of [MAIN, HEADER, 'package.json']) writeFileSync(join(target, rel), read(target, rel).replace(/\n/g, '\r\n'))
    const pristine = treeHash(target)
    expect(install(target, fakeSource()).status).toBe(0)
    for (const [rel, added] of [[MAIN, 'nano-banana:start'], [HEADER, 'nano-banana:start'], ['package.json', '@vueuse/core']]) {
      const text = read(target, rel)
      expect(text).toContain(added)
      expect(text.replace(/\r\n/g, '')).not.toContain('\n') // every line ending is still CRLF
    }
    expect(cli('uninstall', target).status).toBe(0)
    expect(treeHash(target)).toEqual(pristine)
  })

  it('handles files without a final newline', () => {
    const target = pptistCopy()
    for (const rel of [MAIN, HEADER]) writeFileSync(join(target, rel), read(target, rel).trimEnd())
    const pristine = treeHash(target)
    expect(install(target, fakeSource()).status).toBe(0)
    expect(read(target, MAIN).endsWith("app.mount('#app')")).toBe(true)
    expect(cli('uninstall', target).status).toBe(0)
    expect(treeHash(target)).toEqual(pristine)
  })

  it('says so when nothing is installed and changes nothing', () => {
    const target = pptistCopy()
    const pristine = treeHash(target)
    const result = cli('uninstall', target)
    expect(result.status).toBe(0)
    expect(result.stdout).toContain('not installed')
    expect(treeHash(target)).toEqual(pristine)
  })
})

describe('refusals leave the tree untouched', () => {
  function expectRefusal(target: string, ...messages: (string | RegExp)[]) {
    const before = treeHash(target)
    const result = install(target, fakeSource())
    expect(result.status).toBe(1)
    for (const m of messages) expect(result.stderr).toMatch(m)
    expect(treeHash(target)).toEqual(before)
  }

  it('refuses a directory that is not PPTist, naming what is missing', () => {
    const target = pptistCopy()
    rmSync(join(target, 'src/views'), { recursive: true })
    rmSync(join(target, 'src/store/snapshot.ts'))
    expectRefusal(target, /does not look like a PPTist checkout/, /src\/views\/Editor\/EditorHeader\/index\.vue/, /src\/store\/snapshot\.ts/)
  })

  it('refuses an unrelated project', () => {
    const target = pptistCopy()
    rmSync(join(target, 'src'), { recursive: true })
    writeFileSync(join(target, 'package.json'), '{ "name": "some-other-app" }\n')
    expectRefusal(target, /does not look like a PPTist checkout/, /src\/main\.ts/)
  })

  it('refuses when the Pinia line in main.ts moved', () => {
    const target = pptistCopy()
    writeFileSync(join(target, MAIN), read(target, MAIN).replace('app.use(createPinia())\n', 'const pinia = createPinia()\napp.use(pinia)\n'))
    expectRefusal(target, /src\/main\.ts: expected one line `app\.use\(createPinia\(\)\)`; found no such line/, /nothing was changed/)
  })

  it('refuses when main.ts mounts before installing Pinia', () => {
    const target = pptistCopy()
    writeFileSync(join(target, MAIN), read(target, MAIN).replace("app.use(createPinia())\napp.mount('#app')\n", "app.mount('#app')\napp.use(createPinia())\n"))
    expectRefusal(target, /src\/main\.ts: expected .*in that order/)
  })

  it('refuses when the export button in the editor header moved', () => {
    const target = pptistCopy()
    writeFileSync(join(target, HEADER), read(target, HEADER).replace("v-tooltip=\"'导出'\" ", ''))
    expectRefusal(target, /src\/views\/Editor\/EditorHeader\/index\.vue: expected one export button line/)
  })

  it('refuses when the header has two candidate anchors', () => {
    const target = pptistCopy()
    writeFileSync(join(target, HEADER), read(target, HEADER).replace('<div class="left">', '<div class="right">'))
    expectRefusal(target, /index\.vue: expected one line `<div class="right">`.*found 2 such lines \(line 4, line 9\)/)
  })

  it('refuses a src/plugins/nano-banana/ it did not create', () => {
    const target = pptistCopy()
    writeFiles(target, { 'src/plugins/nano-banana/index.ts': 'export default {}\n' })
    expectRefusal(target, /src\/plugins\/nano-banana\/ exists but has no \.install-manifest\.json/)
  })

  it('refuses to overwrite a config file it did not write', () => {
    const target = pptistCopy()
    writeFiles(target, { [CONFIG]: 'export default { mine: true }\n' })
    expectRefusal(target, /src\/configs\/nanoBanana\.ts already exists and was not written by this installer/)
  })

  it('refuses an extension that imports outside itself', () => {
    const target = pptistCopy()
    const source = fakeSource()
    writeFiles(source, { 'plugin/bad.ts': "import { x } from '@/store'\nimport y from '../server/thing'\nexport { x, y }\n" })
    const before = treeHash(target)
    const result = install(target, source)
    expect(result.status).toBe(1)
    expect(result.stderr).toContain("plugin/bad.ts imports '@/store'")
    expect(result.stderr).toContain("plugin/bad.ts imports '../server/thing', outside plugin/")
    expect(treeHash(target)).toEqual(before)
  })

  it('refuses an extension whose SCSS would break PPTist\'s build (@use after PPTist\'s prepended @import)', () => {
    const target = pptistCopy()
    const source = fakeSource()
    const sfc = (style: string) => `<template><i /></template>\n<style lang="scss" scoped>\n${style}\n.x { color: $c; }\n</style>\n`
    writeFiles(source, { 'plugin/components/Styled.vue': sfc("@use '../styles/vars' as *;") })
    const before = treeHash(target)
    const result = install(target, source)
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('vite.config.ts prepends `@import`')
    expect(result.stderr).toContain("plugin/components/Styled.vue: `@use '../styles/vars' as *;`")
    expect(treeHash(target)).toEqual(before)

    // @import is fine there, and a host without additionalData accepts @use
    writeFiles(source, { 'plugin/components/Styled.vue': sfc("@import '../styles/vars';") })
    expect(install(target, source).status).toBe(0)
    const plain = pptistCopy()
    rmSync(join(plain, 'vite.config.ts'))
    writeFiles(source, { 'plugin/components/Styled.vue': sfc("@use '../styles/vars' as *;") })
    expect(install(plain, source).status).toBe(0)
  })

  it('rolls back every write when one fails half way', () => {
    const target = pptistCopy()
    // images are written after the extension and the config: a file where a directory should be makes that write fail
    rmSync(join(target, 'public'), { recursive: true })
    writeFileSync(join(target, 'public'), 'not a directory\n')
    const before = treeHash(target)
    const result = install(target, fakeSource())
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/every change was rolled back/)
    expect(treeHash(target)).toEqual(before)
  })
})

describe('command line', () => {
  it('--dry-run and check list the changes and write nothing; so does uninstall --dry-run', () => {
    const target = pptistCopy()
    const source = fakeSource()
    const pristine = treeHash(target)
    for (const args of [['install', target, '--source', source, '--dry-run'], ['check', target, '--source', source]]) {
      const result = cli(...args)
      expect(result.status).toBe(0)
      expect(result.stdout).toContain('Would change:')
      expect(result.stdout).toContain('write  src/main.ts')
      expect(treeHash(target)).toEqual(pristine)
    }
    expect(install(target, source).status).toBe(0)
    const installed = treeHash(target)
    const dry = cli('uninstall', target, '--dry-run')
    expect(dry.status).toBe(0)
    expect(dry.stdout).toContain('write  src/main.ts')
    expect(treeHash(target)).toEqual(installed)
  })

  it('answers a wrong command line with usage and exit code 2', () => {
    for (const args of [[], ['install'], ['frobnicate', '/tmp'], ['install', '/tmp', '--disabled', '--enabled'], ['install', '/tmp', '--bogus']]) {
      const result = cli(...args)
      expect(result.status, args.join(' ')).toBe(2)
      expect(result.stderr).toMatch(/Usage|contradict|Unknown option/)
    }
  })

  it('leaves a package PPTist already has alone, but says when its major version differs from ours', () => {
    const target = pptistCopy()
    writeFileSync(join(target, 'package.json'), read(target, 'package.json').replace('"axios": "^1.7.9"', '"@vueuse/core": "^10.1.0",\n    "axios": "^1.7.9"'))
    const result = install(target, fakeSource())
    expect(result.status).toBe(0)
    expect(JSON.parse(read(target, 'package.json')).dependencies['@vueuse/core']).toBe('^10.1.0')
    expect(result.stdout).toMatch(/PPTist has @vueuse\/core@\^10\.1\.0; the extension is built and tested with @vueuse\/core@14/)
    expect(result.stdout).not.toContain('axios')
  })

  it('finishes the install when its output pipe is closed early (`… | head`)', async () => {
    const target = pptistCopy()
    const child = spawn(process.execPath, [BIN, 'install', target, '--source', fakeSource()], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.destroy() // closed before the CLI writes its first line
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk })
    const status = await new Promise<number | null>(done => child.on('close', done))
    expect(stderr).not.toContain('EPIPE')
    expect(status).toBe(0)
    expect(existsSync(join(target, MANIFEST))).toBe(true)
  })

  it('installs into a renamed PPTist fork, saying so', () => {
    const target = pptistCopy()
    writeFileSync(join(target, 'package.json'), read(target, 'package.json').replace('"name": "pptist"', '"name": "my-slides"'))
    const result = install(target, fakeSource())
    expect(result.status).toBe(0)
    expect(result.stdout).toContain('names the package "my-slides", not "pptist"')
  })
})

describe('config', () => {
  it('with --disabled writes enabled: false, and the extension is only installed when enabled', () => {
    const target = pptistCopy()
    expect(install(target, fakeSource(), '--disabled').status).toBe(0)
    const source = read(target, CONFIG)
    expect(evaluateConfig(source, {}).enabled).toBe(false)
    expect(read(target, MAIN)).toMatch(/if \(nanoBananaConfig\.enabled\) \{\n\s+app\.use\(NanoBanana/)
    expect(read(target, HEADER)).toContain('<BananaGenerateButton v-if="nanoBananaConfig.enabled" />')
  })

  it('VITE_NANO_BANANA_ENABLED, VITE_NANO_BANANA_SERVER and VITE_NANO_BANANA_TOKEN override the file', () => {
    const target = pptistCopy()
    expect(install(target, fakeSource(), '--disabled', '--server-url', 'https://banana.example.com').status).toBe(0)
    const source = read(target, CONFIG)
    for (const name of ['VITE_NANO_BANANA_ENABLED', 'VITE_NANO_BANANA_SERVER', 'VITE_NANO_BANANA_TOKEN']) expect(source).toContain(name)
    expect(evaluateConfig(source, { VITE_NANO_BANANA_ENABLED: 'true' }).enabled).toBe(true)
    expect(evaluateConfig(source, { VITE_NANO_BANANA_ENABLED: '' }).enabled).toBe(false)
    expect(evaluateConfig(source, { VITE_NANO_BANANA_SERVER: 'https://proxy.example.org' }).serverUrl).toBe('https://proxy.example.org')
    expect(evaluateConfig(source, { VITE_NANO_BANANA_TOKEN: 't0k' }).token).toBe('t0k')

    const enabledTarget = pptistCopy()
    expect(install(enabledTarget, fakeSource()).status).toBe(0)
    const enabledSource = read(enabledTarget, CONFIG)
    for (const off of ['false', '0', 'off', 'FALSE']) {
      expect(evaluateConfig(enabledSource, { VITE_NANO_BANANA_ENABLED: off }).enabled).toBe(false)
    }
  })

  it('refuses a server URL that is not http(s) or a path', () => {
    const target = pptistCopy()
    const before = treeHash(target)
    const result = install(target, fakeSource(), '--server-url', "javascript:alert('x')")
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('--server-url')
    expect(treeHash(target)).toEqual(before)
  })
})

describe('this package\'s own extension', () => {
  it('installs plugin/ as is, with every npm package it imports declared in PPTist\'s package.json', () => {
    const target = pptistCopy()
    const result = cli('install', target, '--dry-run')
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/src\/plugins\/nano-banana\/ \(the extension\): write \d+/)
    expect(result.stdout).toContain('write  src/main.ts')

    expect(cli('install', target).status).toBe(0)
    const manifest = JSON.parse(read(target, MANIFEST)) as { added: Record<string, string>, dependencies: Record<string, string> }
    const pluginFiles = Object.keys(manifest.added).filter(rel => rel.startsWith('src/plugins/nano-banana/'))
    expect(pluginFiles.length).toBeGreaterThan(0)
    const pkg = JSON.parse(read(target, 'package.json'))
    const declared = { ...pkg.dependencies, ...pkg.devDependencies }
    for (const rel of pluginFiles) {
      const code = read(target, rel)
      for (const m of code.matchAll(/^\s*import\s[^'"]*?['"]([^'"./][^'"]*)['"]/gm)) {
        const spec = m[1]
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]
        expect(declared, `${rel} imports ${spec}`).toHaveProperty([name])
      }
    }
    expect(cli('uninstall', target).status).toBe(0)
  })
})
