// The packages as a user gets them. After the build, every package is packed (`pnpm pack`) and
// the tarballs are installed with npm into a fresh project outside the workspace, together with
// what the docs' `npm install` lines name (newest versions, deliberately unpinned: a new major
// that breaks an install shows here first). There, as a user would:
// - every entry point loads with `import` and with `require`, with the same exports;
// - every source map embeds its sources (the tarballs ship dist/ only);
// - the samples of docs/getting-started.md run as pasted with `npx tsx` (memory, Redis, a BullMQ
//   worker, an HTTP server whose trigger is resolved with the docs' openssl recipe), and so do
//   the server samples of the adapter pages;
// - every docs sample and a consumer file type-check with TypeScript 7 and 5.9 under the
//   tsconfig.json that TypeScript 7's `tsc --init` writes (strict, exactOptionalPropertyTypes,
//   noUncheckedIndexedAccess, verbatimModuleSyntax, module nodenext, …) plus "types": ["node"],
//   and the consumer also with node16 and bundler resolution, ESM and CommonJS;
// - a second project installs ioredis 5 (the docs' install gets 6): the Redis samples run there
//   and the Redis consumer type-checks;
// - @arethetypeswrong/cli finds no problem in any tarball (node16 profile, see below).
// bundleSize.test.ts checks what the built packages cost in a browser bundle.
// npm's download cache makes a warm run fast; KEEP_PACKED=1 keeps the projects to inspect them.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DocSample, extractSamples, sampleModule } from '../docs/extractSamples.js'
import { useRedisServer } from '../helpers/redisServer.js'
import {
  API,
  CONSUMER_CJS,
  CONSUMER_ESM,
  CONSUMER_KIT_CJS,
  CONSUMER_REDIS,
  ENTRY_POINTS,
  KIT_TEST,
  LOAD_ENTRIES,
  PRODUCER,
} from './consumer.js'
import { printed, run } from './processes.js'
import { assertBuilt, installLines, loadedVersion, markdownFiles, npmInstall, packAll } from './project.js'
import { sampleRuns } from './sampleRuns.js'

const root = resolve(import.meta.dirname, '../..')
const work = mkdtempSync(join(tmpdir(), 'leanflow-packed-'))
/** The project installed as the docs say (ioredis 6 today). */
const app = join(work, 'app')
/** The Redis packages with ioredis 5. */
const app5 = join(work, 'app-ioredis5')
const tsx = join(app, 'node_modules/.bin/tsx')
const TS = { 'TypeScript 7': join(app, 'node_modules/typescript/bin/tsc'), 'TypeScript 5.9': join(app, 'node_modules/typescript5/bin/tsc') }

interface Sample {
  md: string
  sample: DocSample
  /** The file, relative to its project. */
  file: string
}
const pages = markdownFiles(root).map((md) => ({ md, samples: extractSamples(readFileSync(join(root, md), 'utf8')) }))
const compiled: Sample[] = pages.flatMap(({ md, samples }) =>
  samples.filter((s) => !s.fragment).map((sample) => ({ md, sample, file: `samples/${md.replaceAll('/', '__')}.L${sample.line}.ts` })),
)
/** Run as pasted: every redis/worker/server sample, and the ```ts run samples of getting started. */
const runnable = compiled
  .filter(({ md, sample }) => sample.runWith !== null && (sample.runWith !== 'memory' || md === 'docs/getting-started.md'))
  .map((s) => ({ ...s, file: `${s.md.replaceAll('/', '__').replace(/\.md$/, '')}.L${s.sample.line}.ts` }))
const gettingStarted = readFileSync(join(root, 'docs/getting-started.md'), 'utf8')

const redis = useRedisServer()
const samples = sampleRuns({ tsx, app, redisUrl: () => redis.url, gettingStarted })
/** The packed packages, by npm name. */
let tarballs: Map<string, string>

beforeAll(async () => {
  assertBuilt(root)
  tarballs = await packAll(root, work)
  const docs = installLines(root, markdownFiles(root))
  if (docs.otherTools.length > 0) throw new Error(`Install lines must use npm (one story in the docs):\n${docs.otherTools.join('\n')}`)
  const leanflow = [...tarballs.keys()]
  await Promise.all([
    npmInstall(app, {
      tarballs,
      dependencies: {
        ...Object.fromEntries(docs.dependencies),
        ...Object.fromEntries(leanflow.map((n) => [n, 'file'])),
        // the schema library docs/runner.md's sample uses (any Standard Schema library works)
        zod: '*',
      },
      // @leanflow/testing is installed from its tarball with the other packages
      devDependencies: {
        ...Object.fromEntries([...docs.devDependencies].filter(([n]) => !n.startsWith('@leanflow/'))),
        typescript5: 'npm:typescript@~5.9.3',
      },
    }),
    npmInstall(app5, {
      tarballs,
      // no express, hono or h3: the adapters' frameworks are optional peer dependencies
      dependencies: Object.fromEntries([...leanflow.map((n) => [n, 'file']), ['ioredis', '^5.9.0'], ['bullmq', '*']]),
      devDependencies: { '@types/node': '*' },
    }),
  ])
}, 600_000)

