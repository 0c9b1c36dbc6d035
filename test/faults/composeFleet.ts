/**
 * The fleet and readers of the composition fault tests (`composition.test.ts`, `compositionCancel.test.ts`):
 * one real redis-server per file, worker processes `test/workers/composeWorker.ts` on BullMQ, a
 * producer runner this process never starts.
 */
import type { EventRecord } from '@leanflow/core'
import type { RedisStreamStore } from '@leanflow/redis'
import type { Runner } from '@leanflow/runner'
import { Queue } from 'bullmq'
import { expect } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'
import { composeFlows } from '../workers/composeFlows.js'
import type { ForkedWorker } from '../workers/forkWorker.js'
import { useWorkerFleet } from '../workers/workerFleet.js'

/** A redis-server for the file and `setup()`: a fresh prefix and queue, a producer runner (never started), BullMQ's view of the queue and a way to fork workers on them. */
export function useComposeFleet() {
  const redis = useRedisServer({ args: ['--hz', '100'], client: true })
  const fleet = useWorkerFleet({
    redis,
    prefix: 'cmp',
    worker: 'composeWorker.ts',
    flows: (_id, store) => composeFlows(redis.client, store),
    env: { QUIET: '1' },
  })
  const setup = () => {
    const f = fleet.setup()
    const jobs = new Queue(f.id, { connection: { url: redis.url }, prefix: 'lfq' })
    f.onClose(() => jobs.close())
    return { ...f, jobs }
  }
  return { redis, setup }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export type ComposeSetup = ReturnType<ReturnType<typeof useComposeFleet>['setup']>

export const logOf = (store: RedisStreamStore, runId: string) => store.read(runId, { limit: 100_000 })
export const positionOf = (e: EventRecord) => (e.data as { position: number }).position
/** The call positions of a run's events of `kind`, in log order. */
export const positions = (log: EventRecord[], kind: string) => log.filter((e) => e.kind === kind).map(positionOf)
/** Every run of `flow` (the run index). */
export const runsOf = (store: RedisStreamStore, flow: string) => store.listRuns(flow, { limit: 10_000 })
/** The run's parent, from its `flow.started`. */
export const parentOf = async (store: RedisStreamStore, runId: string) => {
  const [first] = await store.read(runId, { limit: 1 })
  return (first?.data as { parent?: { runId: string; step: string } } | undefined)?.parent
}
export const lastOf = async (store: RedisStreamStore, runId: string) => (await store.read(runId, { direction: 'backward', limit: 1 }))[0]
/** The checkpoint of a worker that killed itself at its kill point (`KILL`), once it is gone by SIGKILL. */
export async function killed(doomed: ForkedWorker, what: string, match: (m: Record<string, unknown>) => boolean = () => true) {
  const cut = await doomed.waitFor((m) => m.type === 'checkpoint' && match(m), what)
  expect((await doomed.exited).signal).toBe('SIGKILL')
  return cut
}
export const range = (k: number) => Array.from({ length: k }, (_, i) => i)

/**
 * The results of `runIds` (each awaited up to `timeoutMs`); when some did not end, throws naming
 * each such run, its last event and the awaits it still waits on with their children's logs.
 */
export async function resultsOf(producer: Runner, store: RedisStreamStore, runIds: string[], timeoutMs: number): Promise<unknown[]> {
  const settled = await Promise.allSettled(runIds.map((r) => producer.result(r, { timeout: timeoutMs })))
  const stuck: string[] = []
  for (const [i, r] of settled.entries()) {
    if (r.status === 'fulfilled') continue
    const runId = runIds[i] as string
    const log = await logOf(store, runId)
    const resumed = new Set(positions(log, 'step.resumed'))
    const open = log.filter((e) => e.kind === 'step.await.run' && !resumed.has(positionOf(e)))
    const kids = await Promise.all(
      open.map(async (e) => {
        const child = (e.data as { childRunId: string }).childRunId
        return `position ${positionOf(e)}: child ${child} [${(await logOf(store, child)).map((c) => c.kind).join(', ') || 'no run'}]`
      }),
    )
    stuck.push(`${runId} (${String(r.reason)}; last ${log.at(-1)?.kind}; no step.resumed at ${kids.join('; ') || 'none'})`)
  }
  if (stuck.length > 0) throw new Error(`${stuck.length} of ${runIds.length} runs did not end: ${stuck.slice(0, 5).join(' | ')}`)
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value)
}

/** The awaited positions of a run's log that have no `step.resumed`, and those with more than one. */
export function resumeGaps(log: EventRecord[]): { missing: number[]; repeated: number[] } {
  const count = new Map<number, number>()
  for (const p of positions(log, 'step.resumed')) count.set(p, (count.get(p) ?? 0) + 1)
  const awaited = positions(log, 'step.await.run')
  return { missing: awaited.filter((p) => !count.has(p)), repeated: [...count].filter(([, c]) => c > 1).map(([p]) => p) }
}
