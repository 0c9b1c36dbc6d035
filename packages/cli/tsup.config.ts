import { defineConfig } from 'tsup'

export default defineConfig({
  // index: runCli and EXIT_CODES, as every package ships them; bin: the `leanflow` executable
  // (package.json's bin points at its ESM build; esbuild keeps its #! line)
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  // import.meta.url in the CommonJS build too (version.ts reads package.json beside dist/)
  shims: true,
  target: 'es2022',
})
