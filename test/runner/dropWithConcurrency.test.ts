// A `drop` rate limit refuses the excess of its window, nothing else (design/flow-control.md): a
// start that only a full concurrency limit holds back waits in line (`queued`, reason
// concurrency), and only a full rate window refuses (RATE_LIMITED with a real retry time). Before,
// `drop` refused every start a busy concurrency limit held back, "retry in 0 ms", naming the
// concurrency key as the rate limit's (found by a flow-control probe). On the memory store and
// on a real redis-server.
import { isLeanflowError, type RateLimitedError, reduceFlow } from '@leanflow/core'
import { defineFlow } from '@leanflow/runner'
import { expect, it } from 'vitest'
import { describeOnStores } from '../fixtures/runnerOnStores.js'
import { waitFor } from '../helpers/waitFor.js'

const gates = new Map<string, () => void>()
const mixed = defineFlow({
  name: 'mixed',
  concurrency: { limit: 1, key: (input: { tenant: string; id: string }) => input.tenant },
  rateLimit: { limit: 2, period: '1m', mode: 'drop' },
  steps: {
    a: {
      handler: async (input: { tenant: string; id: string }) => {
        await new Promise<void>((resolve) => gates.set(input.id, resolve))
        return input.id
      },
    },
  },
})

describeOnStores({ flows: [mixed], prefix: 'dropconc' }, (runner, store) => {
  it('a start a full concurrency limit holds back waits; only the full rate window refuses', async () => {
    const first = await runner().startFlow(mixed, { tenant: 'acme', id: 'one' })
    await waitFor(() => gates.has('one'), 'the first run runs')
    // concurrency 1 of acme is full, the rate window has room (1 of 2): the second waits in line
    const second = await runner().startFlow(mixed, { tenant: 'acme', id: 'two' })
    const waiting = reduceFlow(await store().read(second.runId))
    expect(waiting.status).toBe('queued')
    expect(waiting.queued?.reason).toBe('concurrency')
    gates.get('one')?.()
    expect(await runner().result(first.runId, { timeout: '10s' })).toEqual({ a: 'one' })
    await waitFor(() => gates.has('two'), 'the second run is admitted')
    // two admissions in the minute: the window is full, a third start is refused, another tenant's too
    for (const tenant of ['acme', 'other']) {
      const refused = await runner()
        .startFlow(mixed, { tenant, id: `three-${tenant}` })
        .then(
          () => undefined,
          (err: unknown) => err,
        )
      expect(isLeanflowError(refused, 'RATE_LIMITED'), String(refused)).toBe(true)
      expect((refused as RateLimitedError).retryAfterMs).toBeGreaterThan(30_000)
      expect((refused as RateLimitedError).message).not.toContain(tenant)
    }
    gates.get('two')?.()
    expect(await runner().result(second.runId, { timeout: '10s' })).toEqual({ a: 'two' })
  })
})
