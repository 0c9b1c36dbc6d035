// The layering of the packages, read from the import statements of every file in packages/*/src
// (TypeScript's parser, so imports in comments and strings do not count, and `export … from`,
// `import()`, `require()` and `import('x').T` types do):
// - @leanflow/core imports no other @leanflow package and nothing Node-only: only its own files and
//   the browser-safe packages listed below (its unit tests also vitest and fast-check);
// - redis, runner, http and bullmq import @leanflow/core and never each other; the cli imports core,
//   redis, runner (and bullmq, an optional peer);
// - the adapters (http's node, express, hono, h3) import only http's own files and their framework,
//   for types only; http's browser client only @leanflow/core;
// - relative imports stay inside their package's src/, and every other import of a shipped file is a
//   Node builtin (not in core) or declared in the package's dependencies or peerDependencies.
import { readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve, sep } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

/** The @leanflow packages each package may import. A new package needs its row. */
const MAY_IMPORT: Record<string, string[]> = {
  core: [],
  redis: ['core'],
  runner: ['core'],
  http: ['core'],
  bullmq: ['core'],
  // the CLI is an application of the store and the runner (@leanflow/bullmq: an optional peer, loaded for --bullmq)
  cli: ['core', 'redis', 'runner', 'bullmq'],
  // spans from a runner's log: its shipped files import no @leanflow package (only @opentelemetry/api); its tests run real runners
  otel: ['core', 'runner'],
  // the dashboard's page (src/app/) bundles core's reducer and http's client at build time; its handler imports nothing
  dashboard: ['core', 'http'],
  // the conformance suites: vitest (a peer) and fast-check drive them; they import only core
  testing: ['core'],
}
/**
 * Files of a package that are bundled when the package is built, so their imports are dev
 * dependencies: the dashboard's page (inlined into dist/ as strings) and its builder (run by
 * tsup.config.ts; dist/ has its output instead).
 */
const BUNDLED_AT_BUILD = (s: { pkg: string; file: string }) =>
  s.pkg === 'dashboard' && (s.file.startsWith('app/') || s.file === 'internal/appBuild.ts')
/** What core may import besides its own files: nothing (it has no runtime dependency; it loads in browsers as plain ES modules). */
const CORE_EXTERNALS: string[] = []
/** What core's unit tests may import on top (they run in Node, but never ship). */
const CORE_TEST_EXTERNALS = ['vitest', 'fast-check']
/** Each adapter of @leanflow/http and the one framework it imports (for types only). */
const ADAPTERS: Record<string, string[]> = {
  'node.ts': ['node:http', 'node:http2'],
  'express.ts': ['express'],
  'hono.ts': ['hono'],
  'h3.ts': ['h3'],
}
/** http's client runs in browsers: core is all it imports. */
const CLIENT_IMPORTS = ['@leanflow/core']

interface ImportRecord {
  spec: string
  /** `import type` / `export type` / an `import('x').T` type: erased from the JavaScript. */
  typeOnly: boolean
  line: number
}

/** Every module specifier `text` imports, found by TypeScript's parser. */
function importsOf(fileName: string, text: string): ImportRecord[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true)
  const out: ImportRecord[] = []
  const add = (node: ts.Node | undefined, typeOnly: boolean) => {
    if (node && ts.isStringLiteralLike(node))
      out.push({ spec: node.text, typeOnly, line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1 })
  }
  const visit = (node: ts.Node): void => {
    // `import { type A }` is not type-only: under verbatimModuleSyntax it still loads the module
    if (ts.isImportDeclaration(node)) add(node.moduleSpecifier, node.importClause?.isTypeOnly ?? false)
    else if (ts.isExportDeclaration(node)) add(node.moduleSpecifier, node.isTypeOnly)
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      add(node.moduleReference.expression, node.isTypeOnly)
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal, true)
    else if (ts.isCallExpression(node)) {
      const callee = node.expression
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require'))
        add(node.arguments[0], false)
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  return out
}

const root = resolve(import.meta.dirname, '../..')
const packagesDir = join(root, 'packages')
const isBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0] ?? '')
const packageName = (spec: string) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/')
const isTest = (file: string) => /\.test\.[cm]?tsx?$/.test(file)

interface SourceFile {
  pkg: string
  /** Relative to the package's src/, with `/`. */
  file: string
  imports: ImportRecord[]
}

const packages = readdirSync(packagesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort()
const sources: SourceFile[] = packages.flatMap((pkg) => {
  const src = join(packagesDir, pkg, 'src')
  return readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.[cm]?[jt]sx?$/.test(f))
    .map((f) => ({ pkg, file: f.split(sep).join('/'), imports: importsOf(f, readFileSync(join(src, f), 'utf8')) }))
})
const where = (s: SourceFile, i: ImportRecord) => `packages/${s.pkg}/src/${s.file}:${i.line} imports '${i.spec}'`

/** Every import of `files` that `ok` refuses, as `path:line imports 'spec'`. */
const refused = (files: SourceFile[], ok: (i: ImportRecord, s: SourceFile) => boolean) =>
  files.flatMap((s) => s.imports.filter((i) => !ok(i, s)).map((i) => where(s, i)))