afterAll(async () => {
  if (process.env.KEEP_PACKED) console.log(`packed projects kept in ${work}`)
  else rmSync(work, { recursive: true, force: true })
})

describe('the install', () => {
  it('the docs install lines name every package, and npm installs one copy of each', async () => {
    const docs = installLines(root, markdownFiles(root))
    for (const pkg of [
      '@leanflow/core',
      '@leanflow/runner',
      '@leanflow/redis',
      '@leanflow/bullmq',
      '@leanflow/http',
      '@leanflow/cli',
      '@leanflow/otel',
      '@leanflow/dashboard',
      '@opentelemetry/api',
      'ioredis',
      'bullmq',
    ]) {
      expect(docs.dependencies.has(pkg), `no docs install line names ${pkg}`).toBe(true)
    }
    for (const pkg of ['typescript', 'tsx', '@types/node', '@types/express', '@leanflow/testing', 'vitest'])
      expect(docs.devDependencies.has(pkg), pkg).toBe(true)
    // `npm ls` fails on an invalid or missing peer; --all lists the deduped copies too
    const ls = JSON.parse((await run('npm', ['ls', '--all', '--json'], { cwd: app })).stdout) as Tree
    const versions = (name: string) => [...new Set(collect(ls, name))]
    expect(versions('ioredis')).toHaveLength(1)
    expect(versions('bullmq')).toHaveLength(1)
    expect(versions('@leanflow/core')).toEqual(['0.1.0'])
    expect(versions('ioredis')[0]).toMatch(/^6\./)
    // the store and BullMQ load the app's ioredis; the queue the app's BullMQ
    const mod = (p: string) => join(app, 'node_modules', p)
    expect(loadedVersion(mod('@leanflow/redis'), 'ioredis')).toBe(versions('ioredis')[0])
    expect(loadedVersion(mod('bullmq'), 'ioredis')).toBe(versions('ioredis')[0])
    expect(loadedVersion(mod('@leanflow/bullmq'), 'bullmq')).toBe(versions('bullmq')[0])
    expect(loadedVersion(join(app5, 'node_modules/@leanflow/redis'), 'ioredis')).toMatch(/^5\./)
    expect(loadedVersion(join(app5, 'node_modules/bullmq'), 'ioredis')).toMatch(/^5\./)
  })

  it('every tarball holds package.json, README.md, CHANGELOG.md, LICENSE (copied from the root) and dist/, nothing else', async () => {
    const license = readFileSync(join(root, 'LICENSE'), 'utf8')
    for (const [name, tgz] of tarballs) {
      const files = (await run('tar', ['tzf', tgz], { cwd: work })).stdout.split('\n').filter((f) => f !== '')
      const extra = files.filter((f) => !/^package\/(package\.json|README\.md|CHANGELOG\.md|LICENSE|dist\/.+)$/.test(f))
      expect(extra, `${name}: files outside the list`).toEqual([])
      for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE']) expect(files, `${name}: ${f}`).toContain(`package/${f}`)
      expect((await run('tar', ['xzOf', tgz, 'package/LICENSE'], { cwd: work })).stdout, `${name}: LICENSE`).toBe(license)
    }
  })

  it.each([
    ['ioredis 6, with every framework', app],
    ['ioredis 5, without the optional frameworks', app5],
  ])('every entry point loads as ESM and as CJS (no require of an ES module), with the same exports (%s)', async (_label, dir) => {
    writeFileSync(join(dir, 'load-entries.mjs'), LOAD_ENTRIES)
    // require() of an ES module refused, as under Jest, tsx's .cts or Node before 20.19: a CJS
    // build that requires an ESM-only dependency (nanoid 5) fails here
    const { stdout } = await run('node', ['--no-experimental-require-module', 'load-entries.mjs', JSON.stringify(ENTRY_POINTS)], {
      cwd: dir,
    })
    const out = JSON.parse(stdout) as {
      entries: Record<string, { esm: string[]; cjs: string[]; esmFile: string; cjsFile: string }>
      brand: boolean
    }
    for (const e of ENTRY_POINTS) {
      const got = out.entries[e]!
      expect(got.esm.length, `${e} exports nothing`).toBeGreaterThan(0)
      expect(got.cjs, `${e}: require and import differ`).toEqual(got.esm)
      expect(got.esmFile, e).toMatch(/\/dist\/[\w-]+\.js$/)
      expect(got.cjsFile, e).toMatch(/\/dist\/[\w-]+\.cjs$/)
    }
    expect(out.brand, 'an error of the CJS build is a LeanflowError to the ESM build and back').toBe(true)
  })

  it('every source map embeds the sources it maps (dist/ ships without src/)', () => {
    const maps: string[] = []
    const bad: string[] = []
    for (const pkg of readdirSync(join(app, 'node_modules/@leanflow'))) {
      const dist = join(app, 'node_modules/@leanflow', pkg, 'dist')
      for (const f of readdirSync(dist)) {
        if (/\.(c?js)$/.test(f)) {
          const ref = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(dist, f), 'utf8'))?.[1]
          if (!ref || !existsSync(join(dist, ref))) bad.push(`${pkg}/dist/${f}: no source map next to it (${ref ?? 'no sourceMappingURL'})`)
        }
        if (!f.endsWith('.map')) continue
        maps.push(f)
        const map = JSON.parse(readFileSync(join(dist, f), 'utf8')) as { sources: string[]; sourcesContent?: Array<string | null> }
        map.sources.forEach((src, i) => {
          const content = map.sourcesContent?.[i]
          if (typeof content === 'string' && content.length > 0) return
          if (!existsSync(resolve(dist, src))) bad.push(`${pkg}/dist/${f}: ${src} is neither embedded nor shipped`)
        })
      }
    }
    expect(maps.length).toBeGreaterThan(10)
    expect(bad, bad.join('\n')).toEqual([])
  })
})

