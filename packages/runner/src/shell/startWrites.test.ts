import type { JobQueue, JobSpec } from '@leanflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import type { JobOut } from '../machine/commands.js'
import { createMemoryQueue } from '../memoryQueue.js'
import type { Shell } from './shell.js'
import { FIRST_WRITE_GRACE_MS, StartWrites, writeRun } from './startWrites.js'

const queues: JobQueue[] = []
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close()
})

/** What `writeRun` uses of a shell, over a real memory queue whose enqueues are counted by id; the store's clock at `now`. */
function shellAt(now: number) {
  const queue = createMemoryQueue()
  queues.push(queue)
  const enqueued: string[] = []
  const counting: JobQueue = {
    ...queue,
    enqueue: (job: JobSpec) => {
      enqueued.push(job.id)
      return queue.enqueue({ ...job, delayMs: 60_000 }) // held: no worker takes it here
    },
    remove: (id) => queue.remove(id),
  }
  const shell = { queue: counting, starts: new StartWrites(), clock: { estimate: () => now }, onError: () => {} } as unknown as Shell
  return { shell, enqueued }
}

const firstJob = (first: number): JobOut => ({ op: 'add', name: 'step', id: 's~child~a~1', data: { runId: 'child', step: 'a', first } })

describe('writeRun', () => {
  it('queues the first jobs before the write, once when the write lands on time', async () => {
    const now = 1_000_000
    const { shell, enqueued } = shellAt(now)
    await writeRun(shell, 'child', [firstJob(now)], now - 50, async () => 'written')
    expect(enqueued).toEqual(['s~child~a~1'])
  })

  it('a child started again long after its await was recorded (its first start died after queueing the jobs): queues them again after the write', async () => {
    // the first start's copy, still queued, kept its own time: its delivery may give up before this write lands
    const now = 1_000_000
    const { shell, enqueued } = shellAt(now)
    await writeRun(shell, 'child', [firstJob(now)], now - FIRST_WRITE_GRACE_MS, async () => 'written')
    expect(enqueued).toEqual(['s~child~a~1', 's~child~a~1'])
  })

  it('a write that lands late after its own jobs (no earlier start): queues them again', async () => {
    let now = 1_000_000
    const { shell, enqueued } = shellAt(0)
    ;(shell as { clock: { estimate: () => number } }).clock = { estimate: () => now }
    await writeRun(shell, 'run', [firstJob(now)], undefined, async () => {
      now += FIRST_WRITE_GRACE_MS
      return 'written'
    })
    expect(enqueued).toEqual(['s~child~a~1', 's~child~a~1'])
  })
})