describe('the import reader', () => {
  it('sees every form of import, and none in comments or strings', () => {
    const text = [
      "import a from 'a'",
      "import type { B } from 'b'",
      "import { type C } from 'c'",
      "import 'd'",
      "export { e } from 'e'",
      "export type { F } from 'f'",
      "export * from 'g'",
      "const h = await import('h')",
      "const i = require('i')",
      "let j: import('j').J",
      "import k = require('k')",
      "// import x from 'comment'",
      'const s = "import y from \'string\'"',
    ].join('\n')
    expect(importsOf('x.ts', text).map((i) => `${i.spec}${i.typeOnly ? ' (type)' : ''}`)).toEqual([
      'a',
      'b (type)',
      'c',
      'd',
      'e',
      'f (type)',
      'g',
      'h',
      'i',
      'j (type)',
      'k',
    ])
  })

  it('finds the packages and their imports', () => {
    expect(packages).toEqual(Object.keys(MAY_IMPORT).sort())
    for (const pkg of packages) expect(sources.filter((s) => s.pkg === pkg && s.imports.length > 0).length, pkg).toBeGreaterThan(0)
  })
})

describe('package layering', () => {
  it('each package imports only the @leanflow packages of its row: core none, the others core and never each other', () => {
    expect(
      refused(
        sources,
        (i, s) => !i.spec.startsWith('@leanflow/') || (MAY_IMPORT[s.pkg] ?? []).includes(packageName(i.spec).slice('@leanflow/'.length)),
      ),
    ).toEqual([])
  })

  it('relative imports stay inside their package’s src/', () => {
    expect(
      refused(sources, (i, s) => {
        if (!i.spec.startsWith('.')) return true
        const src = join(packagesDir, s.pkg, 'src')
        return !relative(src, resolve(dirname(join(src, s.file)), i.spec)).startsWith('..')
      }),
    ).toEqual([])
  })

  it('core imports nothing Node-only: no builtins, only browser-safe packages (its tests also vitest and fast-check)', () => {
    const core = sources.filter((s) => s.pkg === 'core')
    expect(
      refused(
        core,
        (i, s) =>
          i.spec.startsWith('.') || [...CORE_EXTERNALS, ...(isTest(s.file) ? CORE_TEST_EXTERNALS : [])].includes(packageName(i.spec)),
      ),
    ).toEqual([])
  })

  it('the http adapters import only http’s own files and their framework, for types only; the client only core', () => {
    const http = sources.filter((s) => s.pkg === 'http')
    expect(http.map((s) => s.file)).toEqual(expect.arrayContaining([...Object.keys(ADAPTERS), 'client.ts']))
    const adapters = http.filter((s) => s.file in ADAPTERS)
    expect(refused(adapters, (i, s) => i.spec.startsWith('.') || ((ADAPTERS[s.file] ?? []).includes(i.spec) && i.typeOnly))).toEqual([])
    expect(
      refused(
        http.filter((s) => s.file === 'client.ts'),
        (i) => CLIENT_IMPORTS.includes(i.spec),
      ),
    ).toEqual([])
  })

  it("the dashboard's handler imports only its own files; its page, bundled at build time, only dev dependencies", () => {
    const dashboard = sources.filter((s) => s.pkg === 'dashboard' && !isTest(s.file))
    expect(dashboard.map((s) => s.file)).toEqual(expect.arrayContaining(['index.ts', 'createDashboard.ts', 'app/main.tsx']))
    expect(
      refused(
        dashboard.filter((s) => !BUNDLED_AT_BUILD(s)),
        (i) => i.spec.startsWith('.'),
      ),
    ).toEqual([])
    const json = JSON.parse(readFileSync(join(packagesDir, 'dashboard', 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>
    }
    expect(
      refused(
        dashboard.filter(BUNDLED_AT_BUILD),
        (i) => i.spec.startsWith('.') || isBuiltin(i.spec) || packageName(i.spec) in json.devDependencies,
      ),
    ).toEqual([])
  })

  it('every other import of a shipped file is a Node builtin or a declared dependency', () => {
    const declared = Object.fromEntries(
      packages.map((pkg) => {
        type Deps = Record<string, string> | undefined
        const json = JSON.parse(readFileSync(join(packagesDir, pkg, 'package.json'), 'utf8')) as {
          dependencies: Deps
          peerDependencies: Deps
        }
        return [pkg, [...Object.keys(json.dependencies ?? {}), ...Object.keys(json.peerDependencies ?? {})]]
      }),
    )
    const shipped = sources.filter((s) => !isTest(s.file) && !BUNDLED_AT_BUILD(s))
    expect(
      refused(
        shipped,
        (i, s) =>
          i.spec.startsWith('.') || (s.pkg !== 'core' && isBuiltin(i.spec)) || (declared[s.pkg] ?? []).includes(packageName(i.spec)),
      ),
    ).toEqual([])
  })
})
