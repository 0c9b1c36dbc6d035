// Bad arguments to the runner's public calls get a typed INVALID_ARGUMENT that names the call and
// what to pass, never a raw TypeError from inside ("Bad input gets a clear, typed error"): options
// that are null or no object (startFlow, runner.result, publishEvent), a cancel reason that is no
// string, and flows that are no array
// (createRunner), timer options past 24.8 days (createRunner, createHandler). Nothing is started or
// published.
import { isLeanflowError } from '@leanflow/core'
import { createHandler } from '@leanflow/http'
import { createRedisStreamStore } from '@leanflow/redis'
import { createRunner, defineFlow, type Runner } from '@leanflow/runner'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { useRedisServer } from '../helpers/redisServer.js'

const order = defineFlow({ name: 'order', steps: { charge: { handler: async () => 1 } } })
const redis = useRedisServer()
let store: ReturnType<typeof createRedisStreamStore>
let runner: Runner
beforeAll(() => {
  store = createRedisStreamStore({ url: redis.url, prefix: 'badargs' })
  runner = createRunner({ store, flows: [order], onError: () => {} })
})
afterAll(async () => {
  await store.close()
})

async function invalid(call: () => unknown): Promise<string> {
  const err = await (async () => call())().then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(isLeanflowError(err, 'INVALID_ARGUMENT'), String(err)).toBe(true)
  return (err as Error).message
}

it('startFlow, result and publishEvent refuse options that are null or no object', async () => {
  expect(await invalid(() => runner.startFlow('order', {}, null as never))).toMatch(/^startFlow options must be an object .*got null/)
  expect(await invalid(() => runner.startFlow('order', {}, 'fast' as never))).toMatch(/got string/)
  const { runId } = await runner.startFlow('order', {})
  expect(await invalid(() => runner.result(runId, null as never))).toMatch(/^result options must be an object \{ timeout\? \}/)
  expect(await invalid(() => runner.publishEvent({ kind: 'paid', data: 1 }, null as never))).toMatch(
    /^publishEvent options must be an object/,
  )
  expect((await store.listRuns('order')).map((r) => r.runId)).toEqual([runId])
  expect(await store.readExternal('paid', 0)).toEqual([])
})

it('startFlow refuses a misspelt option, nothing started (`idempotency` for idempotencyKey started a run at every call)', async () => {
  const before = (await store.listRuns('order')).length
  expect(await invalid(() => runner.startFlow('order', {}, { idempotency: 'k1' } as never))).toBe(
    'startFlow has an unknown option "idempotency": pass only runId, idempotencyKey, priority, version, traceparent.',
  )
  expect((await store.listRuns('order')).length).toBe(before)
})

it('cancel refuses a reason that is no string (cancel(id, { reason }) was recorded as "[object Object]"); the run goes on', async () => {
  const slow = defineFlow({ name: 'slowcancel', steps: { wait: { handler: async (_i, ctx) => ctx.await.time('1h') } } })
  const r = createRunner({ store, flows: [slow], onError: () => {} })
  const { runId } = await r.startFlow('slowcancel', {})
  expect(await invalid(() => r.cancel(runId, { reason: 'customer asked' } as never))).toMatch(
    /^Invalid cancel reason \{"reason":"customer asked"\}: pass a string, runner\.cancel\(runId, 'why'\)/,
  )
  expect(await invalid(() => r.cancel(runId, null as never))).toMatch(/^Invalid cancel reason null/)
  expect((await store.read(runId)).map((e) => e.kind)).toEqual(['flow.started'])
  await r.cancel(runId, 'customer asked')
  expect((await store.read(runId)).at(-1)).toMatchObject({ kind: 'flow.canceled', data: { reason: 'customer asked' } })
})

it('createRunner refuses flows that are no array, naming the fix', async () => {
  expect(await invalid(() => createRunner({ store, flows: order as never }))).toMatch(/flows must be an array/)
})