describe('the conformance kit as published', () => {
  // A store written outside this repository: `npm i -D @leanflow/testing vitest`, then a test file
  // that calls the suites. Here on the memory store and queue, with the project's own vitest.
  it('a test file of the installed project runs the StreamStore, RunStateStore and JobQueue suites from the tarball', async () => {
    mkdirSync(join(app, 'kit'), { recursive: true })
    writeFileSync(join(app, 'kit/memory.test.ts'), KIT_TEST)
    const out = await run(join(app, 'node_modules/.bin/vitest'), ['run', 'kit', '--reporter=json', '--outputFile=kit/report.json'], {
      cwd: app,
      allowFailure: true,
      timeoutMs: 180_000,
    })
    expect(existsSync(join(app, 'kit/report.json')), printed(out)).toBe(true)
    const report = JSON.parse(readFileSync(join(app, 'kit/report.json'), 'utf8')) as {
      numPassedTests: number
      numFailedTests: number
      testResults: Array<{ assertionResults: Array<{ title: string; status: string }> }>
    }
    const results = report.testResults.flatMap((f) => f.assertionResults)
    expect(report.numFailedTests, printed(out)).toBe(0)
    expect(report.numPassedTests).toBeGreaterThan(80)
    // the one case the memory store cannot show without a fault hook says so in its title
    expect(results.filter((r) => r.status !== 'passed').map((r) => r.title)).toEqual([
      expect.stringMatching(/catches up from the stream.*SKIPPED, not supported by this store: no faults\.cutLive hook/),
    ])
    expect(out.code, printed(out)).toBe(0)
  }, 240_000)
})

describe('the types as published', () => {
  // Profile node16: every resolution but TypeScript's `node10` (`moduleResolution: "node"`),
  // which reads no `exports` and so finds no subpath (`@leanflow/http/client`); TypeScript 6
  // deprecates it and TypeScript 7 drops it, so no user of ours can be on it.
  it('@arethetypeswrong/cli finds no problem in any tarball', async () => {
    const attw = join(root, 'node_modules/.bin/attw')
    const reports = await Promise.all(
      [...tarballs].map(async ([name, tgz]) => {
        // @leanflow/testing is ESM only (its suites import vitest, which cannot be required)
        const profile = name === '@leanflow/testing' ? 'esm-only' : 'node16'
        const out = await run(attw, [tgz, '--profile', profile, '--format', 'ascii', '--no-color', '--no-emoji'], {
          cwd: work,
          allowFailure: true,
          timeoutMs: 120_000,
        })
        return { name, code: out.code, text: printed(out) }
      }),
    )
    expect(reports.length).toBeGreaterThanOrEqual(5)
    const bad = reports.filter((r) => r.code !== 0)
    expect(
      bad.map((r) => r.name),
      bad.map((r) => `${r.name}:\n${r.text}`).join('\n\n'),
    ).toEqual([])
  }, 240_000)
})

