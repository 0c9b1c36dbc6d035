import { defineConfig } from 'tsup'

export default defineConfig([
  // the library entry (runCli, EXIT_CODES), as every package ships it
  { entry: { index: 'src/index.ts' }, format: ['esm', 'cjs'], dts: true, sourcemap: true, clean: true, target: 'es2022' },
  // the `leanflow` executable (its #! line is kept by esbuild)
  { entry: { bin: 'src/bin.ts' }, format: ['esm'], sourcemap: true, target: 'es2022' },
])
