// The persistent log and state behind a FlowState, so that applyEvent costs O(1) per `log` and
// `state.set` event and never mutates an older state: a chain of operations, each a node that
// points at the one before, read (folded onto a copy of the last base) on first read, and cached.

import { nullProto } from './reduceData.js'

/**
 * A log or a state, persistent: a node that adds one operation to `prev` (append `value` when
 * `key` is undefined, else set `key` to `value`, deleting it when undefined), or a base whose
 * `view` is known. A node's `view` is computed on first read and cached; the node then becomes a
 * base (`n` 0, `size` entries or keys) and lets go of `prev`. Extending a chain past 32
 * operations and past its base's size folds them at once, so a log or a state that is never
 * read still costs amortized O(1) per event and keeps no more than its size in operations.
 */
export interface Chain<T> {
  prev?: Chain<T> | undefined
  readonly key?: string | undefined
  readonly value?: unknown
  /** Operations since the base. */
  n: number
  /** Entries or keys of the base. */
  size: number
  view?: T | undefined
}

/** A base: `view` as it is. */
export function chain<T extends object>(view: T): Chain<T> {
  return { prev: undefined, n: 0, size: Array.isArray(view) ? view.length : Object.keys(view).length, view }
}

/** The value of `c`: its base with the operations since it applied, on a copy. */
export function view<T extends object>(c: Chain<T>): T {
  if (c.view === undefined) {
    const ops: Chain<T>[] = []
    let base = c
    for (; base.view === undefined; base = base.prev!) ops.push(base)
    const out = (Array.isArray(base.view) ? base.view.slice() : nullProto(base.view)) as Record<string, unknown>
    for (let i = ops.length; i--; ) {
      const { key, value } = ops[i]!
      if (key === undefined) (out as unknown as unknown[]).push(value)
      else if (value === undefined) delete out[key]
      else out[key] = value
    }
    Object.assign(c, chain(out))
  }
  return c.view!
}

/**
 * `c` with one more operation: `value` appended (no `key`), or `key` set to `value` (deleted
 * when undefined); `c` and every state using it are unchanged.
 */
export function extend<T extends object>(c: Chain<T>, key: string | undefined, value: unknown): Chain<T> {
  const next: Chain<T> = { prev: c, key, value, n: c.n + 1, size: c.size, view: undefined }
  if (next.n > 32 && next.n > next.size) view(next)
  return next
}
