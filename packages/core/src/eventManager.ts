import { LeanflowError } from './errors.js'
import type { BusEvent, BusListener, EventBus } from './eventBus.js'
import { type EventMeta, isBuiltinKind } from './events.js'
import { assertName } from './names.js'
import type { StreamStore } from './streamStore.js'

/** An event from a custom transport, before it has a run position: `flow` and `step` may come from the context. */
export interface IngressEvent<D = unknown> {
  kind: string
  /** The run id (or pass it as `ctx.flow`). Without one, the event stays on the bus and is not persisted. */
  flow?: string | undefined
  step?: string | undefined
  /** @default null */
  data?: D | undefined
  meta?: EventMeta | undefined
}

/** Where an ingress event belongs; wins over the event's own `flow` and `step`. */
export interface IngressContext {
  flow?: string | undefined
  step?: string | undefined
}

/** What {@link createEventManager} returns. */
export interface EventManager {
  /** Normalizes an ingress event to the envelope and puts it on the bus (the wiring persists it). */
  publish(event: IngressEvent, ctx?: IngressContext): Promise<void>
  /** Subscribes to a kind: ingress events and the stored records of a store given the same bus. */
  onKind(kind: string, handler: BusListener): () => void
}

/** Options of {@link createEventManager}. */
export interface EventManagerOptions {
  bus: EventBus
  /** The store the wiring persists to (give it the same `bus` so `onKind` also sees stored records). Not used by the manager itself. */
  store?: StreamStore | undefined
}

/**
 * The ingress side of the bus, for custom transports (a WebSocket server, a
 * webhook forwarder): `publish` validates and normalizes an event and puts
 * it on the bus, where {@link createFlowWiring} persists it to its run.
 * Names are checked before anything is published (`INVALID_NAME`).
 *
 * @example
 * ```ts
 * const bus = new EventBus()
 * const store = createMemoryStreamStore({ bus })
 * createFlowWiring({ bus, store, onError: console.error }).start()
 * const events = createEventManager({ bus, store })
 * events.onKind('chat.message', (e) => console.log(e.id ?? 'ingress', e.data))
 * await events.publish({ kind: 'chat.message', data: { text: 'hi' } }, { flow: runId })
 * ```
 */
export function createEventManager(options: EventManagerOptions): EventManager {
  const { bus } = options ?? ({} as Partial<EventManagerOptions>)
  if (typeof bus?.publish !== 'function' || typeof bus.onKind !== 'function') {
    throw new LeanflowError('INVALID_ARGUMENT', 'createEventManager needs { bus }: createEventManager({ bus: new EventBus(), store }).')
  }
  return {
    async publish(event, ctx) {
      bus.publish(normalizeIngress(event, ctx))
    },
    onKind(kind, handler) {
      return bus.onKind(assertName(kind, 'event kind'), handler)
    },
  }
}

/**
 * The envelope of an ingress event: only `kind`, `flow?`, `step?`, `data` and `meta?`, with names
 * checked and a built-in kind refused (`INVALID_ARGUMENT`, see {@link runnerKind}).
 */
export function normalizeIngress(event: IngressEvent, ctx: IngressContext = {}): BusEvent {
  const kind = assertName(event?.kind, 'event kind')
  const refused = runnerKind(kind)
  if (refused) throw refused
  const flow = ctx.flow ?? event.flow
  const step = ctx.step ?? event.step
  const out: BusEvent = { kind, data: event.data === undefined ? null : event.data }
  if (flow !== undefined) out.flow = assertName(flow, 'run id')
  if (step !== undefined) out.step = assertName(step, 'step name')
  if (event.meta !== undefined) out.meta = event.meta
  return out
}

/**
 * The refusal of an ingress event of a built-in kind (`flow.*`, `step.*`, `log`, `state.set`),
 * or undefined: those are the runner's, and one written by a transport would forge its run's log
 * (a `flow.completed` from a WebSocket client would end the run for every reader and answer
 * `runner.result` with its data).
 */
export function runnerKind(kind: string): LeanflowError | undefined {
  if (!isBuiltinKind(kind)) return undefined
  return new LeanflowError(
    'INVALID_ARGUMENT',
    `Ingress event kind "${kind}" is the runner's: a transport publishes kinds of its own, e.g. "chat.message".`,
  )
}
