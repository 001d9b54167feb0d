import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

// Three kinds of tests, each in its own environment:
// server (node), plugin components and composables (happy-dom), browser (real Chromium via playwright-core).
export default defineConfig({
  plugins: [vue()],
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'server',
          include: ['test/server/**/*.test.ts', 'test/templates/**/*.test.ts', 'test/installer/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'plugin',
          include: ['test/plugin/**/*.test.ts'],
          environment: 'happy-dom',
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          globalSetup: ['test/browser/globalSetup.ts'],
        },
      },
    ],
  },
})