it('a flow object defineFlow did not make is checked as defineFlow checks one: a cycle, an unknown need or a bad step name is refused at createRunner (its runs waited for ever); a valid one runs', async () => {
  const handler = async () => 1
  const hand = (steps: object) => ({ name: 'hand', version: 1, steps }) as never
  expect(
    await invalid(() => createRunner({ store, flows: [hand({ a: { needs: ['b'], handler }, b: { needs: ['a'], handler } })] })),
  ).toMatch(/^Flow "hand" has a cycle: a -> b -> a/)
  expect(await invalid(() => createRunner({ store, flows: [hand({ a: { needs: ['zz'], handler } })] }))).toMatch(
    /needs "zz", which is not a step/,
  )
  expect(() => createRunner({ store, flows: [hand({ 'x y': { handler } })] })).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }))
  expect(await invalid(() => createRunner({ store, flows: [hand({ a: {} })] }))).toMatch(/needs a handler function/)
  // a copy of a defined flow, and a valid hand-made one, run
  const copy = createRunner({
    store,
    flows: [{ ...order, name: 'copied' }, hand({ a: { handler }, b: { needs: ['a'], handler } })],
    onError: () => {},
  })
  await copy.start()
  try {
    for (const name of ['copied', 'hand']) {
      const { runId } = await copy.startFlow(name, {})
      await expect(copy.result(runId, { timeout: '10s' })).resolves.toBeDefined()
    }
  } finally {
    await copy.stop()
  }
})

it('createRunner refuses a flow that is no defineFlow result (a raw TypeError), an onError or clock that is no function (an uncaught TypeError at the first error), and a queue that is no JobQueue', async () => {
  expect(await invalid(() => createRunner({ store, flows: [order, { name: 'x' } as never] }))).toMatch(
    /^createRunner flows\[1\] is not a flow \{"name":"x"\}: pass defineFlow\(\{ name, steps \}\)/,
  )
  expect(await invalid(() => createRunner({ store, flows: [null as never] }))).toMatch(/^createRunner flows\[0\] is not a flow null/)
  expect(await invalid(() => createRunner({ store, flows: [order], onError: 'log' as never }))).toMatch(
    /^Invalid createRunner onError "log": pass a function/,
  )
  expect(await invalid(() => createRunner({ store, flows: [order], clock: 5 as never }))).toMatch(
    /^Invalid createRunner clock 5: pass a function/,
  )
  // a queue that is no JobQueue was a raw TypeError at start() or at the first startFlow
  for (const queue of [{}, 5, { enqueue: async () => {} }])
    expect(await invalid(() => createRunner({ store, flows: [order], queue: queue as never }))).toMatch(
      /^createRunner queue must be a JobQueue \(enqueue, remove, process, close\): pass createMemoryQueue\(\) or createBullMQQueue\(\), or leave it out\.$/,
    )
  const errors: unknown[] = []
  createRunner({ store, flows: [order], onError: (e) => errors.push(e), clock: () => Date.now() })
})

it('timer options past what one timer holds (24.8 days) are refused: Node would fire them every millisecond', async () => {
  const ms = 3_000_000_000
  for (const name of ['cancelPollMs', 'drainTimeoutMs', 'slotLeaseMs'] as const) {
    expect(await invalid(() => createRunner({ store, flows: [order], [name]: ms }))).toMatch(
      new RegExp(`^Invalid ${name} ${ms}: pass a whole number of ms from ${name === 'slotLeaseMs' ? 1000 : 1} to 2147483647`),
    )
  }
  expect(await invalid(() => createHandler({ store, heartbeatMs: ms }))).toMatch(/^Invalid createHandler heartbeatMs 3000000000/)
  createRunner({ store, flows: [order], cancelPollMs: 2 ** 31 - 1 })
  // a slot lease renewed every third of it must outlast its renewal's round trip
  // one range in every refusal, 0 and 1 included (0 said "above 0", 1 "from 1000")
  for (const ms of [0, 1, 5, 999])
    expect(await invalid(() => createRunner({ store, flows: [order], slotLeaseMs: ms }))).toMatch(
      new RegExp(`^Invalid slotLeaseMs ${ms}: pass a whole number of ms from 1000 to 2147483647`),
    )
  createRunner({ store, flows: [order], slotLeaseMs: 1000 })
})

