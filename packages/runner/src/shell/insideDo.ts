import { AsyncLocalStorage } from 'node:async_hooks'
import { LeanflowError } from '@leanflow/core'
import type { Execution } from './execution.js'

/** The `ctx.do` whose `fn` is running in this async context, by execution. */
const running = new AsyncLocalStorage<{ ex: Execution; label: string }>()

/**
 * Runs the `fn` of a `ctx.do` (`label`, e.g. `ctx.do("charge")`) so that a ctx call made inside
 * it is known as nested ({@link assertNotInsideDo}).
 *
 * @example
 * ```ts
 * const value = await runInsideDo(ex, 'ctx.do("charge")', () => fn())
 * ```
 */
export function runInsideDo<T>(ex: Execution, label: string, fn: () => Promise<T>): Promise<T> {
  return running.run({ ex, label }, fn)
}

/**
 * Refuses a ctx call that takes a call position (`ctx.do`, `ctx.publish`, an await, `ctx.invoke`,
 * `ctx.patched`) made inside the `fn` of a `ctx.do` of the same execution: the outer record is
 * written only after its `fn` returns, so the inner one would wait on it forever, and a replay
 * (which returns the outer record without running `fn`) would not make the inner call at all.
 * Calls beside a running `ctx.do` (`Promise.all`) are not nested and go on.
 *
 * @example
 * ```ts
 * assertNotInsideDo(ex, 'ctx.await.time') // throws INVALID_ARGUMENT inside ctx.do('x', fn)
 * ```
 */
export function assertNotInsideDo(ex: Execution, label: string): void {
  const outer = running.getStore()
  if (outer?.ex !== ex) return
  throw new LeanflowError(
    'INVALID_ARGUMENT',
    `${label} was called inside the fn of ${outer.label}: a ctx.do's fn runs once and is not replayed, so it cannot hold ctx calls; make the call in the handler, before or after the ctx.do.`,
  )
}
