import { defineConfig } from 'tsup'

const common = { entry: { index: 'src/index.ts' }, dts: true, sourcemap: true, target: 'es2022' } as const

// the two builds run side by side: dist is emptied once, before either (the build script), not by each
export default defineConfig([
  { ...common, format: ['esm'] },
  // nanoid 5 is ESM only: the CommonJS build carries its copy, so require() works where a require
  // of an ES module does not (Jest, tsx with .cts, Node before 20.19 or with --no-experimental-require-module)
  { ...common, format: ['cjs'], noExternal: ['nanoid'] },
])
