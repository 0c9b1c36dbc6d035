// SSE benchmark: `pnpm bench sse`, or `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json pnpm exec tsx --expose-gc bench/sse.ts [--clients 1000] [--runs 100] [--rate 200] [--seconds 5] [--rounds 3]`
//
// One server process (this one): createRedisStreamStore + createHandler + node:http, from the
// built packages (dist, as users run them). The SSE clients live in a child process (raw
// TCP sockets that send a GET and time-stamp each line as it arrives), so the server's memory
// is its own. Every client, SSE or Redis subscriber, is such a socket: both paths are timed at
// the socket, not behind two client libraries. Measured in the same run, on the same redis-server:
//   subscribers: Redis connections in pub/sub mode (CLIENT LIST) while 1,000 streams are open
//   memory per idle SSE connection: growth of the server's heap and RSS (after GC) while a
//     second batch of 1,000 streams opens, divided by 1,000 (the marginal cost; the first
//     batch also pays one-time costs such as V8 growing its young generation, reported too)
//   unloaded latency: one client, one run, append call → client receives the frame
//   loaded latency: 1,000 clients on 100 runs (10 each), RATE events/s round-robin
//   baselines, the same events at the same rate while the 1,000 streams stay open:
//     raw PUBLISH → 1,000 subscriber connections in the client process, 10 per channel (one
//       per SSE client: the same fan-out over the same number of TCP connections) — the target
//     raw PUBLISH → one subscriber connection whose messages go to 10 listeners each (stricter:
//       one socket instead of 1,000)
import { fork } from 'node:child_process'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { loadavg } from 'node:os'
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import { createHandler } from '@leanflow/http'
import { toNodeHandler } from '@leanflow/http/node'
import { createRedisStreamStore } from '@leanflow/redis'
import { Redis } from 'ioredis'
import { benchRedis, typicalEvent } from './lib/redisBench.js'
import { arg, latency, round } from './lib/stats.js'

const CLIENTS = arg('clients', 1000)
const RUNS = arg('runs', 100)
const RATE = arg('rate', 200)
const SECONDS = arg('seconds', 5)
const ROUNDS = arg('rounds', 3)
const clock = () => performance.timeOrigin + performance.now()
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

type ToChild =
  | { op: 'sse'; origin: string; runs: string[]; perRun: number }
  | { op: 'sub'; url: string; channels: string[]; perChannel: number; connections: 'one' | 'each' }
  | { op: 'take' }
  | { op: 'drop' }
  | { op: 'quit' }
type FromChild = { op: 'ready' } | { op: 'lat'; ms: number[] }

