// Schedules: `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/schedules.ts [--ticks 15] [--rounds 2] [--seconds 5]`
//
// Starts its own redis-servers (`--hz 10` and `--hz 100`) and measures on each, rounds
// alternating between leanflow and BullMQ so both see the same machine load (bench/lib/scheduleBench.ts):
//   tick lateness of an every-second schedule, one runner (flow.started ts − tick), vs a BullMQ job
//     scheduler `upsertJobScheduler(id, { every: 1000 })` (handler start − job.opts.prevMillis), p50/p99
//     (target: p99 ≤ BullMQ p99 + 5 ms at the same hz)
//   the due check's cost (hz 10 only): Redis commands/s, Redis µs/s and the runner's Node CPU with 100
//     and 10,000 schedules due far in the future, and with one every-second schedule among them
//     (target: O(due ticks), the same at 100 and at 10,000)
// Prints one JSON object.

import { startRedis } from '../test/helpers/redisServer.js'
import { summarize } from './lib/bullmqBaselines.js'
import { bullmqSchedulerLateness, dueCheckCost, leanflowTickLateness } from './lib/scheduleBench.js'

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d

async function lateness(hz: number, ticks: number, rounds: number) {
  const server = await startRedis({ args: ['--hz', String(hz)] })
  try {
    const leanflow: number[] = []
    const bullmq: number[] = []
    for (let r = 0; r < rounds; r++) {
      leanflow.push(...(await leanflowTickLateness({ url: server.url, ticks })))
      bullmq.push(...(await bullmqSchedulerLateness({ url: server.url, ticks })))
    }
    const lf = summarize(leanflow)
    const bq = summarize(bullmq)
    return { hz, leanflowMs: lf, bullmqMs: bq, p99MinusBullmqP99Ms: round(lf.p99 - bq.p99, 1), samples: { leanflow, bullmq } }
  } finally {
    await server.stop()
  }
}

async function main() {
  const ticks = arg('ticks', 15)
  const rounds = arg('rounds', 2)
  const seconds = arg('seconds', 5)
  const hz10 = await lateness(10, ticks, rounds)
  const hz100 = await lateness(100, ticks, rounds)
  const server = await startRedis({ args: ['--hz', '10'] })
  let cost: Awaited<ReturnType<typeof dueCheckCost>>[]
  try {
    cost = []
    await dueCheckCost({ url: server.url, schedules: 100, seconds: 1 }) // warm-up (JIT, first connections)
    for (const [schedules, dueEverySecond] of [
      [100, 0],
      [10_000, 0],
      [100, 1],
      [10_000, 1],
    ] as const) {
      cost.push(await dueCheckCost({ url: server.url, schedules, dueEverySecond, seconds }))
    }
  } finally {
    await server.stop()
  }
  const at = (s: number, d: number) => cost.find((c) => c.schedules === s && c.dueEverySecond === d)
  const ratio = (d: number, key: 'commandsPerSec' | 'redisUsecPerSec' | 'nodeCpuMsPerSec') =>
    round((at(10_000, d)?.[key] ?? 0) / (at(100, d)?.[key] || 1))
  const out = {
    ticks,
    rounds,
    lateness: { hz10: { ...hz10, samples: undefined }, hz100: { ...hz100, samples: undefined } },
    dueCheck: cost,
    ratios: {
      p99MinusBullmqP99MsHz10: hz10.p99MinusBullmqP99Ms,
      p99MinusBullmqP99MsHz100: hz100.p99MinusBullmqP99Ms,
      commandsPerSec10kVs100Idle: ratio(0, 'commandsPerSec'),
      commandsPerSec10kVs100OneDue: ratio(1, 'commandsPerSec'),
      redisUsec10kVs100Idle: ratio(0, 'redisUsecPerSec'),
      nodeCpu10kVs100Idle: ratio(0, 'nodeCpuMsPerSec'),
    },
    targets: { latenessP99: '<= BullMQ p99 + 5 ms (same hz)', dueCheck: '10,000 vs 100 schedules: ~1x (O(due ticks))' },
    samples: { hz10: hz10.samples, hz100: hz100.samples },
  }
  console.log(JSON.stringify(out, null, 2))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
