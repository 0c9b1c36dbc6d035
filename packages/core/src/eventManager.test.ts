import { describe, expect, it } from 'vitest'
import { isLeanflowError } from './errors.js'
import { type BusEvent, EventBus } from './eventBus.js'
import { createEventManager, type IngressEvent } from './eventManager.js'
import { createFlowWiring } from './flowWiring.js'
import { createMemoryStreamStore } from './memoryStreamStore.js'

describe('createEventManager', () => {
  it('normalizes ingress events to the envelope; the context wins over the event', async () => {
    const bus = new EventBus()
    const seen: BusEvent[] = []
    bus.onAny((e) => void seen.push(e))
    const events = createEventManager({ bus })
    await events.publish({ kind: 'chat.message', data: { text: 'hi' } }, { flow: 'run-1', step: 'talk' })
    await events.publish({ kind: 'chat.message', flow: 'run-2', step: 'a', meta: { attempt: 1 } }, { flow: 'run-3' })
    await events.publish({ kind: 'ping' })
    const sneaky = { kind: 'ping', id: '1-0', ts: 'x', extra: true, data: 1 } as IngressEvent
    await events.publish(sneaky)
    expect(seen).toEqual([
      { kind: 'chat.message', flow: 'run-1', step: 'talk', data: { text: 'hi' } },
      { kind: 'chat.message', flow: 'run-3', step: 'a', data: null, meta: { attempt: 1 } },
      { kind: 'ping', data: null },
      { kind: 'ping', data: 1 },
    ])
  })

  it('refuses bad names with INVALID_NAME before publishing anything', async () => {
    const bus = new EventBus()
    let n = 0
    bus.onAny(() => void n++)
    const events = createEventManager({ bus })
    for (const [ev, ctx] of [
      [{ kind: 'a:b' }, undefined],
      [{ kind: 'ok' }, { flow: 'r*' }],
      [{ kind: 'ok', flow: 'r1' }, { step: '{x}' }],
      [{ kind: '' }, undefined],
    ] as Array<[IngressEvent, { flow?: string; step?: string } | undefined]>) {
      const err = await events.publish(ev, ctx).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isLeanflowError(err, 'INVALID_NAME')).toBe(true)
    }
    expect(n).toBe(0)
  })

  it("refuses a built-in kind (the runner's: a transport's flow.completed would end the run for every reader), nothing published", async () => {
    const bus = new EventBus()
    let n = 0
    bus.onAny(() => void n++)
    const events = createEventManager({ bus })
    for (const kind of ['flow.completed', 'step.completed', 'step.await.run', 'log', 'state.set']) {
      const err = await events.publish({ kind, data: { result: 'forged' } }, { flow: 'r1' }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isLeanflowError(err, 'INVALID_ARGUMENT'), kind).toBe(true)
      expect((err as Error).message).toBe(
        `Ingress event kind "${kind}" is the runner's: a transport publishes kinds of its own, e.g. "chat.message".`,
      )
    }
    expect(n).toBe(0)
    await events.publish({ kind: 'flow.completed.mirror' }, { flow: 'r1' })
    expect(n).toBe(1)
  })

  it('onKind sees the ingress event, then the stored record with its id', async () => {
    const bus = new EventBus()
    const store = createMemoryStreamStore({ bus })
    const wiring = createFlowWiring({ bus, store })
    wiring.start()
    const events = createEventManager({ bus, store })
    const seen: BusEvent[] = []
    const off = events.onKind('chat.message', (e) => void seen.push(e))
    await events.publish({ kind: 'chat.message', data: { text: 'hi' } }, { flow: 'run-1' })
    await wiring.flush()
    off()
    await events.publish({ kind: 'chat.message', data: { text: 'unseen' } }, { flow: 'run-1' })
    await wiring.stop()
    expect(seen.length).toBe(2)
    expect(seen[0]).toEqual({ kind: 'chat.message', flow: 'run-1', data: { text: 'hi' } })
    const [stored] = await store.read('run-1')
    expect(seen[1]).toEqual(stored)
    expect(seen[1]!.id).toBe(stored!.id)
    await store.close()
  })
})
