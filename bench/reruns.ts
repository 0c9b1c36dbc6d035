// Reruns (issue #17): `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/reruns.ts`
//   [--hz 100] [--rounds 7] [--runs 100] [--steps 5]
//
// Starts its own redis-server and one runner on it (Redis store, memory queue, this process), a
// flow of `steps` chained no-op steps, and measures, `runs` runs one at a time per case (start,
// then `runner.result`), the cases' order turning every round (round 0 warms up and is dropped,
// medians of the rest):
//   fresh     `startFlow` of the flow: every step runs;
//   fromLast  `runner.rerun(source, { from: <last step> })` of a completed run: every step but the
//             last is copied (`step.completed` with `data.copied`), the last runs;
//   all       `runner.rerun(source)`: every step runs again (a fresh run plus reading the source).
// Prints ms per run of each case, the ratios to `fresh` measured in the same round, and Redis
// commands per run (INFO commandstats, nothing else runs meanwhile). Prints one JSON object last.

import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { Redis } from 'ioredis'
import { startRedis } from '../test/helpers/redisServer.js'

const argv = process.argv
const arg = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`)
  return i > 0 ? Number(argv[i + 1]) : dflt
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d

/** Total calls of every Redis command so far. */
async function commands(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats')
  let n = 0
  for (const m of info.matchAll(/calls=(\d+)/g)) n += Number(m[1])
  return n
}

type Case = 'fresh' | 'fromLast' | 'all'

async function main() {
  const server = await startRedis({ args: ['--hz', String(arg('hz', 100))] })
  const redis = new Redis(server.url)
  const store = createRedisStreamStore({ url: server.url, prefix: 'bench' })
  const steps = arg('steps', 5)
  const names = Array.from({ length: steps }, (_, i) => `s${i + 1}`)
  const noop = async () => ({ ok: true })
  const flow = defineFlow({
    name: 'chain',
    steps: Object.fromEntries(names.map((n, i) => [n, i === 0 ? { handler: noop } : { needs: [names[i - 1] as string], handler: noop }])),
  })
  const runner: Runner = createRunner({ store, queue: createMemoryQueue(), flows: [flow], onError: () => {} })
  await runner.start()
  const last = names[names.length - 1] as string
  const { runId: source } = await runner.startFlow('chain', {})
  await runner.result(source)
  const once: Record<Case, () => Promise<void>> = {
    fresh: async () => void (await runner.result((await runner.startFlow('chain', {})).runId)),
    fromLast: async () => void (await runner.result((await runner.rerun(source, { from: last })).runId)),
    all: async () => void (await runner.result((await runner.rerun(source)).runId)),
  }
  const cases: Case[] = ['fresh', 'fromLast', 'all']
  const ms: Record<Case, number[]> = { fresh: [], fromLast: [], all: [] }
  const cmds: Record<Case, number[]> = { fresh: [], fromLast: [], all: [] }
  const ratios: Record<'fromLast' | 'all', number[]> = { fromLast: [], all: [] }
  const runs = arg('runs', 100)
  const rounds = arg('rounds', 7)
  try {
    for (let r = 0; r < rounds; r++) {
      const perRun: Partial<Record<Case, number>> = {}
      for (const c of [...cases.slice(r % 3), ...cases.slice(0, r % 3)]) {
        const c0 = await commands(redis)
        const t0 = performance.now()
        for (let i = 0; i < runs; i++) await once[c]()
        const t = (performance.now() - t0) / runs
        const k = (await commands(redis)) - c0 - 1
        if (r === 0) continue
        perRun[c] = t
        ms[c].push(t)
        cmds[c].push(k / runs)
      }
      if (r === 0) continue
      ratios.fromLast.push((perRun.fromLast as number) / (perRun.fresh as number))
      ratios.all.push((perRun.all as number) / (perRun.fresh as number))
    }
    const out = {
      steps,
      runs,
      rounds: rounds - 1,
      msPerRun: Object.fromEntries(cases.map((c) => [c, round(median(ms[c]))])),
      redisCommandsPerRun: Object.fromEntries(cases.map((c) => [c, round(median(cmds[c]), 1)])),
      ratioToFresh: { fromLast: round(median(ratios.fromLast)), all: round(median(ratios.all)) },
    }
    console.log(JSON.stringify(out))
  } finally {
    await runner.stop()
    await store.close()
    redis.disconnect()
    await server.stop()
  }
}

await main()
