import { defineConfig, type Plugin } from 'vite'
import { fileURLToPath } from 'node:url'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import vue from '@vitejs/plugin-vue'

// The extension as a library bundle (dist/plugin). The host already ships Vue, Pinia, axios and
// @vueuse/core, so they stay external; fetch-event-source (small) is bundled.
const outDir = fileURLToPath(new URL('./dist/plugin/', import.meta.url))
const GOAL_BYTES = 40 * 1024

function reportGzipSize(): Plugin {
  return {
    name: 'nano-banana-report-gzip-size',
    apply: 'build',
    closeBundle() {
      let total = 0
      for (const file of readdirSync(outDir)) {
        if (!/\.(js|css)$/.test(file)) continue
        const size = gzipSync(readFileSync(join(outDir, file)), { level: 9 }).length
        total += size
        console.log(`  ${file}: ${(size / 1024).toFixed(1)} KB gzip`)
      }
      const verdict = total <= GOAL_BYTES ? 'within' : 'OVER'
      console.log(`Nano Banana extension bundle: ${(total / 1024).toFixed(1)} KB gzip (JS + CSS), ${verdict} the 40 KB goal`)
    },
  }
}

export default defineConfig({
  plugins: [vue(), reportGzipSize()],
  // see vite.config.ts: the extension @imports its SCSS variables on purpose
  css: { preprocessorOptions: { scss: { silenceDeprecations: ['import'] } } },
  publicDir: false, // template covers are served by the proxy, not shipped in the bundle
  build: {
    outDir,
    emptyOutDir: true,
    sourcemap: true,
    lib: {
      entry: fileURLToPath(new URL('./plugin/index.ts', import.meta.url)),
      formats: ['es'],
      fileName: () => 'nano-banana.js',
      cssFileName: 'nano-banana',
    },
    rollupOptions: {
      external: ['vue', 'pinia', 'axios', '@vueuse/core', /^@vueuse\//],
    },
  },
})