it('a function in a start input, an event or a trigger payload is refused with a fix that fits it (match predicates only for await.event)', async () => {
  for (const call of [
    () => runner.startFlow('order', { onDone: () => 1 }),
    () => runner.publishEvent({ kind: 'paid', data: { f: () => 1 } }),
    () => runner.resolveTrigger('t1', { f: () => 1 }),
  ]) {
    const msg = await invalid(call)
    expect(msg).toMatch(/contains a function at (onDone|f): it is stored as JSON, so pass plain data/)
    expect(msg).not.toMatch(/match/)
  }
  expect((await store.listRuns('order')).length).toBe(1)
})

it('a function or a BigInt deep in an input or event data is named by its path, nothing stored', async () => {
  const before = (await store.listRuns('order')).length
  expect(await invalid(() => runner.startFlow('order', { deep: { list: [1, 2, { onDone: () => 1 }] } }))).toMatch(
    /^flow input contains a function at deep\.list\[2\]\.onDone: it is stored as JSON/,
  )
  expect(await invalid(() => runner.startFlow('order', { deep: { list: [1, 2, { amount: 10n }] } }))).toMatch(
    /^flow input is not JSON-serializable \(.*BigInt.*\); a BigInt at deep\.list\[2\]\.amount \(pass it as a string or a number\): pass plain data\.$/,
  )
  expect(await invalid(() => runner.publishEvent({ kind: 'paid', data: { 'order id': 10n } }))).toMatch(/a BigInt at \["order id"\]/)
  expect(await store.readExternal('paid', 0)).toHaveLength(0)
  expect((await store.listRuns('order')).length).toBe(before)
})

it('startFlow, publishEvent and rerun refuse an idempotency key over 512 characters (or empty, no string, or with a lone surrogate), nothing stored', async () => {
  const before = (await store.listRuns('order')).length
  // a lone surrogate: a store keeping keys as UTF-8 would make 'order-\uD800' and 'order-\uD801' one key (two starts, one run)
  for (const key of ['k'.repeat(513), 'k'.repeat(100_000), '', 42, 'order-\uD800', 'order-\uDC01']) {
    expect(await invalid(() => runner.startFlow('order', {}, { idempotencyKey: key as string }))).toMatch(
      /^startFlow idempotencyKey must be a non-empty string of at most 512 characters/,
    )
    expect(await invalid(() => runner.publishEvent({ kind: 'paid', data: 1 }, { idempotencyKey: key as string }))).toMatch(
      /^publishEvent idempotencyKey must be a non-empty string of at most 512 characters/,
    )
  }
  expect(await invalid(() => runner.rerun('nobody', { idempotencyKey: 'r-\uD800' }))).toMatch(/^Invalid rerun idempotencyKey "r-\\ud800"/)
  expect((await store.listRuns('order')).length).toBe(before)
  // 512 is fine
  const { runId } = await runner.startFlow('order', {}, { idempotencyKey: 'k'.repeat(512) })
  expect((await runner.startFlow('order', {}, { idempotencyKey: 'k'.repeat(512) })).runId).toBe(runId)
})

