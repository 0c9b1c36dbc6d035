import { describe, expect, it } from 'vitest'
import { createMemoryQueue } from './memoryQueue.js'

const until = async (ok: () => boolean, ms = 3000) => {
  const end = Date.now() + ms
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 5))
}

describe('createMemoryQueue with several consumers', () => {
  it('a job one consumer throws back goes to another consumer that is free, not back to the same one', async () => {
    // as a runner without a run's flow version does with its jobs (docs/versioning-and-reruns.md)
    const queue = createMemoryQueue({ redeliverDelayMs: 10, maxRedeliverDelayMs: 20 })
    const thrown: string[] = []
    const done: string[] = []
    const refuses = await queue.process(async (job) => {
      thrown.push(job.id)
      throw new Error('not mine')
    })
    const takes = await queue.process(async (job) => {
      done.push(job.id)
    })
    for (const id of ['j1', 'j2', 'j3']) await queue.enqueue({ id, name: 'step', data: {} })
    await until(() => done.length === 3)
    // the first free consumer gets each job first, as before; each comes back once to the other
    expect(thrown).toEqual(['j1', 'j2', 'j3'])
    expect(done.sort()).toEqual(['j1', 'j2', 'j3'])
    await refuses.close()
    await takes.close()
  })

  it("a handler error's redeliverAfterMs is the delay of the job's next delivery, instead of the backoff", async () => {
    const queue = createMemoryQueue({ redeliverDelayMs: 60_000, maxRedeliverDelayMs: 60_000 })
    const at: number[] = []
    const worker = await queue.process(async (job) => {
      at.push(Date.now())
      if (job.deliveries < 2) throw Object.assign(new Error('not yet'), { redeliverAfterMs: 30 })
    })
    await queue.enqueue({ id: 'j1', name: 'step', data: {} })
    await until(() => at.length === 3)
    expect(at).toHaveLength(3)
    for (let i = 1; i < at.length; i++) expect((at[i] as number) - (at[i - 1] as number)).toBeGreaterThanOrEqual(25)
    await worker.close()
  })

  it('an error whose redeliverAfterMs is no finite number ≥ 0 gets the backoff', async () => {
    const queue = createMemoryQueue({ redeliverDelayMs: 60_000, maxRedeliverDelayMs: 60_000 })
    let deliveries = 0
    const worker = await queue.process(async () => {
      deliveries++
      throw Object.assign(new Error('not yet'), { redeliverAfterMs: -1 })
    })
    await queue.enqueue({ id: 'j1', name: 'step', data: {} })
    await new Promise((r) => setTimeout(r, 200))
    expect(deliveries).toBe(1)
    await queue.remove('j1')
    await worker.close()
  })

  it('with no other consumer free, the one that threw it gets it again (after the backoff)', async () => {
    const queue = createMemoryQueue({ redeliverDelayMs: 10, maxRedeliverDelayMs: 20 })
    let deliveries = 0
    const worker = await queue.process(async (job) => {
      deliveries = job.deliveries + 1
      if (job.deliveries < 2) throw new Error('again')
    })
    await queue.enqueue({ id: 'j1', name: 'step', data: {} })
    await until(() => deliveries === 3)
    expect(deliveries).toBe(3)
    await worker.close()
  })
})
