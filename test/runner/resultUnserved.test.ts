// runner.result without a timeout, on the memory queue of a runner never started: nothing in the
// process runs the run's jobs, so the wait would never end. After 2 s it is said through onError,
// naming the fix (a script that forgot runner.start() exited 13 with no word before); starting the
// runner then ends the wait as usual. A served queue is never warned about. A start on such a queue
// is said the same way (a script following the run's events hung, or exited 13), once per runner,
// unless a runner of the process starts within the 2 s.
import { createMemoryStreamStore, isLeanflowError } from '@leanflow/core'
import { createRunner, defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { waitFor } from '../helpers/waitFor.js'

const flow = defineFlow({ name: 'hello', steps: { a: { handler: async () => 'hi' } } })

it('a result no worker can give is said after a while through onError, and the wait still ends once the runner starts', async () => {
  const store = createMemoryStreamStore()
  const errors: unknown[] = []
  const runner = createRunner({ store, flows: [flow], onError: (e) => errors.push(e) })
  try {
    const { runId } = await runner.startFlow(flow, {})
    const result = runner.result(runId)
    await waitFor(() => errors.length > 0, 'the hint', 5000)
    expect(isLeanflowError(errors[0])).toBe(true)
    // the start's hint or the result's, one of them: they say the same
    expect(String((errors[0] as Error).message)).toMatch(/no worker takes (the run's|this runner's) jobs.*Call runner\.start\(\)/)
    await new Promise((r) => setTimeout(r, 500))
    await runner.start()
    expect(await result).toEqual({ a: 'hi' })
    expect(errors).toHaveLength(1)
  } finally {
    await runner.stop()
    await store.close()
  }
})

it('a started runner is not warned about, however long its run takes', async () => {
  const store = createMemoryStreamStore()
  const errors: unknown[] = []
  const slow = defineFlow({ name: 'slow', steps: { a: { handler: async () => new Promise((r) => setTimeout(() => r(1), 2500)) } } })
  const runner = createRunner({ store, flows: [slow], onError: (e) => errors.push(e) })
  await runner.start()
  try {
    const { runId } = await runner.startFlow(slow, {})
    expect(await runner.result(runId)).toEqual({ a: 1 })
    expect(errors).toEqual([])
  } finally {
    await runner.stop()
    await store.close()
  }
})

it('a start no worker of the process takes is said once after 2 s, naming the run and the fix; a runner started within them hears nothing', async () => {
  const store = createMemoryStreamStore()
  const errors: unknown[] = []
  const producer = createRunner({ store, flows: [flow], onError: (e) => errors.push(e) })
  try {
    const { runId } = await producer.startFlow(flow, {})
    await producer.startFlow('hello', {})
    await waitFor(() => errors.length > 0, 'the hint', 5000)
    expect(isLeanflowError(errors[0], 'INVALID_ARGUMENT')).toBe(true)
    expect((errors[0] as Error).message).toBe(
      `Run "${runId}" of flow "hello" waits: no worker takes this runner's jobs (it has the memory queue, and no runner of this process is started on it). Call runner.start(), or give producers and workers a queue they share (createBullMQQueue).`,
    )
    await producer.startFlow(flow, {})
    await new Promise((r) => setTimeout(r, 2500))
    expect(errors).toHaveLength(1)
  } finally {
    await producer.stop()
  }
  // jobs queued first, then the runner started: nothing to say
  const later = createRunner({ store, flows: [flow], onError: (e) => errors.splice(0, 0, e) })
  const before = errors.length
  try {
    const { runId } = await later.startFlow(flow, {})
    await new Promise((r) => setTimeout(r, 500))
    await later.start()
    expect(await later.result(runId)).toEqual({ a: 'hi' })
    await new Promise((r) => setTimeout(r, 2000))
    expect(errors).toHaveLength(before)
  } finally {
    await later.stop()
    await store.close()
  }
})
