// runner.result without a timeout, on the memory queue of a runner never started: nothing in the
// process runs the run's jobs, so the wait would never end. After 2 s it is said through onError,
// naming the fix (a script that forgot runner.start() exited 13 with no word before); starting the
// runner then ends the wait as usual. A served queue is never warned about.
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
    expect(String((errors[0] as Error).message)).toMatch(/no worker takes the run's jobs.*Call runner\.start\(\)/)
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
