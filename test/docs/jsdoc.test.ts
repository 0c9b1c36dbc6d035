// Every public export has JSDoc, and every exported function and class an `@example`: what an
// editor shows on hover (STYLE.md: "Public API: JSDoc with an example"). The exports are those of
// each package's entry points (package.json `exports`), read from the sources with the repo's
// tsconfig. A JSDoc block followed by another declaration (a constant inserted between a doc and
// its function) belongs to that declaration, so its function shows nothing: this test finds it.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { expect, it } from 'vitest'
import { repoConfig } from './repoConfig.js'

const root = resolve(import.meta.dirname, '../..')

/** The source of each entry point of each package. */
function entryPoints(): string[] {
  const files: string[] = []
  for (const p of readdirSync(join(root, 'packages'))) {
    const manifest = join(root, 'packages', p, 'package.json')
    if (!existsSync(manifest)) continue
    const { exports = {} } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, unknown> }
    for (const sub of Object.keys(exports)) {
      if (sub.endsWith('package.json')) continue
      const file = join(root, 'packages', p, 'src', `${sub === '.' ? 'index' : sub.slice(2)}.ts`)
      if (existsSync(file)) files.push(file)
    }
  }
  return files
}

it('every public export has JSDoc, and every exported function and class an @example', () => {
  const config = repoConfig(root)
  const entries = entryPoints()
  expect(entries.length).toBeGreaterThan(10)
  const program = ts.createProgram(entries, config.options)
  const checker = program.getTypeChecker()
  const missing: string[] = []
  let checked = 0
  for (const file of entries) {
    const source = program.getSourceFile(file)
    const module = source && checker.getSymbolAtLocation(source)
    if (!module) throw new Error(`no module symbol for ${file}`)
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
      const where = `${relative(root, file)}: ${exported.name}`
      checked++
      if (ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() === '') missing.push(`${where} has no JSDoc`)
      else if (
        symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class) &&
        !symbol.getJsDocTags(checker).some((t) => t.name === 'example')
      )
        missing.push(`${where} has no @example`)
    }
  }
  expect(checked).toBeGreaterThan(200)
  expect(missing).toEqual([])
}, 120_000)
