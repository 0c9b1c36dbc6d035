// Draws docs/images/benchmarks.svg from bench/results/*.json (written by `pnpm bench`):
// one bar per target, the measured ratio against its target line, green when met.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
type Json = Record<string, any>
interface Metric {
  label: string
  file: string
  value: (r: Json) => number | undefined
  target: number
  /** 'max': lower is better (value ≤ target); 'min': higher is better (value ≥ target). */
  kind: 'max' | 'min'
}

const at = (r: Json, hz: number) => (Array.isArray(r.results) ? r.results.find((x: Json) => x.hz === hz) : undefined)
const metrics: Metric[] = [
  { label: 'reduceFlow ÷ JSON.parse', file: 'reduce', value: (r) => r.cpuTime?.ratioToJsonParse?.reduceFlow, target: 0.5, kind: 'max' },
  {
    label: 'applyEvent fold ÷ JSON.parse',
    file: 'reduce',
    value: (r) => r.cpuTime?.ratioToJsonParse?.applyEventFold,
    target: 1,
    kind: 'max',
  },
  { label: 'append, 1 run ÷ naive loop', file: 'append', value: (r) => r.ratios?.oneRunStoreVsNaive, target: 1.5, kind: 'min' },
  { label: 'append p50 ÷ PING p50', file: 'append', value: (r) => r.ratios?.oneRunStoreP50VsPing, target: 1.5, kind: 'max' },
  { label: 'append, 100 runs ÷ naive loop', file: 'append', value: (r) => r.ratios?.concurrentStoreVsNaiveLoop, target: 10, kind: 'min' },
  { label: 'append, 100 runs ÷ raw script', file: 'append', value: (r) => r.ratios?.concurrentStoreVsRawScript, target: 0.8, kind: 'min' },
  {
    label: 'append, 100 runs ÷ redis-benchmark XADD P64',
    file: 'append',
    value: (r) => r.ratios?.concurrentStoreVsRedisBenchmarkXadd,
    target: 0.5,
    kind: 'min',
  },
  { label: 'memory ÷ raw stream', file: 'append', value: (r) => r.ratios?.memoryVsRawStream, target: 1.25, kind: 'max' },
  { label: 'live p50 ÷ raw PUBLISH p50', file: 'follow', value: (r) => r.ratios?.liveP50StoreVsRawPublish, target: 1.5, kind: 'max' },
  { label: 'live p99 (ms)', file: 'follow', value: (r) => r.ratios?.liveP99StoreMs, target: 2, kind: 'max' },
  { label: 'backfill 10k ÷ raw XRANGE', file: 'follow', value: (r) => r.ratios?.backfillFollowVsRaw, target: 1.3, kind: 'max' },
  {
    label: 'step ÷ BullMQ chained step',
    file: 'runner',
    value: (r) => r.ratios?.stepOverheadVsBullmqChainedStep,
    target: 1.3,
    kind: 'max',
  },
  // issue 20 raised this target (the memory queue) from 0.5 to 1.5
  {
    label: '50 flows ÷ BullMQ chains (memory queue)',
    file: 'runner',
    value: (r) => r.ratios?.concurrentStepsPerSecVsBullmqChain,
    target: 1.5,
    kind: 'min',
  },
  // issue 20 raised this target from 0.5 to 1.0, at hz 10 and hz 100
  ...[10, 100].map(
    (hz): Metric => ({
      label: `BullMQ queue, 2 procs ÷ chains (hz ${hz})`,
      file: 'runner-bullmq',
      value: (r) => at(r, hz)?.ratios?.stepsPerSecVsBullmqChain,
      target: 1,
      kind: 'min',
    }),
  ),
  { label: 'SSE p99 ÷ raw PUBLISH p99 (1,000 subs)', file: 'sse', value: (r) => r.ratioP99, target: 2, kind: 'max' },
  { label: 'SSE unloaded p99 (ms)', file: 'sse', value: (r) => r.unloadedLatencyMs?.p99, target: 5, kind: 'max' },
  { label: 'SSE RSS per idle stream (KB)', file: 'sse', value: (r) => r.memoryPerIdleConnectionKB?.rss, target: 30, kind: 'max' },
  // schedules (issue 16): tick lateness p99 minus BullMQ's delayed-job p99 at the same hz
  ...[10, 100].map(
    (hz): Metric => ({
      label: `schedule tick p99 − BullMQ p99, hz ${hz} (ms)`,
      file: 'schedules',
      value: (r) => r.ratios?.[`p99MinusBullmqP99MsHz${hz}`],
      target: 5,
      kind: 'max',
    }),
  ),
  // flow control (issue 14)
  {
    label: 'never-binding limit ÷ none, per step (worst)',
    file: 'flowControl',
    value: (r) => r.ratios?.neverBindingLimitWorstPerStep,
    target: 1.25,
    kind: 'max',
  },
  {
    label: 'limit 1 per key ÷ unlimited, runs/s',
    file: 'flowControl',
    value: (r) => r.ratios?.limitedVsUnlimitedRunsPerSec,
    target: 0.5,
    kind: 'min',
  },
  {
    label: 'rate admission lateness p99, workers (ms)',
    file: 'flowControl',
    value: (r) => r.ratios?.rateLatenessP99MsWorkers,
    target: 20,
    kind: 'max',
  },
  {
    label: 'rate admission lateness p99, memory queue (ms)',
    file: 'flowControl',
    value: (r) => r.ratios?.rateLatenessP99MsMemoryQueue,
    target: 20,
    kind: 'max',
  },
  // composition (issue 15): the memory queue and BullMQ with 2 worker processes
  ...(['memory', 'bullmq'] as const).flatMap((q): Metric[] => [
    {
      label: `invoke round trip ÷ chained step (${q})`,
      file: 'composition',
      value: (r) => r.targets?.[q]?.roundTrip?.ratio,
      target: 3,
      kind: 'max',
    },
    {
      label: `fan-out of 1,000 ÷ startFlow (${q})`,
      file: 'composition',
      value: (r) => r.targets?.[q]?.fanOut?.ratio,
      target: 1.5,
      kind: 'max',
    },
  ]),
  // scale (issue 20): the listing's p99 at 100,000 retained runs ÷ at 1,000, the worst of its four pages
  {
    label: 'listRuns p99, 100k ÷ 1k retained runs',
    file: 'scale',
    value: (r) => Math.max(...Object.values((r.retained?.p99GrowthLargeVsSmall ?? {}) as Record<string, number>)),
    target: 2,
    kind: 'max',
  },
]

