import { createMemoryStreamStore, isLeanflowError } from '@leanflow/core'
import { describe, expect, it } from 'vitest'
import { defineFlow } from './defineFlow.js'
import { createMemoryQueue } from './memoryQueue.js'
import { normalizeRetry } from './retryPolicy.js'
import { createRunner } from './runner.js'

const store = createMemoryStreamStore()

/** The INVALID_ARGUMENT message of `fn`, or a failure when it does not throw one. */
function refusal(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(isLeanflowError(err, 'INVALID_ARGUMENT')).toBe(true)
    return (err as Error).message
  }
  throw new Error('expected INVALID_ARGUMENT')
}

describe('options that must be whole numbers above 0 are refused, naming the value and what to pass', () => {
  it.each([
    ['concurrency', 0],
    ['concurrency', 1.5],
    ['cancelPollMs', Number.NaN],
    ['cancelPollMs', -1],
    ['drainTimeoutMs', '30s'],
  ])('createRunner({ %s: %s })', (key, value) => {
    // a timer option is told its whole range (what one timer holds)
    const fix =
      key === 'concurrency' ? /: pass a whole number above 0\.$/ : /: pass a whole number of ms from 1 to 2147483647 \(24\.8 days\)\.$/
    expect(refusal(() => createRunner({ store, flows: [], [key]: value } as never))).toMatch(fix)
  })

  it.each([
    ['redeliverDelayMs', 0],
    ['maxRedeliverDelayMs', Number.POSITIVE_INFINITY],
  ])('createMemoryQueue({ %s: %s })', (key, value) => {
    expect(refusal(() => createMemoryQueue({ [key]: value } as never))).toContain(key)
  })

  it('createMemoryQueue refuses an onError that is no function (a failed delivery was an unhandled rejection and its job was lost)', () => {
    expect(refusal(() => createMemoryQueue({ onError: 'log' as never }))).toBe(
      'Invalid createMemoryQueue onError "log": pass a function (or leave it out).',
    )
  })

  it('the memory queue refuses a concurrency of 0 (it used to run 1 at a time)', async () => {
    const queue = createMemoryQueue()
    await expect(queue.process(async () => {}, { concurrency: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await queue.close()
  })

  it('a retry policy names the field', () => {
    expect(refusal(() => normalizeRetry({ attempts: 0 }))).toBe(
      'Invalid retry attempts 0: pass a whole number above 0 (all tries, the first included).',
    )
    expect(refusal(() => normalizeRetry({ jitter: 2 }))).toBe('Invalid retry jitter 2: pass a fraction between 0 and 1.')
    // in a definition, which step of which flow
    const step = { retry: { attempts: 0 }, handler: async () => 1 }
    expect(refusal(() => defineFlow({ name: 'order', steps: { charge: step } }))).toBe(
      'Step "charge" of flow "order": Invalid retry attempts 0: pass a whole number above 0 (all tries, the first included).',
    )
  })

  it('a flow name the runner does not hold is FLOW_NOT_FOUND listing the flows it holds (a typo shows)', async () => {
    const flow = (name: string) => defineFlow({ name, steps: { a: { handler: async () => 1 } } })
    const runner = createRunner({ store, flows: [flow('order'), flow('invoice')] })
    const err = await runner.startFlow('ordr', {}).catch((e: unknown) => e)
    expect(isLeanflowError(err, 'FLOW_NOT_FOUND')).toBe(true)
    expect((err as Error).message).toBe(
      'Flow "ordr" is not registered with this runner (it holds "invoice", "order"): check the name, or add it to createRunner({ flows }).',
    )
    await expect(runner.limits('ordr')).rejects.toThrow('(it holds "invoice", "order")')
    const many = createRunner({ store, flows: Array.from({ length: 25 }, (_, i) => flow(`f${String(i).padStart(2, '0')}`)) })
    await expect(many.startFlow('g', {})).rejects.toThrow(/it holds "f00", .*"f19" and 5 more\)/)
    await expect(createRunner({ store, flows: [] }).startFlow('order', {})).rejects.toThrow('(it holds no flow)')
  })

  it('a retry or backoff that is no object is refused at definition (retry: 10 ran with the default 3 attempts)', () => {
    const flow = (retry: unknown) => () => defineFlow({ name: 'f', steps: { s: { retry: retry as never, handler: async () => 1 } } })
    expect(refusal(flow(10))).toBe('Step "s" of flow "f": Invalid retry 10: pass a policy object, e.g. retry: { attempts: 5 }.')
    expect(refusal(flow(null))).toMatch(/^Step "s" of flow "f": Invalid retry null/)
    expect(refusal(flow([3]))).toMatch(/^Step "s" of flow "f": Invalid retry \[3\]/)
    expect(refusal(flow({ backoff: 'exponential' }))).toBe(
      'Step "s" of flow "f": Invalid retry backoff "exponential": pass an object, e.g. backoff: { type: \'exponential\', delayMs: 1000 }.',
    )
  })
})

describe('start() and stop() called at once', () => {
  it('run one after the other, in call order: concurrent starts make one worker, and stop/start/stop ends stopped', async () => {
    let active = 0
    let most = 0
    const slow = defineFlow({
      name: 'lifecycle',
      steps: {
        s: {
          handler: async () => {
            most = Math.max(most, ++active)
            await new Promise((r) => setTimeout(r, 20))
            active--
            return 1
          },
        },
      },
    })
    const runner = createRunner({ store: createMemoryStreamStore(), flows: [slow], concurrency: 1 })
    await Promise.all([runner.start(), runner.start(), runner.start()])
    const first = await Promise.all([1, 2, 3].map(() => runner.startFlow(slow, {})))
    for (const { runId } of first) await runner.result(runId, { timeout: '5s' })
    // three workers took one job each at once
    expect(most).toBe(1)
    await Promise.all([runner.stop(), runner.start(), runner.stop()])
    const { runId } = await runner.startFlow(slow, {})
    await expect(runner.result(runId, { timeout: 100 })).rejects.toMatchObject({ code: 'AWAIT_TIMEOUT' })
    // the last stop's queue close took the worker the start made meanwhile: a later start was a no-op, the run never ran
    await runner.start()
    await expect(runner.result(runId, { timeout: '5s' })).resolves.toEqual({ s: 1 })
    await runner.stop()
  })
})
