import { describe, expect, it } from 'vitest'
import { isLeanflowError } from './errors.js'
import { type BusEvent, EventBus } from './eventBus.js'
import { createFlowWiring } from './flowWiring.js'
import { createMemoryStreamStore } from './memoryStreamStore.js'

function setup(storeOpts: { maxEventBytes?: number } = {}) {
  const bus = new EventBus()
  const store = createMemoryStreamStore({ bus, ...storeOpts })
  const errors: Array<[unknown, BusEvent]> = []
  const wiring = createFlowWiring({ bus, store, onError: (err, e) => errors.push([err, e]) })
  return { bus, store, wiring, errors }
}

describe('createFlowWiring', () => {
  it('persists ingress events with a run id, in bus order, once each', async () => {
    const { bus, store, wiring, errors } = setup()
    wiring.start()
    wiring.start() // a second start is a no-op, not a second subscription
    for (let i = 0; i < 100; i++)
      bus.publish({ kind: 'tick', flow: 'run-1', step: i % 2 ? 'odd' : undefined, data: { i }, meta: { attempt: 1 } })
    await wiring.flush()
    const events = await store.read('run-1')
    expect(events.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(events[1]).toMatchObject({ kind: 'tick', flow: 'run-1', step: 'odd', meta: { attempt: 1 } })
    expect('step' in events[0]!).toBe(false)
    expect(errors).toEqual([])
    await wiring.stop()
  })

  it('does not store a built-in kind put on the bus without an id (a forged flow.completed): onError hears it', async () => {
    const { bus, store, wiring, errors } = setup()
    wiring.start()
    bus.publish({ kind: 'flow.completed', flow: 'run-9', data: { result: 'forged' } })
    bus.publish({ kind: 'chat.message', flow: 'run-9', data: 'hi' })
    await wiring.flush()
    expect((await store.read('run-9')).map((e) => e.kind)).toEqual(['chat.message'])
    expect(errors).toHaveLength(1)
    expect(isLeanflowError(errors[0]?.[0], 'INVALID_ARGUMENT')).toBe(true)
    expect(errors[0]?.[1].kind).toBe('flow.completed')
    await wiring.stop()
  })

  it('ignores events without a run id and records that already have an id', async () => {
    const { bus, store, wiring } = setup()
    wiring.start()
    bus.publish({ kind: 'global', data: 1 })
    bus.publish({ kind: 'stored', flow: 'run-2', id: '5-0', ts: new Date(5).toISOString(), data: 2 })
    await store.append('run-3', { kind: 'direct', flow: 'run-3', data: 3 }) // the store publishes it back with its id
    await wiring.flush()
    expect(await store.read('run-2')).toEqual([])
    expect((await store.read('run-3')).length).toBe(1)
    expect(await store.listFlows()).toEqual([])
    await wiring.stop()
  })

  it('sends persist errors to onError with the event', async () => {
    const { bus, store, wiring, errors } = setup({ maxEventBytes: 200 })
    wiring.start()
    bus.publish({ kind: 'big', flow: 'run-4', data: 'x'.repeat(500) })
    bus.publish({ kind: 'bad:kind', flow: 'run-4', data: 1 })
    bus.publish({ kind: 'ok', flow: 'run-4', data: 1 })
    await wiring.flush()
    expect(errors.map(([err, e]) => [isLeanflowError(err) ? err.code : String(err), e.kind])).toEqual([
      ['PAYLOAD_TOO_LARGE', 'big'],
      ['INVALID_NAME', 'bad:kind'],
    ])
    expect((await store.read('run-4')).map((e) => e.kind)).toEqual(['ok'])
    await wiring.stop()
  })

  it('stops persisting after stop(), which waits for appends under way', async () => {
    const { bus, store, wiring } = setup()
    wiring.start()
    bus.publish({ kind: 'a', flow: 'run-5', data: 1 })
    await wiring.stop()
    expect((await store.read('run-5')).length).toBe(1)
    bus.publish({ kind: 'b', flow: 'run-5', data: 2 })
    await wiring.flush()
    expect((await store.read('run-5')).map((e) => e.kind)).toEqual(['a'])
    expect(bus.listenerCount()).toBe(0)
  })

  it('reports a store that throws synchronously too', async () => {
    const bus = new EventBus()
    const errors: unknown[] = []
    const store = createMemoryStreamStore()
    const throwing = {
      ...store,
      append: () => {
        throw new Error('sync failure')
      },
    }
    const wiring = createFlowWiring({ bus, store: throwing, onError: (err) => errors.push(err) })
    wiring.start()
    expect(() => bus.publish({ kind: 'a', flow: 'run-6', data: 1 })).not.toThrow()
    await wiring.stop()
    expect(errors.map((e) => (e as Error).message)).toEqual(['sync failure'])
  })
})
