// Extracts the TypeScript code samples of a Markdown file, for test/docs/samples.test.ts.
//
// Conventions (documented at the top of docs/README.md):
// - every ```ts (or ```typescript) fence is compiled as its own ES module;
// - ```ts fragment is shown to readers but not compiled (keep these rare);
// - ```ts run is compiled and also run (in memory only: no Redis, no network), with the
//   prelude's functions stubbed; test/packed also runs those of docs/getting-started.md as
//   pasted, from the packed packages;
// - ```ts redis, ```ts worker and ```ts server are compiled here, and run as pasted by
//   test/packed from the packed packages: `redis` against a redis-server (REDIS_URL) to its
//   end, `worker` until the test has run a `hello` run through it and sent SIGTERM, `server`
//   (PORT, API_TOKEN, TRIGGER_SECRET) while the test starts an `order` run and resolves its
//   trigger with the signature recipe of docs/getting-started.md; `watch` (`<runId>` as its
//   argument, LEANFLOW_URL and API_TOKEN set) follows that run on getting started's server and
//   must exit once it ended;
// - an HTML comment `<!-- ts-setup … -->` right before a fence (blank lines
//   allowed between) is prepended to that sample only: declarations readers
//   need not see, such as `declare const runner: Runner`.

/** One fenced TypeScript sample of a Markdown file. */
export interface DocSample {
  /** 1-based line of the first code line in the Markdown file. */
  line: number
  /** The code, indentation of the fence removed. */
  code: string
  /** Hidden setup code from a preceding `<!-- ts-setup … -->` comment. */
  setup: string
  /** True for ```ts fragment: not compiled. */
  fragment: boolean
  /** True for ```ts run: compiled, then run. */
  run: boolean
  /** How test/packed runs it from the packed packages (```ts run|redis|worker|server|watch), or null. */
  runWith: RunWith | null
}

/** The ways a sample is run as pasted; see the conventions above. */
export type RunWith = 'memory' | 'redis' | 'worker' | 'server' | 'watch'

const RUN_FLAGS: Record<string, RunWith> = { run: 'memory', redis: 'redis', worker: 'worker', server: 'server', watch: 'watch' }

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/
const LANGS = new Set(['ts', 'typescript'])

/**
 * The TypeScript samples of a Markdown text, in order.
 *
 * @example
 * ```ts fragment
 * extractSamples('```ts\nconst a = 1\n```\n') // [{ line: 2, code: 'const a = 1', setup: '', fragment: false, run: false, runWith: null }]
 * ```
 */
export function extractSamples(markdown: string): DocSample[] {
  const lines = markdown.split(/\r?\n/)
  const samples: DocSample[] = []
  let pendingSetup = ''
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const setupStart = /^\s*<!--\s*ts-setup\b(.*)$/.exec(line)
    if (setupStart) {
      const body: string[] = []
      let rest = setupStart[1]!
      let j = i
      while (!rest.includes('-->')) {
        if (rest.trim() !== '') body.push(rest)
        j++
        if (j >= lines.length) throw new Error(`unterminated <!-- ts-setup comment at line ${i + 1}`)
        rest = lines[j]!
      }
      const before = rest.slice(0, rest.indexOf('-->'))
      if (before.trim() !== '') body.push(before)
      pendingSetup = body.join('\n')
      i = j
      continue
    }
    const open = FENCE.exec(line)
    if (!open) {
      if (line.trim() !== '') pendingSetup = ''
      continue
    }
    const [, indent, marker, lang, rest] = open as unknown as [string, string, string, string, string]
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length; j++) {
      const l = lines[j]!
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(l)
      if (close && close[1]![0] === marker[0] && close[1]!.length >= marker.length) break
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart())
    }
    if (LANGS.has(lang.toLowerCase())) {
      const flags = rest.split(/\s+/)
      const runs = flags.flatMap((f) => RUN_FLAGS[f] ?? [])
      if (runs.length > 1) throw new Error(`line ${i + 1}: a sample runs one way, got \`${rest.trim()}\``)
      samples.push({
        line: i + 2,
        code: body.join('\n'),
        setup: pendingSetup,
        fragment: flags.includes('fragment'),
        run: flags.includes('run'),
        runWith: runs[0] ?? null,
      })
    }
    pendingSetup = ''
    i = j
  }
  return samples
}

/**
 * The module written for a sample: setup, then the code, then `export {}` so
 * every sample is a module (top-level await allowed, names not shared).
 * Returns the text and the number of lines before the code.
 *
 * @example
 * ```ts fragment
 * const { text, offset } = sampleModule(sample)
 * ```
 */
export function sampleModule(sample: DocSample): { text: string; offset: number } {
  const head = sample.setup === '' ? [] : sample.setup.split('\n')
  return { text: [...head, sample.code, 'export {}', ''].join('\n'), offset: head.length }
}
