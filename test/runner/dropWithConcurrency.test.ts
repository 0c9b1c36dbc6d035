// A `drop` rate limit refuses the excess of its window, nothing else (design/flow-control.md): a
// start that only a full concurrency limit holds back waits in line (`queued`, reason
// concurrency), and only a full rate window refuses (RATE_LIMITED with a real retry time). Before,
// `drop` refused every start a busy concurrency limit held back, "retry in 0 ms", naming the
// concurrency key as the rate limit's (found by a flow-control probe). The store decides it in one
// step (`onBusy: 'refuseRate'`), and the waiting start is in its concurrency limit's line, which
// the slot's release admits from. On the memory store and on a real redis-server.
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

/** Both limits keyed by tenant: the waiting start must stand in the concurrency line, not the rate one. */
const keyed = defineFlow({
  name: 'keyed',
  concurrency: { limit: 1, key: (input: { tenant: string; id: string }) => input.tenant },
  rateLimit: { limit: 5, period: '1m', mode: 'drop', key: (input: { tenant: string; id: string }) => input.tenant },
  steps: {
    a: {
      handler: async (input: { tenant: string; id: string }) => {
        await new Promise<void>((resolve) => gates.set(input.id, resolve))
        return input.id
      },
    },
  },
})

describeOnStores({ flows: [mixed, keyed], prefix: 'dropconc' }, (runner, store) => {
  it('with both limits keyed, the waiting start is in the concurrency line: the first run’s end admits it', async () => {
    const t = `t${Math.random().toString(36).slice(2, 8)}`
    const first = await runner().startFlow(keyed, { tenant: t, id: `${t}-1` })
    await waitFor(() => gates.has(`${t}-1`), 'the first run runs')
    const second = await runner().startFlow(keyed, { tenant: t, id: `${t}-2` })
    expect(reduceFlow(await store().read(second.runId)).status).toBe('queued')
    const mine = (await runner().limits(keyed)).limits.filter((l) => l.key === t)
    // the waiting start counts in the rate window already: a drop rate limit counts the starts it lets in
    expect(mine.map((l) => [l.kind, l.active, l.queued]).sort()).toEqual([
      ['concurrency', 1, 1],
      ['rateLimit', 2, 0],
    ])
    gates.get(`${t}-1`)?.()
    await runner().result(first.runId, { timeout: '10s' })
    await waitFor(() => gates.has(`${t}-2`), 'the second run is admitted')
    gates.get(`${t}-2`)?.()
    expect(await runner().result(second.runId, { timeout: '10s' })).toEqual({ a: `${t}-2` })
  })

  it('a start a full concurrency limit holds back waits; only the full rate window refuses', async () => {
    // ids of this store block's own: the gates outlive a block
    const u = Math.random().toString(36).slice(2, 8)
    const first = await runner().startFlow(mixed, { tenant: 'acme', id: `one-${u}` })
    await waitFor(() => gates.has(`one-${u}`), 'the first run runs')
    // concurrency 1 of acme is full, the rate window has room (1 of 2): the second waits in line
    const second = await runner().startFlow(mixed, { tenant: 'acme', id: `two-${u}` })
    const waiting = reduceFlow(await store().read(second.runId))
    expect(waiting.status).toBe('queued')
    expect(waiting.queued?.reason).toBe('concurrency')
    // two starts let in (one running, one waiting) fill the window of 2: a third is refused at once,
    // not queued behind the concurrency limit (that made drop mode a queue)
    const third = await runner()
      .startFlow(mixed, { tenant: 'acme', id: `three-${u}` })
      .then(
        () => undefined,
        (err: unknown) => err,
      )
    expect(isLeanflowError(third, 'RATE_LIMITED'), String(third)).toBe(true)
    gates.get(`one-${u}`)?.()
    expect(await runner().result(first.runId, { timeout: '10s' })).toEqual({ a: `one-${u}` })
    await waitFor(() => gates.has(`two-${u}`), 'the second run is admitted')
    // still two in the minute: a start is refused, another tenant's too (the rate limit has no key)
    for (const tenant of ['acme', 'other']) {
      const refused = await runner()
        .startFlow(mixed, { tenant, id: `three-${tenant}-${u}` })
        .then(
          () => undefined,
          (err: unknown) => err,
        )
      expect(isLeanflowError(refused, 'RATE_LIMITED'), String(refused)).toBe(true)
      expect((refused as RateLimitedError).retryAfterMs).toBeGreaterThan(30_000)
      expect((refused as RateLimitedError).message).not.toContain(tenant)
    }
    gates.get(`two-${u}`)?.()
    expect(await runner().result(second.runId, { timeout: '10s' })).toEqual({ a: `two-${u}` })
  })
})
