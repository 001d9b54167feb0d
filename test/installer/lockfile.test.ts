// package-lock.json after install: PPTist's maintainers run `npm ci`, which refuses a lock out of step
// with package.json. npm itself is the judge here (`npm ls --package-lock-only`, offline: it reads the
// lock and package.json only and fails with ELSPROBLEMS on a package.json dependency the lock lacks).
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { editPackageLock } from '../../bin/lib/lockfile.mjs'
import { cleanupTempDirs, cli, fakeSource, pptistCopy, read, REPO_ROOT } from './helpers'

afterEach(cleanupTempDirs)

const sha = (root: string, rel: string) => createHash('sha256').update(readFileSync(join(root, rel))).digest('hex')

function npmLs(root: string) {
  const result = spawnSync('npm', ['ls', '--package-lock-only', '--all', '--offline'], { cwd: root, encoding: 'utf8', timeout: 60_000 })
  return { status: result.status, out: `${result.stdout}\n${result.stderr}` }
}

interface LockShape {
  packages: Record<string, { version?: string, resolved?: string, integrity?: string, dev?: boolean, dependencies?: Record<string, string> }>
  dependencies: Record<string, { version: string, resolved?: string, integrity?: string, requires?: Record<string, string> }>
}

describe('package-lock.json', () => {
  it('after install npm finds every package.json dependency in the lock; uninstall restores both files byte for byte', () => {
    const target = pptistCopy()
    const source = fakeSource()
    expect(npmLs(target).status).toBe(0) // the fixture's lock is complete to begin with
    const before = { pkg: sha(target, 'package.json'), lock: sha(target, 'package-lock.json') }

    const result = cli('install', target, '--source', source)
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain('write  package-lock.json')
    const ls = npmLs(target)
    expect(ls.out).not.toContain('missing:')
    expect(ls.status).toBe(0)

    const lock = JSON.parse(read(target, 'package-lock.json')) as LockShape
    const ours = JSON.parse(read(source, 'package-lock.json')) as LockShape
    const core = lock.packages['node_modules/@vueuse/core']
    expect(core.version).toBe(ours.packages['node_modules/@vueuse/core'].version)
    expect(core.integrity).toBe(ours.packages['node_modules/@vueuse/core'].integrity)
    // downloaded from the registry PPTist's lock uses, like every other entry
    expect(core.resolved).toBe(`https://registry.npmmirror.com/@vueuse/core/-/core-${core.version}.tgz`)
    expect(core.dev).toBeUndefined()
    // what @vueuse/core needs is there too, and the v2 lock's legacy tree says the same
    for (const dep of Object.keys(core.dependencies ?? {})) expect(lock.packages[`node_modules/${dep}`]).toBeDefined()
    expect(lock.dependencies['@vueuse/core'].requires).toEqual(core.dependencies)
    expect(lock.dependencies['@vueuse/shared'].version).toBe(lock.packages['node_modules/@vueuse/shared'].version)
    const keys = Object.keys(lock.packages).slice(1)
    expect(keys).toEqual([...keys].sort((a, b) => a.localeCompare(b, 'en')))

    // a second run changes nothing
    expect(cli('install', target, '--source', source).stdout).toContain('nothing changed')

    expect(cli('uninstall', target).status).toBe(0)
    expect({ pkg: sha(target, 'package.json'), lock: sha(target, 'package-lock.json') }).toEqual(before)
  })

  it('without a lock of ours to copy from, leaves PPTist\'s lock alone and says npm install is needed', () => {
    const target = pptistCopy()
    const source = fakeSource()
    rmSync(join(source, 'package-lock.json'))
    const before = sha(target, 'package-lock.json')
    const result = cli('install', target, '--source', source)
    expect(result.status).toBe(0)
    expect(result.stdout).toContain('is not updated: run `npm install`')
    expect(sha(target, 'package-lock.json')).toBe(before)
  })

  it('reuses a package PPTist has at the same version (now a production one), nests one it has at another version', () => {
    const pptist = {
      name: 'pptist', lockfileVersion: 2, requires: true,
      packages: {
        '': { name: 'pptist', dependencies: { vue: '^3.5.0' } },
        'node_modules/b': { version: '1.0.0', resolved: 'https://r.example/b/-/b-1.0.0.tgz', integrity: 'sha512-b1', dev: true },
        'node_modules/c': { version: '2.0.0', resolved: 'https://r.example/c/-/c-2.0.0.tgz', integrity: 'sha512-c2', dev: true },
        'node_modules/vue': { version: '3.5.17', resolved: 'https://r.example/vue/-/vue-3.5.17.tgz', integrity: 'sha512-v' },
      },
      dependencies: {
        b: { version: '1.0.0', resolved: 'https://r.example/b/-/b-1.0.0.tgz', integrity: 'sha512-b1', dev: true },
        c: { version: '2.0.0', resolved: 'https://r.example/c/-/c-2.0.0.tgz', integrity: 'sha512-c2', dev: true },
        vue: { version: '3.5.17', resolved: 'https://r.example/vue/-/vue-3.5.17.tgz', integrity: 'sha512-v' },
      },
    }
    const ours = {
      packages: {
        '': {},
        'node_modules/a': { version: '1.2.3', integrity: 'sha512-a', license: 'MIT', dependencies: { b: '^1.0.0', c: '^1.0.0' }, peerDependencies: { vue: '^3.5.0' } },
        'node_modules/b': { version: '1.0.0', integrity: 'sha512-b1' },
        'node_modules/c': { version: '1.5.0', integrity: 'sha512-c1', dev: true },
      },
    }
    const { text, added } = editPackageLock(`${JSON.stringify(pptist, null, 2)}\n`, ours, { a: '1.2.3' })
    const lock = JSON.parse(text) as LockShape
    expect(added).toEqual(['node_modules/a', 'node_modules/a/node_modules/c'])
    expect(lock.packages['node_modules/a']).toEqual({
      version: '1.2.3', resolved: 'https://r.example/a/-/a-1.2.3.tgz', integrity: 'sha512-a',
      dependencies: { b: '^1.0.0', c: '^1.0.0' }, peerDependencies: { vue: '^3.5.0' },
    }) // no license field: PPTist's lock has none
    expect(lock.packages['node_modules/b'].dev).toBeUndefined()
    expect(lock.dependencies.b).not.toHaveProperty('dev')
    expect(lock.packages['node_modules/c']).toEqual(pptist.packages['node_modules/c']) // PPTist's own c untouched
    expect(lock.packages['node_modules/a/node_modules/c']).toMatchObject({ version: '1.5.0', integrity: 'sha512-c1' })
    expect(lock.packages['node_modules/a/node_modules/c'].dev).toBeUndefined()
    expect(lock.dependencies.a).toMatchObject({ version: '1.2.3', requires: { b: '^1.0.0', c: '^1.0.0' } })
    expect((lock.dependencies.a as { dependencies?: Record<string, { version: string }> }).dependencies?.c.version).toBe('1.5.0')
    expect(Object.keys(lock.packages)).not.toContain('node_modules/vue/node_modules/vue')
  })

  it('refuses a v1 lock (no "packages" section), changing nothing', () => {
    const target = pptistCopy()
    writeFileSync(join(target, 'package-lock.json'), '{\n  "name": "pptist",\n  "lockfileVersion": 1,\n  "dependencies": {}\n}\n')
    const before = sha(target, 'package-lock.json')
    const result = cli('install', target, '--source', fakeSource())
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('lockfileVersion 1')
    expect(sha(target, 'package-lock.json')).toBe(before)
    expect(read(target, 'src/main.ts')).not.toContain('nano-banana')
  })
})

