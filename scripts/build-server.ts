// `npm run build:server`: the proxy as one ES module, dist/server/index.js (+ source map), so the
// production start (`npm run serve`) runs plain Node with no dev dependency (no tsx, no TypeScript).
// Our own code (server/ and the plugin modules it shares) is bundled; every npm package stays an
// import resolved from node_modules at run time, so native modules (sharp, resvg) and package files
// (fonts) load as usual. esbuild rather than tsc: the shared plugin modules use extensionless imports
// (Vite style), which Node's ES module loader does not resolve.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Bundles server/index.ts into `outfile` (default dist/server/index.js); returns the output path. */
export async function buildServer(outfile = path.join(ROOT, 'dist', 'server', 'index.js')): Promise<string> {
  await build({
    entryPoints: [path.join(ROOT, 'server', 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  })
  return outfile
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildServer(process.argv[2] ? path.resolve(process.argv[2]) : undefined)
  process.stdout.write(`built ${path.relative(process.cwd(), out)}\n`)
}