describe('the docs samples run as pasted', () => {
  beforeAll(() => {
    for (const r of runnable) {
      if (r.sample.setup !== '') throw new Error(`${r.md}:${r.sample.line} runs as pasted, so it cannot have a <!-- ts-setup --> comment`)
      writeFileSync(join(app, r.file), `${r.sample.code}\n`)
      writeFileSync(join(app5, r.file), `${r.sample.code}\n`)
    }
    writeFileSync(join(app, 'producer.ts'), PRODUCER)
    writeFileSync(join(app5, 'producer.ts'), PRODUCER)
  })

  it('getting started has a memory, a Redis, a worker, a server and a watch sample', () => {
    const kinds = runnable.filter((r) => r.md === 'docs/getting-started.md').map((r) => r.sample.runWith)
    expect(new Set(kinds)).toEqual(new Set(['memory', 'redis', 'worker', 'server', 'watch']))
    expect(runnable.filter((r) => r.md.startsWith('docs/adapters/') && r.sample.runWith === 'server').map((r) => r.md)).toEqual([
      'docs/adapters/express.md',
      'docs/adapters/h3.md',
      'docs/adapters/hono.md',
      'docs/adapters/node.md',
    ])
  })

  for (const r of runnable) {
    const where = `${r.md}:${r.sample.line}`
    if (r.sample.runWith === 'memory' || r.sample.runWith === 'redis') {
      it(`${where} (${r.sample.runWith}) prints a completed run and exits`, async () => {
        await samples.runToEnd(app, r.file)
        if (r.sample.runWith === 'redis') await samples.runToEnd(app5, r.file)
      }, 120_000)
    }
    if (r.sample.runWith === 'worker') {
      it(`${where} (worker) runs a run started elsewhere and exits on SIGTERM`, async () => {
        await samples.workerRoundTrip(app, r.file)
        await samples.workerRoundTrip(app5, r.file)
      }, 120_000)
    }
    if (r.sample.runWith === 'server') {
      // getting started's watch samples follow the run on getting started's server
      const watchers = r.md === 'docs/getting-started.md' ? runnable.filter((w) => w.sample.runWith === 'watch').map((w) => w.file) : []
      const watching = watchers.length > 0 ? `, watched by ${watchers.join(', ')}` : ''
      it(`${where} (server) refuses to start without its secrets, then serves a run resolved by the signature recipe${watching}`, async () => {
        await samples.serverRoundTrip(r.file, watchers)
      }, 120_000)
    }
  }
})