if (process.argv.includes('--client')) {
  // ---- client process ----
  process.on('disconnect', () => process.exit(0)) // the server process ended (or crashed)
  let lat: number[] = []
  const open: net.Socket[] = []
  const record = (text: string, times = 1) => {
    const t = clock()
    for (let at = text.indexOf('"t":'); at !== -1; at = text.indexOf('"t":', at + 4)) {
      const ms = t - Number.parseFloat(text.slice(at + 4, at + 30))
      for (let i = 0; i < times; i++) lat.push(ms)
    }
  }
  /** A raw socket that calls `onLines` with the complete lines of what it receives. */
  const lineSocket = (host: string, port: number, hello: string, onLines: (text: string) => void) => {
    const socket = net.connect(port, host, () => socket.write(hello))
    socket.setNoDelay(true)
    socket.setEncoding('utf8')
    let tail = ''
    socket.on('data', (chunk: string) => {
      const buf = tail + chunk
      const cut = buf.lastIndexOf('\n')
      if (cut === -1) tail = buf
      else {
        onLines(buf.slice(0, cut))
        tail = buf.slice(cut + 1)
      }
    })
    socket.on('error', () => {})
    open.push(socket)
    return socket
  }
  const send = (m: FromChild) => process.send?.(m)
  process.on('message', async (m: ToChild) => {
    if (m.op === 'drop') {
      for (const r of open.splice(0)) r.destroy()
      send({ op: 'ready' })
    } else if (m.op === 'sse') {
      const { hostname, port } = new URL(m.origin)
      let ready = 0
      const total = m.runs.length * m.perRun
      for (const run of m.runs) {
        for (let i = 0; i < m.perRun; i++) {
          let first = true
          const get = `GET /flows/runs/${run}/stream HTTP/1.1\r\nHost: ${hostname}\r\nAccept: text/event-stream\r\n\r\n`
          lineSocket(hostname, Number(port), get, (text) => {
            if (first) {
              first = false
              if (++ready === total) send({ op: 'ready' })
            }
            record(text)
          })
        }
        await sleep(5) // do not SYN-flood the listen backlog
      }
    } else if (m.op === 'sub') {
      const { hostname, port, username, password } = new URL(m.url)
      const auth = password ? `AUTH ${username ? `${decodeURIComponent(username)} ` : ''}${decodeURIComponent(password)}\r\n` : ''
      // resolves once Redis confirmed `n` subscriptions on the socket
      const subscribe = (channels: string[], times: number) =>
        new Promise<void>((resolve) => {
          let confirmed = 0
          lineSocket(hostname, Number(port), `${auth}SUBSCRIBE ${channels.join(' ')}\r\n`, (text) => {
            if (confirmed < channels.length) {
              for (let at = text.indexOf('subscribe\r'); at !== -1; at = text.indexOf('subscribe\r', at + 1)) confirmed++
              if (confirmed >= channels.length) resolve()
            }
            record(text, times)
          })
        })
      if (m.connections === 'one') await subscribe(m.channels, m.perChannel)
      else for (const channel of m.channels) await Promise.all(Array.from({ length: m.perChannel }, () => subscribe([channel], 1)))
      send({ op: 'ready' })
    } else if (m.op === 'take') {
      send({ op: 'lat', ms: lat })
      lat = []
    } else process.exit(0)
  })
} else {
  await main()
}

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  const loadBefore = loadavg()[0] ?? 0
  const redisServer = await benchRedis()
  const store = createRedisStreamStore({ url: redisServer.url, prefix: 'bsse', connectionName: 'lf-bench' })
  const handler = createHandler({ store, maxStreams: CLIENTS * 2 + 10, heartbeatMs: 15_000 })
  const server = http.createServer(toNodeHandler(handler))
  server.maxConnections = CLIENTS * 2 + 100
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const admin = new Redis(redisServer.url)
  const pub = new Redis(redisServer.url)
  const child = fork(new URL(import.meta.url).pathname, ['--client'], { execArgv: process.execArgv })
  const ask = (m: ToChild, want: FromChild['op']) =>
    new Promise<FromChild>((resolve) => {
      const on = (r: FromChild) => {
        if (r.op !== want) return
        child.off('message', on)
        resolve(r)
      }
      child.on('message', on)
      child.send(m)
    })
  const take = async () => ((await ask({ op: 'take' }, 'lat')) as { ms: number[] }).ms

  const started = (run: string) => store.append(run, { kind: 'flow.started', flow: run, data: { name: 'bench', input: null, steps: {} } })
  const event = (run: string, i: number) => {
    const e = typicalEvent(run, i)
    return { ...e, data: { ...e.data, t: clock() } }
  }
  /**
   * Sends `rate` calls a second for `seconds`, waits for them all, and keeps none of their
   * results (holding 1,000 appended records for the whole phase would make the SSE phase's
   * young-generation GC copy them again and again, and not the raw phases').
   */
  async function paced(runs: string[], send: (run: string, i: number) => Promise<unknown>, rate: number, seconds: number) {
    const total = rate * seconds
    const start = performance.now()
    let inflight = 0
    let failure: unknown
    let drained: (() => void) | undefined
    const settle = () => {
      if (--inflight === 0) drained?.()
    }
    for (let i = 0; i < total; i++) {
      const wait = start + (i * 1000) / rate - performance.now()
      if (wait > 1) await sleep(wait)
      inflight++
      send(runs[i % runs.length] as string, i).then(settle, (err: unknown) => {
        failure ??= err
        settle()
      })
    }
    if (inflight > 0) await new Promise<void>((r) => (drained = r))
    if (failure !== undefined) throw failure
    await sleep(300)
  }

  // unloaded: one client, one run
  await started('solo')
  await ask({ op: 'sse', origin, runs: ['solo'], perRun: 1 }, 'ready')
  await paced(['solo'], (run, i) => store.append(run, event(run, i)), 100, 1) // warm-up
  let unloaded: ReturnType<typeof latency> | undefined
  for (let round_ = 0; round_ < 2 * ROUNDS + 1; round_++) {
    await take()
    await paced(['solo'], (run, i) => store.append(run, event(run, i)), 100, 3)
    const u = latency(await take())
    if (unloaded === undefined || u.p99 < unloaded.p99) unloaded = u
  }

  // memory per idle connection (marginal: a second batch), bare node:http first, then leanflow
  const runs = Array.from({ length: RUNS }, (_, i) => `run${i}`)
  for (const r of runs) await started(r)
  const perRun = CLIENTS / RUNS
  async function memory(target: string) {
    await sleep(500)
    gc?.()
    const before = process.memoryUsage()
    await ask({ op: 'sse', origin: target, runs, perRun }, 'ready')
    await sleep(1000)
    gc?.()
    const mid = process.memoryUsage()
    await ask({ op: 'sse', origin: target, runs, perRun }, 'ready')
    await sleep(1000)
    gc?.()
    const after = process.memoryUsage()
    const kb = (a: NodeJS.MemoryUsage, b: NodeJS.MemoryUsage, k: 'heapUsed' | 'rss' | 'external') =>
      round((b[k] - a[k]) / CLIENTS / 1024, 1)
    return {
      marginal: { heap: kb(mid, after, 'heapUsed'), external: kb(mid, after, 'external'), rss: kb(mid, after, 'rss') },
      firstBatch: { heap: kb(before, mid, 'heapUsed'), rss: kb(before, mid, 'rss') },
    }
  }
  // baseline: a bare node:http server that sends SSE headers and one frame, then holds
  const bare = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    res.write('retry: 1000\n\n')
  })
  bare.maxConnections = CLIENTS * 2 + 100
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', () => r()))
  const bareMemory = await memory(`http://127.0.0.1:${(bare.address() as AddressInfo).port}`)
  await ask({ op: 'drop' }, 'ready')
  bare.closeAllConnections()
  bare.close()
  const sseMemory = await memory(origin)
  const clientList = (await admin.client('LIST')) as string
  const subscribers = clientList.split('\n').filter((l) => /\b(sub|psub|ssub)=[1-9]/.test(l) || /flags=\S*P/.test(l)).length
  // back to CLIENTS streams for the loaded phase
  await ask({ op: 'drop' }, 'ready')
  await ask({ op: 'sse', origin, runs, perRun }, 'ready')
  await sleep(500)
  await take()

  // loaded: SSE vs raw PUBLISH → 1,000 subscribers and → 1 subscriber, interleaved rounds, best p99 of each
  await ask({ op: 'sub', url: redisServer.url, channels: runs.map((r) => `rawN:${r}`), perChannel: perRun, connections: 'each' }, 'ready')
  await ask({ op: 'sub', url: redisServer.url, channels: runs.map((r) => `raw1:${r}`), perChannel: perRun, connections: 'one' }, 'ready')
  const payload = (run: string, i: number) => JSON.stringify({ id: '0-0', ts: new Date().toISOString(), ...event(run, i) })
  let sse: ReturnType<typeof latency> | undefined
  let rawEach: ReturnType<typeof latency> | undefined
  let rawOne: ReturnType<typeof latency> | undefined
  const best = (a: ReturnType<typeof latency> | undefined, b: ReturnType<typeof latency>) => (a === undefined || b.p99 < a.p99 ? b : a)
  // the server's GC pauses while the SSE load runs (young-generation scavenges are what reach the p99)
  const gcPauses: number[] = []
  let gcOn = false
  const gcObserver = new PerformanceObserver((list) => {
    if (gcOn) for (const e of list.getEntries()) gcPauses.push(e.duration)
  })
  gcObserver.observe({ entryTypes: ['gc'] })
  // how late the server's event loop ran its callbacks while the SSE load ran (a delivery waits that long)
  const loopDelay = monitorEventLoopDelay({ resolution: 1 })
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    await take()
    gcOn = true
    loopDelay.enable()
    await paced(runs, (run, i) => store.append(run, event(run, i)), RATE, SECONDS)
    gcOn = false
    loopDelay.disable()
    sse = best(sse, latency(await take()))
    await paced(runs, (run, i) => pub.publish(`rawN:${run}`, payload(run, i)), RATE, SECONDS)
    rawEach = best(rawEach, latency(await take()))
    await paced(runs, (run, i) => pub.publish(`raw1:${run}`, payload(run, i)), RATE, SECONDS)
    rawOne = best(rawOne, latency(await take()))
  }

  const result = {
    clients: CLIENTS,
    runs: RUNS,
    rate: RATE,
    gc: gc !== undefined,
    loadAverage1m: { before: round(loadBefore, 2), after: round(loadavg()[0] ?? 0, 2) },
    subscriberConnections: subscribers,
    memoryPerIdleConnectionKB: sseMemory.marginal,
    memoryPerIdleConnectionFirstBatchKB: sseMemory.firstBatch,
    bareNodeSsePerConnectionKB: bareMemory.marginal,
    bareNodeSseFirstBatchKB: bareMemory.firstBatch,
    unloadedLatencyMs: unloaded,
    // the histogram's max is not reported: its first sample after each enable() spans the
    // time it was disabled; p50/p99 are the interval of its 1 ms timer (1 ms when on time)
    serverEventLoopDelayDuringSseMs: {
      p50: round(loopDelay.percentile(50) / 1e6, 2),
      p99: round(loopDelay.percentile(99) / 1e6, 2),
    },
    serverGcDuringSse: {
      pausesPerSecond: round(gcPauses.length / (ROUNDS * SECONDS), 1),
      meanPauseMs: round(gcPauses.reduce((a, b) => a + b, 0) / Math.max(1, gcPauses.length), 2),
      maxPauseMs: round(Math.max(0, ...gcPauses), 2),
    },
    loadedSseLatencyMs: sse,
    loadedRawPublishLatencyMs: rawEach,
    loadedRawPublishOneConnectionLatencyMs: rawOne,
    ratioP99: sse && rawEach ? round(sse.p99 / rawEach.p99, 2) : null,
    ratioP99OneConnection: sse && rawOne ? round(sse.p99 / rawOne.p99, 2) : null,
    targets: {
      unloadedP99Below5ms: (unloaded?.p99 ?? Number.POSITIVE_INFINITY) < 5,
      loadedP99AtMost2xRaw: sse && rawEach ? sse.p99 <= 2 * rawEach.p99 : false,
      idleConnectionAtMost30KB: sseMemory.marginal.rss <= 30,
      oneSubscriber: subscribers === 1,
    },
  }
  gcObserver.disconnect()
  console.log(JSON.stringify(result, null, 2))
  child.send({ op: 'quit' } satisfies ToChild)
  server.closeAllConnections()
  server.close()
  admin.disconnect()
  pub.disconnect()
  await store.close()
  await redisServer.stop()
}
