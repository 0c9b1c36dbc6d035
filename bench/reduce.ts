// Reducer benchmark: `pnpm exec tsx bench/reduce.ts [--runs 100] [--events 10000] [--rounds 5]`
//
// Folds R runs × N realistic events (a 20-step run with starts, completions,
// logs, state.set, user events, retries and awaits; payloads of a few hundred
// bytes) three ways, in the same process and rounds:
//   parse:      JSON.parse of each run serialized as one JSON array (the baseline)
//   reduceFlow: reduceFlow(events) of the parsed events
//   applyEvent: the fold state = applyEvent(state, e) from emptyFlowState()
// and prints events/s for each and the ratios to the parse time, by process
// CPU time and by wall time (targets: reduceFlow ≤ 0.5, applyEvent ≤ 1).
// Both folds are checked to agree first. Warm-up round, then the median of
// the rounds; the two folds alternate which runs first after the parse. Runs
// are built from 10 distinct generated logs, each parsed afresh, to keep
// memory small.

import { applyEvent, type EventRecord, emptyFlowState, type FlowState, reduceFlow } from '@leanflow/core'

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const RUNS = arg('runs', 100)
const EVENTS = arg('events', 10_000)
const ROUNDS = arg('rounds', 5)
const TEMPLATES = Math.min(10, RUNS)
const STEPS = 20

/** A deterministic pseudo-random generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** One realistic run of about `n` events. */
function makeRun(seed: number, n: number): EventRecord[] {
  const rand = rng(seed)
  const runId = `run${String(seed).padStart(18, '0')}`
  const out: EventRecord[] = []
  let ms = 1_764_000_000_000 + seed * 1_000_000
  let seq = 0
  const push = (kind: string, data: unknown, step?: string, attempt?: number) => {
    if (rand() < 0.7) {
      ms += 1 + Math.floor(rand() * 3)
      seq = 0
    } else seq++
    const e: EventRecord = { id: `${ms}-${seq}`, ts: new Date(ms).toISOString(), kind, flow: runId, data }
    if (step !== undefined) e.step = step
    if (attempt !== undefined) e.meta = { attempt, jobId: `${runId}.${step}.${attempt}` }
    out.push(e)
  }
  const names = Array.from({ length: STEPS }, (_, i) => `step-${i}`)
  const steps: Record<string, { needs: string[] }> = {}
  names.forEach((s, i) => {
    steps[s] = { needs: i === 0 ? [] : [names[i - 1]!] }
  })
  const input = { orderId: `o-${seed}`, customer: { id: `c-${seed}`, email: 'ada@example.com', tier: 'gold' }, items: [1, 2, 3] }
  push('flow.started', { name: 'order', input, steps })
  const perStep = Math.max(4, Math.floor((n - 2) / STEPS))
  for (const step of names) {
    const budget = perStep
    let attempt = 1
    const started = out.length
    push('step.started', { input }, step, attempt)
    const retries = rand() < 0.25 ? 1 + Math.floor(rand() * 2) : 0
    const retryAt = Array.from({ length: retries }, (_, j) => Math.floor((budget * (j + 1)) / (retries + 2)))
    let awaitAt = rand() < 0.3 ? Math.floor(budget / 2) : -1
    while (out.length - started < budget - 2) {
      const k = out.length - started
      if (awaitAt >= 0 && k >= awaitAt) {
        awaitAt = -1
        const r = rand()
        const until = new Date(ms + 60_000).toISOString()
        if (r < 0.33) push('step.await.time', { resumeAt: until }, step, attempt)
        else if (r < 0.66)
          push(
            'step.await.event',
            { eventKind: 'payment.confirmed', match: { 'data.orderId': input.orderId }, timeoutAt: until },
            step,
            attempt,
          )
        else push('step.await.trigger', { triggerId: `trg${seed}${k}`, triggerType: 'webhook', timeoutAt: until }, step, attempt)
        push('step.resumed', { reason: 'resolved', awaitType: 'time', awaitDuration: 1234 }, step, attempt)
        continue
      }
      if (attempt <= retries && k >= retryAt[attempt - 1]!) {
        push(
          'step.failed',
          { error: 'ECONNRESET: upstream closed the connection', willRetry: true, nextRetryAt: new Date(ms + 1000).toISOString() },
          step,
          attempt,
        )
        push('step.retry', { reason: 'ECONNRESET: upstream closed the connection', delayMs: 1000 }, step, attempt + 1)
        attempt++
        push('step.started', { input }, step, attempt)
        continue
      }
      const r = rand()
      if (r < 0.7) {
        push(
          'log',
          {
            level: r < 0.05 ? 'warn' : 'info',
            msg: `processed item ${k} of order ${input.orderId} for customer ${input.customer.id}`,
            fields: {
              itemId: `it-${k}`,
              sku: `SKU-${Math.floor(rand() * 1e6)}`,
              qty: 1 + Math.floor(rand() * 5),
              price: Math.round(rand() * 10000) / 100,
              warehouse: 'eu-west-1',
              note: 'ok',
            },
          },
          step,
          attempt,
        )
      } else if (r < 0.9) {
        push(
          'state.set',
          {
            key: rand() < 0.5 ? `${step}.progress` : `${step}.cursor`,
            value: { done: k, total: budget, at: new Date(ms).toISOString(), last: `it-${k}` },
          },
          step,
          attempt,
        )
      } else {
        push(
          'item.processed',
          { orderId: input.orderId, itemId: `it-${k}`, amount: Math.round(rand() * 10000) / 100, currency: 'EUR', tags: ['a', 'b'] },
          step,
          attempt,
        )
      }
    }
    push(
      'step.completed',
      { result: { ok: true, items: budget, checksum: Math.floor(rand() * 1e9).toString(16) }, duration: 1000 + Math.floor(rand() * 5000) },
      step,
      attempt,
    )
  }
  push('flow.completed', { result: { [names[STEPS - 1]!]: { ok: true } }, duration: 120_000 })
  return out
}

