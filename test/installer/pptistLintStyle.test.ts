// The extension is copied into PPTist, whose `npm run lint` is `eslint . --fix`: a rule it fixes would
// rewrite our files in the maintainers' tree (and the next install would overwrite their tree again).
// PPTist 2.0.0's .eslintrc.cjs has `'brace-style': ['error', 'stroustrup']` without allowSingleLine, so
// a one-line block `if (x) { a = 1 }` / `() => { a = 1 }` is an error it rewrites; our own style
// (no semicolons, single quotes, 2-space indent) already matches its other fixable rules. Seen in the
// real PPTist checkout: historyTracker.ts, readableText.ts and richTextRuns.ts were rewritten by it.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from './helpers'

const PLUGIN = join(REPO_ROOT, 'plugin')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return /\.(ts|vue)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) ? [path] : []
  })
}

/** A block statement opened and closed on one line with something in it: after `)`, `=>`, else, try, finally, do. */
const ONE_LINE_BLOCK = /(\)|=>|\belse|\btry|\bfinally|\bdo)\s*\{\s*[^\s}].*\}/
/** `} else`, `} catch`, `} finally` on one line: stroustrup wants the keyword on the line after the brace. */
const CUDDLED_ELSE = /\}\s*(else|catch|finally)\b/

describe('the extension in PPTist\'s lint', () => {
  it('has no one-line blocks and no `} else` (PPTist\'s brace-style stroustrup would rewrite them with --fix)', () => {
    const offenders: string[] = []
    for (const file of sources(PLUGIN)) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '')
        if (/^\s*(\*|\/\*)/.test(line) || code.includes('${')) return
        if (ONE_LINE_BLOCK.test(code) || CUDDLED_ELSE.test(code)) offenders.push(`${relative(REPO_ROOT, file)}:${i + 1}: ${line.trim()}`)
      })
    }
    expect(offenders).toEqual([])
  })

  it('recognises the shapes PPTist\'s lint rewrote, and not object literals or types', () => {
    for (const bad of ['if (x) { a = 1 }', 'watch(s, () => { changed = true }, {})', '} else { b() }']) expect(ONE_LINE_BLOCK.test(bad)).toBe(true)
    // seen in the real PPTist checkout: historyGroup.ts's `} else if (…) {` was split by --fix
    for (const bad of ['} else if (x) {', '} catch (err) {', '} finally {']) expect(CUDDLED_ELSE.test(bad)).toBe(true)
    for (const fine of ['}', 'else if (x) {', 'const elseWhere = 1']) expect(CUDDLED_ELSE.test(fine)).toBe(false)
    for (const fine of ['const o = { a: 1 }', 'f(x, { deep: 2 })', 'type T = (x: { a: string }) => void', 'if (x) {']) expect(ONE_LINE_BLOCK.test(fine)).toBe(false)
  })
})
