import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const pkg = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url))

// Tests run against the packages' src/, never dist/ (no build needed).
const alias = [
  { find: /^@leanflow\/(core|redis|runner|bullmq)$/, replacement: `${pkg('$1')}/src/index.ts` },
  { find: /^@leanflow\/http$/, replacement: `${pkg('http')}/src/index.ts` },
  { find: /^@leanflow\/http\/(node|express|hono|h3|client)$/, replacement: `${pkg('http')}/src/$1.ts` },
]

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      { extends: true, test: { name: 'unit', include: ['packages/*/src/**/*.test.ts'], testTimeout: 20_000 } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
    ],
  },
})