it('a version, a rerun from or a rerun key that is a bigint or NaN is refused as INVALID_ARGUMENT naming the value (no raw TypeError, no "null"), nothing started', async () => {
  const flow = (version: unknown) =>
    defineFlow({ name: 'order', version: version as number, steps: { charge: { handler: async () => 1 } } })
  expect(await invalid(() => flow(2n))).toMatch(/version 2n\b/)
  expect(await invalid(() => flow(Number.NaN))).toMatch(/version NaN\b/)
  expect(await invalid(() => flow(Number.POSITIVE_INFINITY))).toMatch(/version Infinity\b/)
  const { runId } = await runner.startFlow('order', {})
  const before = (await store.listRuns('order')).length
  expect(await invalid(() => runner.startFlow('order', {}, { version: 2n as never }))).toMatch(/^Invalid startFlow version 2n: pass/)
  expect(await invalid(() => runner.startFlow('order', {}, { version: Number.NaN }))).toMatch(/^Invalid startFlow version NaN: pass/)
  expect(await invalid(() => runner.rerun(runId, { from: 2n as never }))).toMatch(/^Invalid rerun from 2n: pass a step name/)
  expect(await invalid(() => runner.rerun(runId, { from: Number.NaN as never }))).toMatch(/^Invalid rerun from NaN: pass a step name/)
  expect(await invalid(() => runner.rerun(runId, { idempotencyKey: 2n as never }))).toMatch(
    /^Invalid rerun idempotencyKey 2n: pass a string/,
  )
  expect(await invalid(() => runner.rerun(runId, { idempotencyKey: Number.NaN as never }))).toMatch(/^Invalid rerun idempotencyKey NaN/)
  expect((await store.listRuns('order')).length).toBe(before)
  // inside a step: ctx.patched(2n) fails the step with the typed error, not "Do not know how to serialize a BigInt"
  const patchy = defineFlow({
    name: 'patchy',
    steps: { only: { retry: { attempts: 1 }, handler: async (_i, ctx) => ctx.patched(2n as never) } },
  })
  const r = createRunner({ store, flows: [patchy], onError: () => {} })
  await r.start()
  try {
    const { runId: failed } = await r.startFlow('patchy', {})
    await expect(r.result(failed)).rejects.toThrow(/Invalid ctx\.patched id 2n: pass a string/)
  } finally {
    await r.stop()
  }
})

it('ctx.do refuses a name that is ctx.patched\'s or ctx.publish\'s record name ("patched:<id>", "publish:<kind>")', async () => {
  // such a ctx.do shares the record of ctx.patched('x') or ctx.publish('x'): code changed from one to
  // the other would replay the old record without the non-determinism error
  const clash = defineFlow({
    name: 'doclash',
    steps: { a: { retry: { attempts: 1 }, handler: async (input: { name: string }, ctx) => ctx.do(input.name, async () => 1) } },
  })
  const r = createRunner({ store, flows: [clash], onError: () => {} })
  await r.start()
  try {
    const outcome = async (name: string) => {
      const { runId } = await r.startFlow('doclash', { name })
      return r.result(runId).then(
        (v) => v,
        (e: Error) => e.message,
      )
    }
    expect(await outcome('patched:fraud-check')).toMatch(
      /Invalid ctx\.do name "patched:fraud-check": pass a name not starting with "patched:" or "publish:"/,
    )
    expect(await outcome('publish:order.paid')).toMatch(/Invalid ctx\.do name "publish:order\.paid"/)
    // a name merely like them is the user's
    expect(await outcome('published:ok')).toEqual({ a: 1 })
  } finally {
    await r.stop()
  }
})

it('ctx.do with an fn that is no function is INVALID_ARGUMENT naming the call (a raw TypeError "fn is not a function" before)', async () => {
  const notFn = defineFlow({
    name: 'donotfn',
    steps: { a: { retry: { attempts: 1 }, handler: async (_i, ctx) => ctx.do('charge', 5 as never) } },
  })
  const r = createRunner({ store, flows: [notFn], onError: () => {} })
  await r.start()
  try {
    const { runId } = await r.startFlow(notFn, {})
    const err = await r.result(runId, { timeout: '10s' }).catch((e: Error) => e.message)
    expect(err).toMatch(/Invalid ctx\.do\("charge"\) fn 5: pass a function running the effect/)
  } finally {
    await r.stop()
  }
})

it('startFlow and ctx.invoke with a name no flow can have are INVALID_NAME (as over HTTP), not FLOW_NOT_FOUND', async () => {
  for (const name of ['a:b', 5, 'runs']) await expect(runner.startFlow(name as never, {})).rejects.toMatchObject({ code: 'INVALID_NAME' })
  await expect(runner.startFlow('nosuch', {})).rejects.toMatchObject({ code: 'FLOW_NOT_FOUND' })
  const caller = defineFlow({
    name: 'badinvoke',
    steps: { a: { retry: { attempts: 1 }, handler: async (_i, ctx) => ctx.invoke('a:b', {}).catch((e: { code: string }) => e.code) } },
  })
  const r = createRunner({ store, flows: [caller], onError: () => {} })
  await r.start()
  try {
    const { runId } = await r.startFlow(caller, {})
    expect(await r.result(runId, { timeout: '10s' })).toEqual({ a: 'INVALID_NAME' })
  } finally {
    await r.stop()
  }
})

