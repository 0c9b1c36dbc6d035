// Every ```ts sample in the docs compiles: docs/**/*.md, README.md and packages/*/README.md.
// Each sample is written as its own module in a temporary directory (outside the repo, so
// linters never see it; removed afterwards) and type-checked in one TypeScript program with the repo's compiler options and its
// `@leanflow/*` path mapping; test/docs/prelude.d.ts declares the free functions
// samples use (`chargeCard`, …). Conventions: see docs/README.md and extractSamples.ts.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DocSample, extractSamples, sampleModule } from './extractSamples.js'
import { repoConfig } from './repoConfig.js'

const root = resolve(import.meta.dirname, '../..')
const outDir = mkdtempSync(join(tmpdir(), 'leanflow-docs-samples-'))
const prelude = join(root, 'test/docs/prelude.d.ts')

function markdownFiles(): string[] {
  const files: string[] = []
  const docs = join(root, 'docs')
  if (existsSync(docs)) {
    for (const f of readdirSync(docs, { recursive: true, encoding: 'utf8' })) if (f.endsWith('.md')) files.push(join('docs', f))
  }
  if (existsSync(join(root, 'README.md'))) files.push('README.md')
  for (const p of readdirSync(join(root, 'packages'))) {
    if (existsSync(join(root, 'packages', p, 'README.md'))) files.push(join('packages', p, 'README.md'))
  }
  return files.sort()
}

interface Generated {
  md: string
  sample: DocSample
  path: string
  offset: number
}

const pages = markdownFiles().map((md) => ({ md, samples: extractSamples(readFileSync(join(root, md), 'utf8')) }))
const generated: Generated[] = []
for (const { md, samples } of pages) {
  for (const sample of samples) {
    if (sample.fragment) continue
    const path = join(outDir, `${md.replaceAll('/', '__')}.L${sample.line}.ts`)
    generated.push({ md, sample, path, offset: sampleModule(sample).offset })
  }
}

/**
 * Resolves like tsc, then, for a sample, as if imported from the repo's test/ or a package's
 * source (ioredis, express, hono, … are dependencies of the packages that use them).
 */
function createHost(options: ts.CompilerOptions): ts.CompilerHost {
  const host = ts.createCompilerHost(options, true)
  const fallbacks = [
    join(root, 'test/index.ts'),
    ...readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'src/index.ts')),
  ]
  host.resolveModuleNameLiterals = (literals, containingFile, redirected, opts) =>
    literals.map((literal) => {
      const found = ts.resolveModuleName(literal.text, containingFile, opts, host, undefined, redirected)
      if (found.resolvedModule || !containingFile.startsWith(outDir)) return found
      for (const from of fallbacks) {
        const again = ts.resolveModuleName(literal.text, from, opts, host, undefined, redirected)
        if (again.resolvedModule) return again
      }
      return found
    })
  return host
}

function format(g: Generated, d: ts.Diagnostic): string {
  const msg = ts.flattenDiagnosticMessageText(d.messageText, '\n  ')
  if (!d.file || d.start === undefined) return `${g.md}:${g.sample.line}: TS${d.code} ${msg}`
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start)
  if (line < g.offset) return `${g.md}:${g.sample.line} (ts-setup comment, line ${line + 1}): TS${d.code} ${msg}`
  return `${g.md}:${g.sample.line + line - g.offset}:${character + 1}: TS${d.code} ${msg}`
}

// KEEP_DOCS_SAMPLES=1 keeps the generated modules to inspect them.
afterAll(() => {
  if (process.env.KEEP_DOCS_SAMPLES) console.log(`docs samples kept in ${outDir}`)
  else rmSync(outDir, { recursive: true, force: true })
})

