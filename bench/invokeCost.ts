// Where an invoke's time goes: `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/invokeCost.ts [--runs 300] [--rounds 5] [--hz 100]`
//
// Starts its own redis-server and one runner in this process (Redis store, memory queue: a queue
// hop is a microtask, so what is left is the store's work and this process's), then runs `runs`
// runs one at a time of each of `one` (one no-op step), `two` (a → b) and `call` (one step that
// awaits `ctx.invoke('one')`), per round, the order turning every round; round 0 warms up and is
// dropped, medians of the rest. Per run of each shape:
//   - wallMs: start to `runner.result`;
//   - nodeCpuMs: this process's CPU (`process.cpuUsage`, user + system; every client and the
//     runner live in this process);
//   - redisCpuMs: the server's CPU (INFO cpu, `used_cpu_user` + `used_cpu_sys`);
//   - socketWrites: socket writes of this process (`net.Socket#_writeGeneric`, one syscall each:
//     commands of one tick go together, `coalesceWrites`).
// The invoke's cost is `call` − `one` of each; a chained step's, `two` − `one`. When nodeCpuMs is
// close to wallMs the path is bound by this process's CPU, not by waiting on Redis or a queue.
// Prints one JSON object.
import { Socket } from 'node:net'
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { Redis } from 'ioredis'
import { startRedis } from '../test/helpers/redisServer.js'
import { arg, median, round } from './lib/stats.js'

const noop = async () => null
const flows = [
  defineFlow({ name: 'one', steps: { a: { handler: noop } } }),
  defineFlow({ name: 'two', steps: { a: { handler: noop }, b: { needs: ['a'], handler: noop } } }),
  defineFlow({ name: 'call', steps: { a: { handler: async (_i, ctx) => ctx.invoke('one', {}) } } }),
]
const SHAPES = ['one', 'two', 'call'] as const
type Shape = (typeof SHAPES)[number]

// every socket write of this process, counted
let writes = 0
const proto = Socket.prototype as unknown as { _writeGeneric: (...a: unknown[]) => unknown }
const writeGeneric = proto._writeGeneric
proto._writeGeneric = function (this: Socket, ...a: unknown[]) {
  writes++
  return writeGeneric.apply(this, a)
}

async function main() {
  const runs = arg('runs', 300)
  const rounds = arg('rounds', 5)
  const server = await startRedis({ args: ['--hz', String(arg('hz', 100))] })
  const redis = new Redis(server.url)
  const store = createRedisStreamStore({ url: server.url, prefix: 'cost' })
  const queue = createMemoryQueue()
  const runner = createRunner({ store, queue, flows, concurrency: 25 })
  await runner.start()
  const redisCpu = async () => {
    const info = await redis.info('cpu')
    const field = (f: string) => Number(new RegExp(`${f}:([\\d.]+)`).exec(info)?.[1] ?? 0)
    return (field('used_cpu_user') + field('used_cpu_sys')) * 1000
  }
  type Sample = { wallMs: number; nodeCpuMs: number; redisCpuMs: number; socketWrites: number }
  const samples: Record<Shape, Sample[]> = { one: [], two: [], call: [] }
  try {
    for (let r = 0; r <= rounds; r++) {
      for (const shape of SHAPES.map((_, i) => SHAPES[(i + r) % SHAPES.length] as Shape)) {
        const r0 = await redisCpu()
        const w0 = writes
        const c0 = process.cpuUsage()
        const t0 = performance.now()
        for (let i = 0; i < runs; i++) {
          const { runId } = await runner.startFlow(shape, {})
          await runner.result(runId, { timeout: '60s' })
        }
        const wallMs = (performance.now() - t0) / runs
        const cpu = process.cpuUsage(c0)
        const socketWrites = (writes - w0) / runs
        const redisCpuMs = ((await redisCpu()) - r0) / runs
        if (r > 0) samples[shape].push({ wallMs, nodeCpuMs: (cpu.user + cpu.system) / 1000 / runs, redisCpuMs, socketWrites })
      }
    }
  } finally {
    await runner.stop()
    await queue.close()
    await store.close()
    redis.disconnect()
    await server.stop()
  }
  const med = (shape: Shape, f: keyof Sample) => median(samples[shape].map((s) => s[f]))
  const fields = ['wallMs', 'nodeCpuMs', 'redisCpuMs', 'socketWrites'] as const
  const perRun = Object.fromEntries(SHAPES.map((s) => [s, Object.fromEntries(fields.map((f) => [f, round(med(s, f), 3)]))]))
  const diff = (a: Shape) => Object.fromEntries(fields.map((f) => [f, round(med(a, f) - med('one', f), 3)]))
  console.log(
    JSON.stringify(
      { bench: 'invokeCost', node: process.version, runs, rounds, perRun, chainedStep: diff('two'), invoke: diff('call') },
      null,
      2,
    ),
  )
}

await main().catch((err) => {
  console.error(err)
  process.exit(1)
})
