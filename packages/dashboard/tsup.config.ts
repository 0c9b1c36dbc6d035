import { defineConfig } from 'tsup'
import { buildApp } from './src/internal/appBuild.js'

// The page is bundled once here and inlined into dist/ as strings (assets.ts is replaced), so the
// published handler reads no files and runs wherever `Request`/`Response` do (Node, Bun, Deno, workers).
export default defineConfig(async () => {
  const assets = await buildApp()
  return {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    esbuildPlugins: [
      {
        name: 'inline-dashboard-assets',
        setup(b) {
          b.onResolve({ filter: /\/assets\.js$/ }, () => ({ path: 'assets', namespace: 'leanflow-dashboard-assets' }))
          b.onLoad({ filter: /.*/, namespace: 'leanflow-dashboard-assets' }, () => ({
            contents: `const assets = ${JSON.stringify(assets)}\nexport function loadAssets() { return Promise.resolve(assets) }\n`,
            loader: 'js',
          }))
        },
      },
    ],
  }
})
