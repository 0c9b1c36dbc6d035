// The page's built script and stylesheet. In dist/ this module is replaced by the strings built
// at package build time (tsup.config.ts); from src/ (the repository's tests and demo) the page is
// bundled on first use, once per process.

/** The dashboard page's bundled script and stylesheet. */
export interface AppAssets {
  js: string
  css: string
}

let built: Promise<AppAssets> | undefined

/** The page's assets (built once, then cached). */
export function loadAssets(): Promise<AppAssets> {
  built ??= import('./appBuild.js').then((m) => m.buildApp())
  return built
}
