import { LeanflowError } from './errors.js'
import type { BusEvent, EventBus } from './eventBus.js'
import { runnerKind } from './eventManager.js'
import type { NewEvent } from './events.js'
import type { StreamStore } from './streamStore.js'

/** Options of {@link createFlowWiring}. */
export interface FlowWiringOptions {
  bus: EventBus
  store: StreamStore
  /**
   * Receives every persist error with the event that failed.
   * @default logs with `console.error`
   */
  onError?: ((error: unknown, event: BusEvent) => void) | undefined
}

/** What {@link createFlowWiring} returns. */
export interface FlowWiring {
  /** Subscribes to the bus (again calls are no-ops). */
  start(): void
  /** Unsubscribes, then waits for the appends already under way. */
  stop(): Promise<void>
  /** Resolves once every append started so far has settled. */
  flush(): Promise<void>
}

/**
 * Persists ingress events from the bus to their run's stream: every event
 * without an `id` (records a store publishes have one) and with a run id
 * (`flow`) is appended with `store.append`, in bus order. Errors go to
 * `onError`, never swallowed.
 *
 * @example
 * ```ts
 * const bus = new EventBus()
 * const store = createMemoryStreamStore({ bus })
 * const wiring = createFlowWiring({ bus, store, onError: (err, e) => log.error(err, e.kind) })
 * wiring.start()
 * bus.publish({ kind: 'chat.message', flow: runId, data: { text: 'hi' } }) // stored, then published again with its id
 * await wiring.stop()
 * ```
 */
export function createFlowWiring(options: FlowWiringOptions): FlowWiring {
  const { bus, store } = options ?? ({} as Partial<FlowWiringOptions>)
  if (typeof bus?.onAny !== 'function' || typeof store?.append !== 'function') {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      'createFlowWiring needs { bus, store }: createFlowWiring({ bus, store: createMemoryStreamStore({ bus }) }).',
    )
  }
  const onError = options.onError ?? ((error, event) => console.error(`[leanflow] flow wiring could not persist "${event.kind}":`, error))
  const inFlight = new Set<Promise<void>>()
  let off: (() => void) | undefined

  const persist = (event: BusEvent) => {
    if (event.id !== undefined || typeof event.flow !== 'string' || event.flow === '') return
    // a built-in kind put on the bus without an id is no record of a store: the runner's, not stored
    const refused = runnerKind(event.kind)
    if (refused) return report(refused, event)
    const flow = event.flow
    const record: NewEvent = { kind: event.kind, flow, data: event.data === undefined ? null : event.data }
    if (event.step !== undefined) record.step = event.step
    if (event.meta !== undefined) record.meta = event.meta
    let p: Promise<void>
    try {
      p = store.append(flow, record).then(
        () => undefined,
        (error: unknown) => report(error, event),
      )
    } catch (error) {
      report(error, event)
      return
    }
    inFlight.add(p)
    void p.finally(() => inFlight.delete(p))
  }

  const report = (error: unknown, event: BusEvent) => {
    try {
      onError(error, event)
    } catch {
      // an onError that throws must not break the bus
    }
  }

  const flush = async () => {
    while (inFlight.size > 0) await Promise.all([...inFlight])
  }

  return {
    start() {
      off ??= bus.onAny(persist)
    },
    async stop() {
      off?.()
      off = undefined
      await flush()
    },
    flush,
  }
}