it('ctx.invoke, ctx.await.event, ctx.await.trigger and runner.result refuse a misspelt option, naming it (`tiemout` meant no timeout); ctx.await.event and ctx.publish a built-in kind', async () => {
  const typo = { tiemout: '5s' } as never
  const calls = defineFlow({
    name: 'typos',
    steps: {
      a: {
        retry: { attempts: 1 },
        handler: async (input: { call: string }, ctx) => {
          if (input.call === 'invoke') return ctx.invoke('order', {}, typo)
          if (input.call === 'event') return ctx.await.event({ kind: 'paid', ...(typo as object) })
          if (input.call === 'trigger') return ctx.await.trigger({ type: 'webhook', ...(typo as object) })
          if (input.call === 'path') return ctx.await.event({ kind: 'paid', match: { orderId: 'o-1' } })
          if (input.call === 'builtin') return ctx.await.event({ kind: 'flow.completed', match: { 'data.runId': 'r1' } })
          if (input.call === 'publish') return ctx.publish('flow.failed', { error: 'forged' })
          return ctx.invoke(42 as never, {})
        },
      },
    },
  })
  const r = createRunner({ store, flows: [calls, order], onError: () => {} })
  await r.start()
  try {
    const failure = async (call: string) => {
      const { runId } = await r.startFlow('typos', { call })
      return r.result(runId).then(
        () => 'completed',
        (e: Error) => e.message,
      )
    }
    expect(await failure('invoke')).toMatch(/ctx\.invoke has an unknown option "tiemout": pass only timeout\./)
    expect(await failure('event')).toMatch(/ctx\.await\.event has an unknown option "tiemout": pass only kind, match, timeout\./)
    expect(await failure('trigger')).toMatch(/ctx\.await\.trigger has an unknown option "tiemout": pass only type, payload, timeout\./)
    // a match path outside the event record's fields (orderId for data.orderId) would never match
    expect(await failure('path')).toMatch(
      /Invalid await\.event match path "orderId": pass a dotted path into the event record, whose fields are id, ts, kind and data \(`data\.orderId`\?\)/,
    )
    // a built-in kind is never published: an await of one would wait for good, a publish would forge it
    expect(await failure('builtin')).toMatch(
      /ctx\.await\.event: event kind "flow\.completed" is a built-in kind of a run's log .*; to wait for another run to end, use ctx\.invoke or runner\.result\./,
    )
    expect(await failure('publish')).toMatch(/ctx\.publish: event kind "flow\.failed" is a built-in kind of a run's log/)
    // a flow that is neither an object nor a name is named as given, not as "undefined"
    expect(await failure('number')).toMatch(/Invalid ctx\.invoke flow 42: pass a flow \(a defineFlow result\) or its name\./)
    const { runId } = await r.startFlow('order', {})
    expect(await invalid(() => r.result(runId, typo))).toBe('runner.result has an unknown option "tiemout": pass only timeout.')
  } finally {
    await r.stop()
  }
})

it('publishEvent and rerun refuse a misspelt option, publishEvent a built-in kind, nothing stored (a misspelt key published again, a misspelt from reran every step)', async () => {
  expect(await invalid(() => runner.publishEvent({ kind: 'paid', data: 1 }, { idempotency: 'p' } as never))).toBe(
    'publishEvent has an unknown option "idempotency": pass only idempotencyKey.',
  )
  expect(await store.readExternal('paid', 0)).toEqual([])
  // a misspelt data would publish null to every run awaiting the kind (POST /events refuses it too)
  expect(await invalid(() => runner.publishEvent({ kind: 'paid', dat: 1 } as never))).toBe(
    'publishEvent event has an unknown option "dat": pass only kind, data, id, ts.',
  )
  expect(await store.readExternal('paid', 0)).toEqual([])
  // the kind and data as two arguments, as ctx.publish takes them: the fix shows the object
  expect(await invalid(() => runner.publishEvent('paid' as never, { amount: 5 } as never))).toBe(
    'Invalid publishEvent event "paid": pass an object: runner.publishEvent({ kind: "paid", data }).',
  )
  // a built-in kind is a run's log's, never an external event (POST /events answers 400)
  for (const kind of ['flow.completed', 'step.started', 'log', 'state.set'])
    expect(await invalid(() => runner.publishEvent({ kind, data: {} }))).toBe(
      `publishEvent: event kind "${kind}" is a built-in kind of a run's log (flow.*, step.*, log, state.set), never an external event: use a kind of your own, e.g. "order.paid".`,
    )
  expect(await store.readExternal('flow.completed', 0)).toEqual([])
  // an external event passed on as it came (with its id and ts): published as a new one
  const forwarded = await runner.publishEvent({ id: '1-0', ts: new Date(0).toISOString(), kind: 'paid', data: 2 } as never)
  const [stored] = await store.readExternal('paid', 0)
  expect(stored?.data).toBe(2)
  expect(stored?.id).toBe(forwarded.id)
  const { runId } = await runner.startFlow('order', {})
  const before = (await store.listRuns('order')).length
  for (const typo of [{ form: 'a' }, { idempotency: 'k' }])
    expect(await invalid(() => runner.rerun(runId, typo as never))).toMatch(
      /^rerun has an unknown option "(form|idempotency)": pass only from, input, idempotencyKey, traceparent\.$/,
    )
  expect((await store.listRuns('order')).length).toBe(before)
})

it('an input, a schedule input or event data nested over 512 levels is refused before anything is stored (it would overflow every worker that copies it)', async () => {
  const nest = (levels: number) => {
    let v: unknown = 1
    for (let i = 0; i < levels; i++) v = [v]
    return v
  }
  const before = (await store.listRuns('order')).length
  const deep = nest(2000)
  expect(await invalid(() => runner.startFlow('order', deep))).toMatch(
    /nests arrays and objects more than 512 levels deep: pass flatter data/,
  )
  expect(await invalid(() => runner.publishEvent({ kind: 'paid', data: deep }))).toMatch(/more than 512 levels deep/)
  expect(await invalid(() => runner.schedules.set({ id: 'deep', flow: 'order', every: '1h', input: deep }))).toMatch(
    /more than 512 levels deep/,
  )
  expect(await runner.schedules.list()).toEqual([])
  expect((await store.listRuns('order')).length).toBe(before)
  expect(await invalid(() => runner.startFlow('order', nest(513)))).toMatch(/more than 512 levels deep/)
  // measured on the JSON stored: an object shared at two depths is there in full at the deeper one
  const shared = nest(300)
  let wrapped: unknown = shared
  for (let i = 0; i < 300; i++) wrapped = [wrapped]
  expect(await invalid(() => runner.startFlow('order', [wrapped, shared]))).toMatch(/more than 512 levels deep/)
  // 512 levels are fine (as in an HTTP body)
  const { runId } = await runner.startFlow('order', nest(512))
  expect((await store.read(runId))[0]?.kind).toBe('flow.started')
})

it("an in-code schedule over the store's 64 KiB is refused by defineFlow, before a runner's start stores the other flows' schedules", async () => {
  const big = { id: 'big', every: '1h', input: { blob: 'a'.repeat(70_000) } }
  let err: unknown
  try {
    defineFlow({ name: 'nightly', schedules: [big], steps: { a: { handler: async () => null } } })
  } catch (e) {
    err = e
  }
  expect(isLeanflowError(err, 'INVALID_ARGUMENT')).toBe(true)
  expect((err as Error).message).toMatch(/^Schedule "big" is \d+ bytes as JSON, over the 64512-byte limit .*keep large inputs elsewhere/)
  // a stored one, the same
  expect(await invalid(() => runner.schedules.set({ ...big, flow: 'order' }))).toMatch(/over the 64512-byte limit/)
  expect(await runner.schedules.list()).toEqual([])
  // just under it is stored
  const fits = { id: 'fits', flow: 'order', every: '1h', input: { blob: 'a'.repeat(60_000) } }
  await runner.schedules.set(fits)
  expect((await runner.schedules.list()).map((s) => s.id)).toEqual(['fits'])
  await runner.schedules.delete('fits')
})
