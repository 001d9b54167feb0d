// The extension is copied into PPTist, whose `npm run build` runs its type-check first
// (`vue-tsc --build --force`) with PPTist's own TypeScript: 5.3.3 in PPTist 2.0.0's package-lock, and
// @vue/tsconfig 0.5.1's tsconfig.dom.json (lib ES2020 + DOM, strict, verbatimModuleSyntax, bundler
// resolution). Our own type-check uses a newer TypeScript, whose DOM types know APIs that 5.3's do not
// (RequestInit.priority, HTMLImageElement.fetchPriority broke a maintainer's build once). This compiles
// the extension's .ts files with that TypeScript and those options. The .vue files are left to vue-tsc in
// the real build (checked by hand, see README "For maintainers").
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from './helpers'

type Ts = typeof import('typescript')
// PPTist's TypeScript, installed beside ours by the workspace test/installer/pptist-typescript (a
// dependency of our own under another name would also take over node_modules/.bin/tsc)
const ts = createRequire(join(REPO_ROOT, 'test/installer/pptist-typescript/package.json'))('typescript') as Ts

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return /\.ts$/.test(entry.name) && !/\.(test|d)\.ts$/.test(entry.name) ? [path] : []
  })
}

/** Diagnostics of `files` under PPTist 2.0.0's compiler options, as `file:line: message` lines. */
function pptistDiagnostics(files: string[], extra: string[] = []): string[] {
  const options: import('typescript').CompilerOptions = {
    noEmit: true, strict: true, noImplicitThis: true, skipLibCheck: true, esModuleInterop: true,
    module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ESNext,
    lib: ['lib.es2020.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'], types: [], verbatimModuleSyntax: true,
    resolveJsonModule: true, useDefineForClassFields: true, forceConsistentCasingInFileNames: true,
  }
  const program = ts.createProgram([...files, ...extra], options)
  return ts.getPreEmitDiagnostics(program).map(d => {
    const where = d.file ? `${relative(REPO_ROOT, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '(options)'
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`
  })
}

describe('the extension under PPTist\'s TypeScript', () => {
  it('is PPTist 2.0.0\'s TypeScript 5.3', () => {
    expect(ts.version).toBe('5.3.3')
  })

  it('type-checks every .ts file of plugin/ with PPTist\'s compiler and options', () => {
    const shim = join(REPO_ROOT, 'test/installer/pptistTypes/vueShim.d.ts')
    expect(pptistDiagnostics(sources(join(REPO_ROOT, 'plugin')), [shim])).toEqual([])
  }, 60_000)

  it('catches a DOM API that 5.3 does not know', () => {
    const file = join(REPO_ROOT, 'test/installer/pptistTypes/newerDom.ts')
    expect(pptistDiagnostics([file]).join('\n')).toMatch(/fetchPriority/)
  }, 60_000)
})
