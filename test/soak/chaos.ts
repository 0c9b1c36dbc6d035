// A chaos soak of composition on BullMQ, run by hand (not in CI: about a minute a seed):
//   node --import tsx test/soak/chaos.ts [--seed 1] [--runs 60] [--kill-ms 900] [--redis-ms 0] [--chaos-ms 8000]
//
// On its own redis-server (AOF), three worker processes (test/workers/composeWorker.ts) take the
// jobs while this process starts a mix of runs (test/workers/composeFlows.ts): `pair` (three
// invokes), `fan` (1–15 invokes at once), `listen` + `pub` (ctx.publish between runs), and
// `hundred` (1–12 sleeping children) canceled at a random moment. Every `kill-ms` a random worker
// is SIGKILLed and a new one forked; with `redis-ms` > 0, redis-server is SIGKILLed and restarted
// that often. Every run is followed over SSE (a real HTTP server and client, reconnecting with
// Last-Event-ID). Once the chaos stops, it checks:
//   - each run's result (`runner.result`), and each canceled run's RunCanceledError;
//   - each log, children included (found through `step.await.run`): test/workers/checkRunLog.ts for
//     completed runs; for canceled ones exactly one terminal event, and nothing after it;
//   - no child missing from its parent's log ("orphans": a child in the flow index its parent
//     never announced), each listed with its log;
//   - each SSE follower got exactly the run's events up to its terminal event, in order.
// Prints a summary line per check; exits 1 when any check found a problem.
import http from 'node:http'
import { Redis } from 'ioredis'
import { createBullMQQueue } from '../../packages/bullmq/src/index.js'
import { createHandler } from '../../packages/http/src/index.js'
import { toNodeHandler } from '../../packages/http/src/node.js'
import { createRedisStreamStore } from '../../packages/redis/src/index.js'
import { createRunner } from '../../packages/runner/src/index.js'
import { startRedis } from '../helpers/redisServer.js'
import { checkRunLog } from '../workers/checkRunLog.js'
import { BILLED, composeFlows } from '../workers/composeFlows.js'
import { type ForkedWorker, forkWorker } from '../workers/forkWorker.js'

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
let seed = arg('seed', 1)
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31

const server = await startRedis({ appendonly: true, args: ['--hz', '100'] })
const redis = new Redis(server.url)
redis.on('error', () => {})
const id = 'chaos'
const store = createRedisStreamStore({ url: server.url, prefix: id })
const queue = createBullMQQueue({ url: server.url, queueName: id, onError: () => {} })
const producer = createRunner({ store, queue, flows: composeFlows(redis, store) })

// the workers, one killed and one forked every kill-ms
const workers: ForkedWorker[] = []
const dead = new Set<ForkedWorker>()
const spawn = () => {
  const w = forkWorker('composeWorker.ts', { REDIS_URL: server.url, STORE_PREFIX: id, QUEUE_NAME: id, QUIET: '1' })
  workers.push(w)
}
for (let i = 0; i < 3; i++) spawn()
await Promise.all(workers.map((w) => w.waitFor((m) => m.type === 'ready', 'ready')))
let kills = 0
const killer = setInterval(
  () => {
    const alive = workers.filter((w) => !dead.has(w))
    const victim = alive[Math.floor(rand() * alive.length)]
    if (victim) {
      dead.add(victim)
      victim.kill('SIGKILL')
      kills++
    }
    spawn()
  },
  arg('kill-ms', 900),
)
let restarts = 0
const redisMs = arg('redis-ms', 0)
const restarter =
  redisMs > 0
    ? setInterval(async () => {
        await server.kill()
        await sleep(300 + rand() * 1500)
        await server.restart()
        restarts++
      }, redisMs)
    : undefined

// SSE followers through a real HTTP server
const web = http.createServer(toNodeHandler(createHandler({ store, onError: () => {} })))
await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()))
const base = `http://127.0.0.1:${(web.address() as { port: number }).port}/flows`
const followers = new Map<string, Promise<string[]>>()
async function follow(runId: string): Promise<string[]> {
  const ids: string[] = []
  for (;;) {
    const last = ids.at(-1)
    const res = await fetch(`${base}/runs/${runId}/stream`, { headers: last ? { 'Last-Event-ID': last } : {} }).catch(() => null)
    if (res?.status === 204) return ids
    if (res?.status !== 200 || !res.body) {
      await res?.text().catch(() => {})
      await sleep(200)
      continue
    }
    let buf = ''
    const text = new TextDecoder()
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += text.decode(chunk, { stream: true })
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const lines = buf.slice(0, i).split('\n')
          buf = buf.slice(i + 2)
          if (lines.includes('event: end')) return ids
          const eventId = lines.find((l) => l.startsWith('id: '))?.slice(4)
          if (eventId) ids.push(eventId)
        }
      }
    } catch {}
    await sleep(100)
  }
}

