import { defineConfig } from 'vite'
import { fileURLToPath } from 'node:url'
import vue from '@vitejs/plugin-vue'

// The demo host: a small PPTist-shaped editor that mounts the extension.
// Built into dist/demo, which the proxy serves at `/`. In dev, the proxy runs beside Vite on 8787.
const proxyTarget = process.env.NANO_BANANA_PROXY ?? 'http://127.0.0.1:8787'
const demoRoot = fileURLToPath(new URL('./src/', import.meta.url))
const scssVariables = `@use "${fileURLToPath(new URL('./src/assets/styles/variables.scss', import.meta.url))}" as *;\n`

export default defineConfig({
  base: './',
  plugins: [vue()],
  css: {
    preprocessorOptions: {
      // The demo's SCSS variables, for the demo's own files only (the extension styles itself).
      scss: {
        // the extension's SFCs @import their variables (PPTist prepends @import lines to every SCSS block,
        // so @use would break its build); Sass's deprecation notice for that is expected
        silenceDeprecations: ['import'],
        additionalData: (source: string, filename: string) => filename.startsWith(demoRoot) ? scssVariables + source : source,
      },
    },
  },
  build: {
    outDir: 'dist/demo',
    emptyOutDir: true,
  },
  server: {
    port: 5173,
    proxy: {
      '/api': { target: proxyTarget, changeOrigin: true },
      '/imgs': { target: proxyTarget, changeOrigin: true },
    },
  },
})
