import type { EventMeta } from './events.js'

/**
 * What travels on an {@link EventBus}: an ingress event (no `id`, maybe no
 * run id yet) or a stored record (with `id` and `ts`, as a store publishes it).
 */
export interface BusEvent<D = unknown> {
  /** Present on stored records only. */
  id?: string
  /** Present on stored records only. */
  ts?: string
  kind: string
  /** The run id; ingress events may lack it. */
  flow?: string
  step?: string
  data: D
  meta?: EventMeta
}

/** A bus subscriber. A throw or a rejected promise is reported to `onError`, never to the publisher. */
export type BusListener = (event: BusEvent) => void | Promise<void>

/** Options of {@link EventBus}. */
export interface EventBusOptions {
  /**
   * Called when a listener throws or rejects; other listeners still run.
   * @default logs with `console.error`
   */
  onError?: ((error: unknown, event: BusEvent) => void) | undefined
}

const ANY = Symbol('any')

type Guarded = (event: BusEvent) => void

/**
 * An in-process event bus, browser-safe (plain JavaScript, no dependency). Stores given
 * a `bus` publish every record they append on it; `createEventManager` puts
 * ingress events on it and `createFlowWiring` persists them.
 *
 * @example
 * ```ts
 * const bus = new EventBus()
 * const store = createMemoryStreamStore({ bus })
 * const off = bus.onKind('step.completed', (e) => metrics.inc(e.step))
 * bus.onAny((e) => socket.send(JSON.stringify(e)))
 * off() // unsubscribe
 * ```
 */
export class EventBus {
  /**
   * The listeners of each kind (and of `ANY`). A subscription appends; an unsubscription
   * replaces the list. A publish delivers to the listeners subscribed when it began, whatever
   * they (un)subscribe meanwhile (as eventemitter3, which this replaced, did).
   */
  readonly #listeners = new Map<string | typeof ANY, Guarded[]>()
  readonly #onError: (error: unknown, event: BusEvent) => void

  constructor(options: EventBusOptions = {}) {
    this.#onError = options.onError ?? ((error, event) => console.error(`[leanflow] bus listener failed on "${event.kind}":`, error))
  }

  /**
   * Delivers `event` to the listeners of its kind, then to `onAny` listeners,
   * synchronously. Never throws because of a listener.
   *
   * @example
   * ```ts
   * bus.publish({ kind: 'payment.confirmed', flow: runId, data: { orderId } })
   * ```
   */
  publish(event: BusEvent): void {
    this.#emit(event.kind, event)
    this.#emit(ANY, event)
  }

  /**
   * Subscribes to one kind; returns the unsubscribe function.
   *
   * @example
   * ```ts
   * const off = bus.onKind('flow.completed', (e) => console.log(e.flow, 'done'))
   * ```
   */
  onKind(kind: string, fn: BusListener): () => void {
    return this.#subscribe(kind, fn)
  }

  /**
   * Subscribes to every event; returns the unsubscribe function.
   *
   * @example
   * ```ts
   * const off = bus.onAny((e) => forward(e))
   * ```
   */
  onAny(fn: BusListener): () => void {
    return this.#subscribe(ANY, fn)
  }

  /**
   * Number of listeners of a kind, or of all listeners (kinds and `onAny`) without an argument.
   *
   * @example
   * ```ts
   * bus.listenerCount('flow.completed') // 1
   * ```
   */
  listenerCount(kind?: string): number {
    if (kind !== undefined) return this.#listeners.get(kind)?.length ?? 0
    let n = 0
    for (const list of this.#listeners.values()) n += list.length
    return n
  }

  #emit(name: string | typeof ANY, event: BusEvent): void {
    const list = this.#listeners.get(name)
    if (list === undefined) return
    for (let i = 0, n = list.length; i < n; i++) list[i]!(event)
  }

  #subscribe(name: string | typeof ANY, fn: BusListener): () => void {
    const guarded = (event: BusEvent) => {
      try {
        const out = fn(event)
        if (out && typeof (out as Promise<void>).then === 'function') {
          ;(out as Promise<void>).then(undefined, (error) => this.#report(error, event))
        }
      } catch (error) {
        this.#report(error, event)
      }
    }
    const list = this.#listeners.get(name)
    if (list === undefined) this.#listeners.set(name, [guarded])
    else list.push(guarded)
    let active = true
    return () => {
      if (!active) return
      active = false
      const rest = (this.#listeners.get(name) ?? []).filter((g) => g !== guarded)
      if (rest.length > 0) this.#listeners.set(name, rest)
      else this.#listeners.delete(name)
    }
  }

  #report(error: unknown, event: BusEvent): void {
    try {
      this.#onError(error, event)
    } catch {
      // an onError that throws must not break the publisher either
    }
  }
}