const rows = metrics.flatMap((m) => {
  const path = `${root}/bench/results/${m.file}.json`
  if (!existsSync(path)) return []
  const v = m.value(JSON.parse(readFileSync(path, 'utf8')))
  return typeof v === 'number' && Number.isFinite(v) ? [{ ...m, v }] : []
})
if (rows.length === 0) {
  console.error('[chart] no results in bench/results/: run `pnpm bench` first')
  process.exit(1)
}

// Each bar is drawn on a scale where the target sits at the same x for every row.
const W = 760
const labelW = 270
const barW = W - labelW - 90
const targetX = labelW + barW * 0.5
const rowH = 26
const H = 60 + rows.length * rowH + 30
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
const parts: string[] = []
parts.push(
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
)
parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`)
parts.push(`<text x="16" y="24" font-size="15" font-weight="600">leanflow benchmarks: measured ÷ target (the line is the target)</text>`)
parts.push(`<text x="16" y="42" fill="#666">ratios to baselines measured in the same run (pnpm bench); green: target met</text>`)
rows.forEach((r, i) => {
  const y = 56 + i * rowH
  const rel = r.v / r.target // 1 = exactly on target
  const len = Math.max(2, Math.min(barW, barW * 0.5 * rel))
  const met = r.kind === 'max' ? r.v <= r.target : r.v >= r.target
  parts.push(`<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(r.label)}</text>`)
  parts.push(`<rect x="${labelW}" y="${y + 4}" width="${len.toFixed(1)}" height="16" rx="3" fill="${met ? '#2f9e44' : '#e03131'}"/>`)
  const sign = r.kind === 'max' ? '≤' : '≥'
  parts.push(`<text x="${labelW + len + 6}" y="${y + 16}" fill="#333">${r.v} (${sign} ${r.target})</text>`)
})
parts.push(`<line x1="${targetX}" y1="50" x2="${targetX}" y2="${56 + rows.length * rowH}" stroke="#222" stroke-dasharray="4 3"/>`)
parts.push('</svg>')
writeFileSync(`${root}/docs/images/benchmarks.svg`, `${parts.join('\n')}\n`)
console.log(`[chart] docs/images/benchmarks.svg: ${rows.length} bars`)
