// Bundles the dashboard's page (src/app/main.tsx and its CSS) with esbuild. The package build
// (tsup.config.ts) runs it once and inlines the result into dist/, replacing assets.ts; from src/
// (the repository's tests and demo, which import the packages' sources) assets.ts runs it on the
// first request instead. Never shipped: dist/ holds only the built strings.
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'
import type { AppAssets } from './assets.js'

const packages = fileURLToPath(new URL('../../../', import.meta.url))

/** `@leanflow/<pkg>[/<sub>]` from the workspace's sources, so the page needs no build of the other packages. */
const leanflowFromSrc: Plugin = {
  name: 'leanflow-src',
  setup(b) {
    b.onResolve({ filter: /^@leanflow\// }, (args) => {
      const [, pkg, sub] = /^@leanflow\/([^/]+)(?:\/(.+))?$/.exec(args.path) ?? []
      return { path: `${packages}${pkg}/src/${sub ?? 'index'}.ts` }
    })
  },
}

/**
 * Bundles the page: one minified ES module and one stylesheet.
 *
 * @example
 * ```ts
 * const { js, css } = await buildApp()
 * ```
 */
export async function buildApp(): Promise<AppAssets> {
  const out = await build({
    entryPoints: { app: fileURLToPath(new URL('../app/main.tsx', import.meta.url)) },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: 'out',
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
    plugins: [leanflowFromSrc],
  })
  const text = (ext: string) => {
    const file = out.outputFiles.find((f) => f.path.endsWith(ext))
    if (!file) throw new Error(`esbuild produced no ${ext} for the dashboard's src/app/main.tsx`)
    return file.text
  }
  return { js: text('.js'), css: text('.css') }
}
