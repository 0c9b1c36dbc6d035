import type { EventRecord } from '../events.js'

// The events the reducer's tests fold (reduceFlow.test.ts, reduceFlow.capabilities.test.ts): an
// event of a run by number, its ts, a deep freeze (the reducer must not mutate its input).

/** An event of run `run-1` with id `<n>-0` and the matching ts; `attempt` goes in its meta. */
export function ev(n: number, kind: string, data: unknown, step?: string, attempt?: number): EventRecord {
  const e: EventRecord = { id: `${n}-0`, ts: tsOf(n), kind, flow: 'run-1', data }
  if (step !== undefined) e.step = step
  if (attempt !== undefined) e.meta = { attempt }
  return e
}

/** The ts of event `n`. */
export const tsOf = (n: number) => new Date(1_764_000_000_000 + n).toISOString()

/** `v`, frozen all the way down. */
export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v)
    for (const k of Reflect.ownKeys(v)) deepFreeze((v as Record<PropertyKey, unknown>)[k])
  }
  return v
}

/** `flow.started` of an `order` run with steps charge → ship. */
export const started = (n = 1) =>
  ev(n, 'flow.started', { name: 'order', input: { orderId: 'o-1' }, steps: { charge: { needs: [] }, ship: { needs: ['charge'] } } })
