import { defineConfig } from 'tsup'

// ESM only: the suites import vitest, which cannot be loaded with require()
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
})