describe('the docs samples and a consumer type-check', () => {
  const configs = {
    /** docs samples + the consumer, module nodenext (the --init default). */
    'tsconfig.samples.json': { include: ['samples', 'consumer/consumer.ts', 'consumer/consumer.cts', 'consumer/kit.cts'] },
    /** our .d.ts files themselves (skipLibCheck off); errors of other packages' types are theirs. */
    'tsconfig.api.json': { include: ['consumer/api.ts'], compilerOptions: { skipLibCheck: false } },
    'tsconfig.node16.json': {
      include: ['consumer/consumer.ts', 'consumer/consumer.cts'],
      compilerOptions: { module: 'node16', moduleResolution: 'node16' },
    },
    'tsconfig.bundler.json': { include: ['consumer/consumer.ts'], compilerOptions: { module: 'esnext', moduleResolution: 'bundler' } },
  }

  beforeAll(async () => {
    // the tsconfig.json a user gets: `tsc --init` of TypeScript 7, then "types": ["node"]
    await run('node', [TS['TypeScript 7'], '--init'], { cwd: app })
    cpSync(join(app, 'tsconfig.json'), join(app, 'tsconfig.init.json'))
    cpSync(join(app, 'tsconfig.json'), join(app5, 'tsconfig.init.json'))
    for (const [name, c] of Object.entries(configs)) {
      const compilerOptions = {
        types: ['node'],
        exactOptionalPropertyTypes: true,
        noEmit: true,
        ...('compilerOptions' in c ? c.compilerOptions : {}),
      }
      writeFileSync(join(app, name), JSON.stringify({ extends: './tsconfig.init.json', compilerOptions, include: c.include }, null, 2))
    }
    mkdirSync(join(app, 'samples'), { recursive: true })
    mkdirSync(join(app, 'consumer'), { recursive: true })
    for (const s of compiled) writeFileSync(join(app, s.file), sampleModule(s.sample).text)
    cpSync(join(root, 'test/docs/prelude.d.ts'), join(app, 'samples/prelude.d.ts'))
    writeFileSync(join(app, 'consumer/consumer.ts'), CONSUMER_ESM)
    writeFileSync(join(app, 'consumer/consumer.cts'), CONSUMER_CJS)
    writeFileSync(join(app, 'consumer/kit.cts'), CONSUMER_KIT_CJS)
    writeFileSync(join(app, 'consumer/api.ts'), API)
    mkdirSync(join(app5, 'consumer'), { recursive: true })
    writeFileSync(join(app5, 'consumer/redis.ts'), CONSUMER_REDIS)
    const compilerOptions = { types: ['node'], exactOptionalPropertyTypes: true, noEmit: true }
    writeFileSync(join(app5, 'tsconfig.json'), JSON.stringify({ extends: './tsconfig.init.json', compilerOptions, include: ['consumer'] }))
  }, 60_000)

  it("TypeScript 7's tsc --init turns on the strict settings this check relies on", () => {
    const init = readFileSync(join(app, 'tsconfig.init.json'), 'utf8')
    for (const setting of [
      '"strict": true',
      '"exactOptionalPropertyTypes": true',
      '"noUncheckedIndexedAccess": true',
      '"verbatimModuleSyntax": true',
    ]) {
      expect(init).toContain(setting)
    }
    expect(init).toMatch(/"module": "nodenext"/)
  })

  for (const [ts, tsc] of Object.entries(TS)) {
    it(`${ts}: every docs sample and the consumer (nodenext, ESM and CJS)`, async () => {
      expect(compiled.length).toBeGreaterThan(40)
      expect(await typeErrors(tsc, app, 'tsconfig.samples.json')).toEqual([])
    }, 120_000)

    it(`${ts}: the consumer with node16 and with bundler resolution`, async () => {
      const [node16, bundler] = await Promise.all([
        typeErrors(tsc, app, 'tsconfig.node16.json'),
        typeErrors(tsc, app, 'tsconfig.bundler.json'),
      ])
      expect([...node16, ...bundler]).toEqual([])
    }, 120_000)
  }

  it("TypeScript 7: the packages' .d.ts files themselves, with skipLibCheck off", async () => {
    const errors = await typeErrors(TS['TypeScript 7'], app, 'tsconfig.api.json', { only: /^node_modules\/@leanflow\// })
    expect(errors).toEqual([])
  }, 120_000)

  it('TypeScript 7 with ioredis 5: the Redis store and BullMQ queue on a shared ioredis client', async () => {
    expect(await typeErrors(TS['TypeScript 7'], app5, 'tsconfig.json')).toEqual([])
  }, 120_000)
})

interface Tree {
  version?: string
  dependencies?: Record<string, Tree>
}

/** Every version of `name` in an `npm ls --all --json` tree. */
function collect(tree: Tree, name: string): string[] {
  const out: string[] = []
  for (const [n, sub] of Object.entries(tree.dependencies ?? {})) {
    if (n === name && sub.version) out.push(sub.version)
    out.push(...collect(sub, name))
  }
  return out
}

/**
 * Runs `tsc -p config --pretty false` and returns its errors, each mapped back to the Markdown
 * line for a docs sample. `only` keeps errors of matching files (relative to the project).
 */
async function typeErrors(tsc: string, dir: string, config: string, opts: { only?: RegExp } = {}): Promise<string[]> {
  const out = await run('node', [tsc, '-p', config, '--pretty', 'false'], { cwd: dir, allowFailure: true, timeoutMs: 120_000 })
  const errors: string[] = []
  for (const block of out.stdout.split(/\n(?=\S)/)) {
    const m = /^(.+?)\((\d+),(\d+)\): error (TS\d+): ([\s\S]*)$/.exec(block.trim())
    if (!m) {
      if (block.trim() !== '') errors.push(block.trim())
      continue
    }
    const [, file, line, col, code, msg] = m as unknown as [string, string, string, string, string, string]
    if (opts.only && !opts.only.test(file)) continue
    const sample = compiled.find((s) => s.file === file)
    if (!sample) {
      errors.push(`${relative(dir, join(dir, file))}:${line}:${col}: ${code} ${msg}`)
      continue
    }
    const offset = sampleModule(sample.sample).offset
    const at =
      Number(line) - 1 < offset ? `${sample.sample.line} (ts-setup comment)` : `${sample.sample.line + Number(line) - 1 - offset}:${col}`
    errors.push(`${sample.md}:${at}: ${code} ${msg}`)
  }
  if (out.code !== 0 && errors.length === 0 && !opts.only) errors.push(`tsc exited with ${out.code}\n${printed(out)}`)
  return errors
}
