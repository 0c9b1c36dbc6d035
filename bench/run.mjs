#!/usr/bin/env node
// `pnpm bench [name…]`: runs the benchmarks one after another (each starts its own
// redis-server), saves each one's JSON to bench/results/<name>.json, then draws
// docs/images/benchmarks.svg from the results (bench/chart.ts). Run by hand, never in CI.
// Builds the packages first: the benchmarks import the built dist (bench/tsconfig.json).
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const all = [
  'reduce',
  'append',
  'follow',
  'runner',
  'runner-bullmq',
  'sse',
  'schedules',
  'flowControl',
  'composition',
  'reruns',
  'scale',
  'capacity',
  'stepCost',
]
const names = process.argv.slice(2).length ? process.argv.slice(2) : all
mkdirSync(`${root}/bench/results`, { recursive: true })

// the benchmarks measure the built packages, as users run them (bench/tsconfig.json has no
// paths to the sources; tsx's keepNames would also add ~250 B to every closure of the sources)
const build = spawnSync('pnpm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
if (build.status !== 0) {
  console.error('[bench] pnpm run build failed')
  process.exit(1)
}
const env = { ...process.env, TSX_TSCONFIG_PATH: `${root}/bench/tsconfig.json` }

for (const name of names) {
  console.log(`\n[bench] ${name}`)
  const extra = name === 'sse' ? ['--expose-gc'] : []
  const r = spawnSync(process.execPath, [...extra, '--import', 'tsx', `bench/${name}.ts`], {
    cwd: root,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  })
  process.stdout.write(r.stdout)
  if (r.status !== 0) {
    console.error(`[bench] ${name} failed (exit ${r.status ?? r.signal})`)
    process.exit(1)
  }
  const json = lastJsonObject(r.stdout)
  if (!json) {
    console.error(`[bench] ${name} printed no JSON result`)
    process.exit(1)
  }
  writeFileSync(`${root}/bench/results/${name}.json`, `${JSON.stringify(json, null, 2)}\n`)
}

const chart = spawnSync(process.execPath, ['--import', 'tsx', 'bench/chart.ts'], { cwd: root, stdio: 'inherit' })
process.exit(chart.status ?? 1)

/** The last top-level `{…}` block of the output (benches print their result last). */
function lastJsonObject(text) {
  for (let start = text.lastIndexOf('\n{'); start >= 0; start = text.lastIndexOf('\n{', start - 1)) {
    try {
      return JSON.parse(text.slice(start + 1))
    } catch {}
  }
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
