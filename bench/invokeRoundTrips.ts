// An invoke's Redis round trips, counted: `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/invokeRoundTrips.ts [--runs 5] [--show call]`
//
// Starts its own redis-server and a worker runner (Redis store, memory queue) and a producer runner
// on its own store that starts the runs and follows them (the same queue, in this process), warms
// up, then runs `runs` runs of each of `one` (one no-op step), `two` (a → b) and `call` (one step
// that awaits `ctx.invoke('one')`) one at a time, and counts per run:
//   - commands: what `MONITOR` shows the clients sent (not the commands inside scripts);
//   - round trips: the commands this process sent (ioredis `sendCommand`), each tagged with how
//     many times a reply had arrived from Redis when it was sent (socket reads of the command
//     connections): commands with the same tag went out without waiting for a reply in between
//     (pipelined, or sent together from `Promise.all`); each new tag is the path having waited on
//     one. Deterministic, unlike times, so the clearest evidence on a shared machine. Left out:
//     the index writes (not awaited on a standalone Redis), the schedules' poll, and
//     `runner.result`'s own reads (its follow of the run's log runs beside the run).
// An invoke reads the store's clock only when this worker has not measured it in the last second
// (`StoreClock.recent`): the first `call` run after the others usually does, the rest do not
// (`fewest`). `--show <flow>` prints the last run's commands with their tags. Prints one JSON object last.
import { createHash } from 'node:crypto'
import { createRedisStreamStore } from '@leanflow/redis'
import { createMemoryQueue, createRunner, defineFlow } from '@leanflow/runner'
import { Redis } from 'ioredis'
import * as appendLua from '../packages/redis/src/lua/append.js'
import * as indexLua from '../packages/redis/src/lua/runIndex.js'
import * as stateLua from '../packages/redis/src/lua/runState.js'
import * as scheduleLua from '../packages/redis/src/lua/schedules.js'
import { startRedis } from '../test/helpers/redisServer.js'
import { roundTrips, type SentCommand, traceRoundTrips } from '../test/helpers/roundTrips.js'
import { arg, median } from './lib/stats.js'

/** The store's scripts by SHA1, to name them in `--show` (read from the sources: names only). */
const scripts = new Map<string, string>()
for (const mod of [appendLua, indexLua, stateLua, scheduleLua] as Array<Record<string, unknown>>) {
  for (const [name, body] of Object.entries(mod)) {
    if (typeof body === 'string') scripts.set(createHash('sha1').update(body).digest('hex'), name.replace(/_LUA$/, ''))
  }
}

const runs = arg('runs', 5)
const show = process.argv.includes('--show') ? process.argv[process.argv.indexOf('--show') + 1] : undefined

const noop = async () => null
const flows = [
  defineFlow({ name: 'one', steps: { a: { handler: noop } } }),
  defineFlow({ name: 'two', steps: { a: { handler: noop }, b: { needs: ['a'], handler: noop } } }),
  defineFlow({ name: 'call', steps: { a: { handler: async (_i, ctx) => ctx.invoke('one', {}) } } }),
]

/** A command as printed: a script by its name. */
function named(args: unknown[]): string {
  const [c, sha, ...rest] = args.map(String)
  if (c?.toLowerCase() === 'evalsha') return `script ${scripts.get(sha ?? '') ?? sha} ${rest.slice(1, 2).join(' ')}`.slice(0, 110)
  return args.map(String).slice(0, 3).join(' ').slice(0, 110)
}

/** Not the run's path: index writes (not awaited on a standalone Redis), the schedules' poll, `runner.result`'s reads. */
function onPath(c: SentCommand): boolean {
  if (c.args[0] === 'evalsha' && /:flow:\{|:flows$|\{schedules\}/.test(c.args[3] ?? '')) return false
  return !(c.who === 'producer' && /^(xrange|xrevrange|subscribe|unsubscribe)$/i.test(c.args[0] ?? ''))
}

const trace = traceRoundTrips()
const server = await startRedis()
const workerStore = createRedisStreamStore({ url: server.url, prefix: 'rtt' })
const producerStore = createRedisStreamStore({ url: server.url, prefix: 'rtt' })
trace.add(workerStore.redis as Redis, 'worker')
trace.add(producerStore.redis as Redis, 'producer')
// one memory queue: the producer only starts runs and follows them, the worker runs them
const queue = createMemoryQueue()
const worker = createRunner({ store: workerStore, queue, flows })
const producer = createRunner({ store: producerStore, queue, flows })
await worker.start()
const monitor = new Redis(server.url)
let monitored = 0
let counting = false
try {
  for (let i = 0; i < 20; i++) {
    for (const f of ['one', 'two', 'call']) {
      const { runId } = await producer.startFlow(f, {})
      await producer.result(runId, { timeout: '30s' })
    }
  }
  const mon = await monitor.monitor()
  mon.on('monitor', (_time: string, _args: string[], source: string) => {
    if (counting && !source.endsWith('lua')) monitored++
  })
  const out: Record<string, { commands: number; onPath: number; roundTrips: number; fewest: number; most: number }> = {}
  type Sent = SentCommand
  for (const f of ['one', 'two', 'call']) {
    const commands: number[] = []
    const path: number[] = []
    const trips: number[] = []
    let last: Sent[] = []
    for (let r = 0; r < runs; r++) {
      await new Promise((res) => setTimeout(res, 50))
      monitored = 0
      counting = true
      trace.record()
      const { runId } = await producer.startFlow(f, {})
      await producer.result(runId, { timeout: '30s' })
      // what the run's last writes leave behind (index writes), and MONITOR's feed, arrive a little later
      await new Promise((res) => setTimeout(res, 50))
      counting = false
      const all = trace.take()
      const on = all.filter(onPath)
      commands.push(monitored)
      path.push(on.length)
      trips.push(roundTrips(on))
      last = all
    }
    out[f] = {
      commands: median(commands),
      onPath: median(path),
      roundTrips: median(trips),
      fewest: Math.min(...trips),
      most: Math.max(...trips),
    }
    if (show === f) {
      const tags = [...new Set(last.filter(onPath).map((c) => c.tag))]
      for (const c of last) {
        const n = onPath(c) ? String(tags.indexOf(c.tag) + 1).padStart(3) : '  -'
        console.log(`${n} ${c.who.padEnd(9)} ${named(c.args)}`)
      }
    }
  }
  mon.disconnect()
  type Counted = { roundTrips: number; fewest: number }
  const call = out.call as Counted
  const one = out.one as Counted
  const two = out.two as Counted
  console.log(
    JSON.stringify({
      ...out,
      chainedStepRoundTrips: two.roundTrips - one.roundTrips,
      invokeRoundTrips: call.roundTrips - one.roundTrips,
      invokeFewest: call.fewest - one.fewest,
    }),
  )
} finally {
  monitor.disconnect()
  trace.stop()
  await worker.stop()
  await queue.close()
  await workerStore.close()
  await producerStore.close()
  await server.stop()
}
