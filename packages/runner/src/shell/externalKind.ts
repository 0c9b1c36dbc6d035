import { assertName, isBuiltinKind, LeanflowError } from '@leanflow/core'

/**
 * The kind of an external event (`runner.publishEvent`, `ctx.publish`, `ctx.await.event`): a name,
 * and no built-in kind (`flow.*`, `step.*`, `log`, `state.set`). Those are a run's log's own,
 * never published: a `flow.completed` published by hand would reach every step awaiting that
 * kind, and a step awaiting one would wait for an event that never comes (another run's end is
 * `ctx.invoke`'s or `runner.result`'s).
 *
 * @example
 * ```ts
 * const kind = externalKind(event.kind, 'publishEvent') // 'order.paid'; 'flow.completed' is refused
 * ```
 */
export function externalKind(kind: unknown, call: string): string {
  const k = assertName(kind, 'event kind')
  if (!isBuiltinKind(k)) return k
  const other = call === 'ctx.await.event' ? '; to wait for another run to end, use ctx.invoke or runner.result' : ''
  throw new LeanflowError(
    'INVALID_ARGUMENT',
    `${call}: event kind "${k}" is a built-in kind of a run's log (flow.*, step.*, log, state.set), never an external event: use a kind of your own, e.g. "order.paid"${other}.`,
  )
}