describe('docs code samples', () => {
  let program: ts.Program

  beforeAll(() => {
    for (const g of generated) writeFileSync(g.path, sampleModule(g.sample).text)
    const config = repoConfig(root)
    // as strict as a fresh `tsc --init` (TypeScript 7), which turns on exactOptionalPropertyTypes
    const options = { ...config.options, noEmit: true, exactOptionalPropertyTypes: true }
    program = ts.createProgram({ rootNames: [prelude, ...generated.map((g) => g.path)], options, host: createHost(options) })
  }, 120_000)

  it('finds samples, honours ```ts fragment, ```ts run and <!-- ts-setup --> comments', () => {
    const md = [
      '# t',
      '<!-- ts-setup',
      'declare const x: number',
      '-->',
      '',
      '```ts run',
      'x + 1',
      '```',
      '- list:',
      '  ```ts fragment',
      '  await nope',
      '  ```',
      '```sh',
      'echo not ts',
      '```',
      '```ts server',
      'serve()',
      '```',
    ].join('\n')
    expect(extractSamples(md)).toEqual([
      { line: 7, code: 'x + 1', setup: 'declare const x: number', fragment: false, run: true, runWith: 'memory' },
      { line: 11, code: 'await nope', setup: '', fragment: true, run: false, runWith: null },
      { line: 17, code: 'serve()', setup: '', fragment: false, run: false, runWith: 'server' },
    ])
    expect(() => extractSamples('```ts run redis\nx\n```')).toThrow(/one way/)
  })

  it('the docs hold samples, and few of them are fragments', () => {
    const all = pages.flatMap((p) => p.samples)
    const fragments = all.filter((s) => s.fragment).length
    expect(generated.length).toBeGreaterThan(10)
    expect(fragments, `${fragments} of ${all.length} samples are fragments`).toBeLessThanOrEqual(Math.ceil(all.length * 0.2))
  })

  it('the prelude and compiler options are sound', () => {
    const errors = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()]
    const sf = program.getSourceFile(prelude)
    if (sf) errors.push(...program.getSemanticDiagnostics(sf), ...program.getSyntacticDiagnostics(sf))
    expect(errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([])
  })

  for (const { md } of pages) {
    const mine = generated.filter((g) => g.md === md)
    if (mine.length === 0) continue
    it(`${md}: ${mine.length} sample(s) compile`, () => {
      const errors: string[] = []
      for (const g of mine) {
        const sf = program.getSourceFile(g.path)
        if (!sf) {
          errors.push(`${g.md}:${g.sample.line}: not in the program (${g.path})`)
          continue
        }
        for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) errors.push(format(g, d))
      }
      expect(errors, errors.join('\n')).toEqual([])
    })
  }
})

/** Stand-ins for the prelude's functions while a ```ts run sample runs. */
const stubs: Record<string, (...args: any[]) => Promise<unknown>> = {
  chargeCard: async (orderId: string) => ({ chargeId: `ch_${orderId}` }),
  refundCharge: async () => undefined,
  reserveStock: async () => ({ reserved: 1 }),
  sendEmail: async () => undefined,
  shipOrder: async (orderId: string) => ({ tracking: `tr_${orderId}` }),
}

// ```ts run samples are also executed: they must run to their end, in memory, without throwing.
describe('runnable docs samples', () => {
  const runnable = generated.filter((g) => g.sample.run)

  it('the prelude stubs cover the prelude', () => {
    const declared = [...readFileSync(prelude, 'utf8').matchAll(/declare function (\w+)/g)].map((m) => m[1])
    expect(Object.keys(stubs).sort()).toEqual(declared.sort())
  })

  for (const g of runnable) {
    it(`${g.md}:${g.sample.line} runs`, async () => {
      const file = g.path.replace(/\.ts$/, '.run.ts')
      writeFileSync(file, sampleModule(g.sample).text)
      Object.assign(globalThis, stubs)
      const log = console.log
      const printed: unknown[][] = []
      console.log = (...args: unknown[]) => void printed.push(args)
      try {
        await import(/* @vite-ignore */ file)
      } finally {
        console.log = log
        for (const name of Object.keys(stubs)) delete (globalThis as Record<string, unknown>)[name]
      }
      if (process.env.KEEP_DOCS_SAMPLES)
        log(
          `${g.md}:${g.sample.line} printed:\n${printed.map((a) => a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')).join('\n')}`,
        )
      expect(printed.length, 'a runnable sample shows its outcome with console.log').toBeGreaterThan(0)
    }, 30_000)
  }
})

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

function anchors(markdown: string): Set<string> {
  const out = new Set<string>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced
    const h = !fenced && /^#{1,6}\s+(.*)$/.exec(line)
    if (h) out.add(slug(h[1]!))
  }
  return out
}

// Relative links between pages must not break when a page moves or a heading changes.
describe('docs links', () => {
  it('slugs headings like GitHub', () => {
    expect(slug('Awaits and deterministic replay')).toBe('awaits-and-deterministic-replay')
    expect(slug('`@leanflow/core`: the core')).toBe('leanflowcore-the-core')
  })

  for (const { md } of pages) {
    it(`${md}: relative links resolve`, () => {
      const text = readFileSync(join(root, md), 'utf8').replace(/^(```|~~~)[\s\S]*?^\1/gm, '')
      const broken: string[] = []
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!
        if (/^[a-z]+:/i.test(target)) continue
        const [path, hash] = target.split('#') as [string, string | undefined]
        const file = path === '' ? join(root, md) : resolve(root, dirname(md), path)
        if (!existsSync(file)) {
          broken.push(`${target}: no such file`)
          continue
        }
        if (hash && file.endsWith('.md') && !anchors(readFileSync(file, 'utf8')).has(hash)) broken.push(`${target}: no such heading`)
      }
      expect(broken, broken.join('\n')).toEqual([])
    })
  }
})
