// The cost of `@leanflow/otel`: `pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/otel.ts`
//   [--rounds 7] [--flows 100] [--parallel 20]
//
// Starts its own redis-server and measures, on the Redis store with the memory queue (one runner
// in this process), `flows` flows of 10 chained no-op steps, `parallel` started at a time: steps/s
// without instrumentation and with `instrumentRunner` (an SDK tracer provider with
// createIdGenerator() and a batch processor into an exporter that drops the spans, an SDK meter
// provider with a reader). Rounds alternate (off, on, …), a fresh runner each; round 0 is a
// warm-up, dropped; medians of the rest and their ratio. Prints one JSON object last.

import { loadavg } from 'node:os'
import { createIdGenerator, instrumentRunner } from '@leanflow/otel'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type StepDefinition } from '@leanflow/runner'
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { startRedis } from '../test/helpers/redisServer.js'

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return Number(i > 0 ? process.argv[i + 1] : dflt)
}
const ROUNDS = arg('rounds', 7)
const FLOWS = arg('flows', 100)
const PARALLEL = arg('parallel', 20)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

const steps: Record<string, StepDefinition> = {}
for (let i = 0; i < 10; i++) steps[`s${i}`] = { needs: i === 0 ? [] : [`s${i - 1}`], handler: async () => i }
const flow = defineFlow({ name: 'noop10', steps })

const dropAll: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} }
class Reader extends MetricReader {
  protected async onForceFlush() {}
  protected async onShutdown() {}
}

const redis = await startRedis()
let n = 0
async function measure(instrumented: boolean): Promise<number> {
  const store = createRedisStreamStore({ url: redis.url, prefix: `otel${++n}` })
  const runner = createRunner({ store, flows: [flow], concurrency: PARALLEL * 2 })
  const tracerProvider = new BasicTracerProvider({ idGenerator: createIdGenerator(), spanProcessors: [new BatchSpanProcessor(dropAll)] })
  const meterProvider = new MeterProvider({ readers: [new Reader()] })
  const stop = instrumented ? instrumentRunner(runner, { tracerProvider, meterProvider }) : () => {}
  await runner.start()
  const t0 = performance.now()
  for (let started = 0; started < FLOWS; started += PARALLEL) {
    const batch = Math.min(PARALLEL, FLOWS - started)
    const runs = await Promise.all(Array.from({ length: batch }, () => runner.startFlow(flow, {})))
    await Promise.all(runs.map((r) => runner.result(r.runId, { timeout: '60s' })))
  }
  const ms = performance.now() - t0
  stop()
  await runner.stop()
  await Promise.all([store.close(), tracerProvider.shutdown(), meterProvider.shutdown()])
  return (FLOWS * 10 * 1000) / ms
}

const off: number[] = []
const on: number[] = []
const load = loadavg()[0] ?? 0
for (let r = 0; r < ROUNDS; r++) {
  const a = await measure(false)
  const b = await measure(true)
  if (r === 0) continue
  off.push(a)
  on.push(b)
  console.log(`round ${r}: ${a.toFixed(0)} steps/s without, ${b.toFixed(0)} with`)
}
await redis.stop()
const result = {
  flows: FLOWS,
  parallel: PARALLEL,
  rounds: ROUNDS - 1,
  stepsPerSecWithout: Math.round(median(off)),
  stepsPerSecWith: Math.round(median(on)),
  ratio: Math.round((median(on) / median(off)) * 100) / 100,
  loadavg1m: { before: Math.round(load * 10) / 10, after: Math.round((loadavg()[0] ?? 0) * 10) / 10 },
  cpus: (await import('node:os')).cpus().length,
}
console.log(JSON.stringify(result))