describe('--help', () => {
  it('names every file the real extension\'s install patches, and the packages it adds', () => {
    const target = pptistCopy()
    const result = cli('install', target)
    expect(result.status).toBe(0)
    const help = cli('--help').stdout
    const manifest = JSON.parse(read(target, 'src/plugins/nano-banana/.install-manifest.json')) as {
      modified: Record<string, unknown>, dependencies: Record<string, string>, added: Record<string, string>
    }
    for (const rel of Object.keys(manifest.modified)) expect(help).toContain(rel)
    for (const name of Object.keys(manifest.dependencies)) expect(help).toContain(name)
    for (const rel of Object.keys(manifest.added)) {
      expect(['src/plugins/nano-banana/', 'public/imgs/nano_banana/', 'src/configs/nanoBanana.ts'].some(prefix => rel.startsWith(prefix))).toBe(true)
    }
  })

  it('and the README say how many marked blocks each patched file gets, and what is in the header (tester m6)', () => {
    const target = pptistCopy()
    expect(cli('install', target).status).toBe(0)
    const help = cli('--help').stdout
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')
    const manifest = JSON.parse(read(target, 'src/plugins/nano-banana/.install-manifest.json')) as { modified: Record<string, unknown> }
    const words = ['no', 'one', 'two', 'three', 'four']
    for (const rel of Object.keys(manifest.modified)) {
      // README's table of changes has a row for every patched file
      const row = readme.split('\n').find(line => line.startsWith(`| \`${rel}\``))
      expect(row, `README row for ${rel}`).toBeDefined()
      const blocks = (read(target, rel).match(/nano-banana:start/g) ?? []).length
      if (!blocks) continue
      const count = `${words[blocks]} ${blocks === 1 ? 'block' : 'blocks'}`
      const helpLine = help.split('\n').find(line => line.trim().startsWith(rel))!
      expect(helpLine, `--help for ${rel}`).toContain(count)
      expect(row, `README for ${rel}`).toContain(count.replace(/blocks?$/, 'marked block'))
    }
    const header = read(target, 'src/views/Editor/EditorHeader/index.vue')
    if (header.includes('NanoBananaAIPPTOffer')) {
      expect(help).toContain('AIPPT offer')
      expect(readme.split('\n').find(line => line.startsWith('| `src/views/Editor/EditorHeader/index.vue`'))).toContain('AIPPT offer')
    }
  })
})