const texts = Array.from({ length: TEMPLATES }, (_, i) => JSON.stringify(makeRun(i + 1, EVENTS)))
const eventsPerRun = (JSON.parse(texts[0]!) as unknown[]).length
const bytes = texts.reduce((n, t) => n + t.length, 0) / TEMPLATES

/** Process CPU time in ms (user + system): steadier than wall time on a shared machine. */
const cpu = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
type Times = { parse: number; reduce: number; apply: number }

let sink = 0
function round(): { wall: Times; cpu: Times } {
  const wall: Times = { parse: 0, reduce: 0, apply: 0 }
  const used: Times = { parse: 0, reduce: 0, apply: 0 }
  let a: FlowState = emptyFlowState()
  let s: FlowState = emptyFlowState()
  for (let r = 0; r < RUNS; r++) {
    const text = texts[r % TEMPLATES]!
    const w0 = performance.now()
    const c0 = cpu()
    const events = JSON.parse(text) as EventRecord[]
    used.parse += cpu() - c0
    wall.parse += performance.now() - w0
    // alternate which of the two folds runs first, so both share the GC debt of the parse alike
    for (const phase of r % 2 === 0 ? ['reduce', 'apply'] : ['apply', 'reduce']) {
      const w = performance.now()
      const c = cpu()
      if (phase === 'reduce') a = reduceFlow(events)
      else {
        s = emptyFlowState()
        for (let i = 0; i < events.length; i++) s = applyEvent(s, events[i]!)
      }
      const key = phase as 'reduce' | 'apply'
      used[key] += cpu() - c
      wall[key] += performance.now() - w
    }
    sink += a.logs.length + s.logs.length + (a.status === s.status ? 1 : 0)
  }
  return { wall, cpu: used }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

// both folds must give the same state (checked once, untimed)
for (const text of texts) {
  const events = JSON.parse(text) as EventRecord[]
  const folded = events.reduce(applyEvent, emptyFlowState())
  if (JSON.stringify(reduceFlow(events)) !== JSON.stringify(folded)) throw new Error('reduceFlow and the applyEvent fold disagree')
}

round() // warm-up
const rounds = Array.from({ length: ROUNDS }, round)
const total = RUNS * eventsPerRun
const figures = (pick: (r: { wall: Times; cpu: Times }) => Times) => {
  const parse = median(rounds.map((r) => pick(r).parse))
  const reduce = median(rounds.map((r) => pick(r).reduce))
  const apply = median(rounds.map((r) => pick(r).apply))
  const perSec = (ms: number) => Math.round((total / ms) * 1000)
  return {
    eventsPerSecond: { jsonParse: perSec(parse), reduceFlow: perSec(reduce), applyEventFold: perSec(apply) },
    msPerRound: { jsonParse: Math.round(parse), reduceFlow: Math.round(reduce), applyEventFold: Math.round(apply) },
    ratioToJsonParse: { reduceFlow: Number((reduce / parse).toFixed(3)), applyEventFold: Number((apply / parse).toFixed(3)) },
  }
}
const byCpu = figures((r) => r.cpu)
const byWall = figures((r) => r.wall)

console.log(
  JSON.stringify(
    {
      runs: RUNS,
      eventsPerRun,
      avgEventBytes: Math.round(bytes / eventsPerRun),
      rounds: ROUNDS,
      node: process.version,
      cpuTime: byCpu,
      wallTime: byWall,
      targets: { reduceFlow: 0.5, applyEventFold: 1 },
      met: {
        reduceFlow: byCpu.ratioToJsonParse.reduceFlow <= 0.5 && byWall.ratioToJsonParse.reduceFlow <= 0.5,
        applyEventFold: byCpu.ratioToJsonParse.applyEventFold <= 1 && byWall.ratioToJsonParse.applyEventFold <= 1,
      },
      sink: sink > 0,
    },
    null,
    2,
  ),
)
