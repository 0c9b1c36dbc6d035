// Builds the page's script for the browser at startup: esbuild bundles page/app.ts with
// @leanflow/http/client and @leanflow/core taken from their src/ (no build, no CDN, no network).
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'

const packages = fileURLToPath(new URL('../../packages/', import.meta.url))

/** Resolves `@leanflow/<pkg>[/<subpath>]` to `packages/<pkg>/src/<index|subpath>.ts`. */
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
 * Bundles the page script (ESM, minified, inline source map).
 *
 * @example
 * ```ts
 * const js = await bundlePage()
 * res.end(js)
 * ```
 */
export async function bundlePage(): Promise<string> {
  const out = await build({
    entryPoints: [fileURLToPath(new URL('./page/app.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: 'inline',
    write: false,
    logLevel: 'silent',
    plugins: [leanflowFromSrc],
  })
  const file = out.outputFiles[0]
  if (!file) throw new Error('esbuild produced no output for page/app.ts')
  return file.text
}