// the runs: each start retried (Redis may be down) with one idempotency key
let keys = 0
async function start(flow: string, input: unknown): Promise<string> {
  const idempotencyKey = `k${++keys}`
  for (let t = 0; ; t++) {
    try {
      const { runId } = await producer.startFlow(flow, input, { idempotencyKey })
      if (!followers.has(runId)) followers.set(runId, follow(runId))
      return runId
    } catch (err) {
      if (t > 60) throw err
      await sleep(250)
    }
  }
}
async function cancelSoon(runId: string) {
  await sleep(rand() * 800)
  for (let t = 0; t < 60; t++) {
    try {
      return await producer.cancel(runId)
    } catch {
      await sleep(250)
    }
  }
}
const runs: Array<{ runId: string; expect: unknown }> = []
for (let i = 0; i < arg('runs', 60); i++) {
  const r = rand()
  if (r < 0.35) runs.push({ runId: await start('pair', { ns: id, n: i }), expect: { call: 30 * i + 30 } })
  else if (r < 0.6) {
    const k = 1 + Math.floor(rand() * 15)
    runs.push({ runId: await start('fan', { ns: id, k }), expect: { all: { count: k, sum: (10 * k * (k - 1)) / 2 } } })
  } else if (r < 0.75) {
    const runId = await start('hundred', { k: 1 + Math.floor(rand() * 12) })
    runs.push({ runId, expect: 'canceled' })
    void cancelSoon(runId)
  } else {
    runs.push({ runId: await start('listen', { id: `p${i}` }), expect: { l: { id: `p${i}` } } })
    await sleep(50)
    runs.push({ runId: await start('pub', { id: `p${i}` }), expect: { s: 'published' } })
  }
  await sleep(rand() * 150)
}
await sleep(arg('chaos-ms', 8000))
clearInterval(killer)
clearInterval(restarter)
console.log(`runs ${runs.length}, workers killed ${kills}, redis restarts ${restarts}`)

let problems = 0
const say = (msg: string) => {
  problems++
  console.log(`  ${msg}`)
}
for (const run of runs) {
  const got = await producer.result(run.runId, { timeout: arg('result-s', 90) * 1000 }).then(
    (v) => JSON.stringify(v),
    (err: Error) => (err.name === 'RunCanceledError' ? '"canceled"' : err.message),
  )
  if (got !== JSON.stringify(run.expect)) {
    say(`result of ${run.runId}: ${got}, expected ${JSON.stringify(run.expect)}`)
    // what a stuck run looked like: its log, its document, and who watches the kinds it waits on
    const log = await store.read(run.runId, { limit: 10_000 })
    console.log(`    log: ${log.map((e) => `${e.kind}${e.step ? `(${e.step})` : ''}`).join(', ')}`)
    console.log(`    doc: ${JSON.stringify((await store.getRunState(run.runId))?.doc)}`)
    console.log(`    watchers of ${BILLED}: ${JSON.stringify(await store.kindWatchers(BILLED))}`)
    console.log(`    ${BILLED} events: ${JSON.stringify(await store.readExternal(BILLED, 0))}`)
    // its jobs as BullMQ holds them (state, attempts, stalls, how each ended)
    for (const key of await redis.keys(`lfq:${id}:*${run.runId}*`)) {
      const type = await redis.type(key)
      const job = type === 'hash' ? await redis.hgetall(key) : type
      const { data: _d, opts: _o, ...rest } = typeof job === 'object' ? job : { data: 0, opts: 0, type: job }
      console.log(`    job ${key}: ${JSON.stringify(rest)}`)
    }
    for (const list of ['wait', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'paused']) {
      const type = await redis.type(`lfq:${id}:${list}`)
      const ids =
        type === 'list'
          ? await redis.lrange(`lfq:${id}:${list}`, 0, -1)
          : type === 'zset'
            ? await redis.zrange(`lfq:${id}:${list}`, 0, -1)
            : []
      const mine = ids.filter((j) => j.includes(run.runId))
      if (mine.length > 0) console.log(`    in ${list}: ${mine.join(' ')}`)
    }
  }
}
const seen = new Set(runs.map((r) => r.runId))
const todo = [...seen]
for (let runId = todo.pop(); runId !== undefined; runId = todo.pop()) {
  const log = await store.read(runId, { limit: 10_000 })
  for (const e of log) {
    const child = e.kind === 'step.await.run' ? (e.data as { childRunId: string }).childRunId : undefined
    if (child && !seen.has(child)) {
      todo.push(child)
      seen.add(child)
    }
  }
  const terminal = log.filter((e) => e.kind === 'flow.completed' || e.kind === 'flow.failed' || e.kind === 'flow.canceled')
  if (terminal[0]?.kind === 'flow.canceled') {
    if (terminal.length !== 1 || log.at(-1) !== terminal[0]) say(`${runId}: ${log.map((e) => e.kind).join(', ')}`)
  } else for (const p of checkRunLog(log)) say(p)
}
const indexed = [...(await redis.zrange(`${id}:flow:{leaf}:runs`, 0, -1)), ...(await redis.zrange(`${id}:flow:{sleeper}:runs`, 0, -1))]
for (const orphan of indexed.filter((c) => !seen.has(c))) {
  say(`orphan ${orphan}: ${(await store.read(orphan, { limit: 100 })).map((e) => e.kind).join(', ')}`)
}
console.log(`logs checked: ${seen.size} (children ${indexed.length})`)
for (const [runId, ids] of followers) {
  const log = await store.read(runId, { limit: 10_000 })
  const end = log.findIndex((e) => e.kind === 'flow.completed' || e.kind === 'flow.failed' || e.kind === 'flow.canceled')
  const want = log.slice(0, end + 1).map((e) => e.id)
  if (JSON.stringify(await ids) !== JSON.stringify(want)) say(`SSE of ${runId}: ${(await ids).length} events, the log has ${want.length}`)
}
console.log(`SSE followers checked: ${followers.size}; problems: ${problems}`)

for (const w of workers) if (!dead.has(w)) w.kill('SIGKILL')
web.close()
await queue.close()
await store.close()
redis.disconnect()
await server.stop()
process.exit(problems > 0 ? 1 : 0)
