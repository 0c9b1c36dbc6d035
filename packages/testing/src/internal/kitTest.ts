// `describe` and `it` for the suites: the same as vitest's, except that a case the store under
// test declared unsupported (by its group's or its own title) is registered as skipped, with the
// reason in its title, so a run reports every guarantee it did not check.
import { describe as vDescribe, it as vIt } from 'vitest'

/** Titles (of a group or a case) the store under test does not support → why. */
export type Unsupported = Readonly<Record<string, string>>

interface Scope {
  unsupported: Unsupported
  /** The titles of the groups around the code registering now. */
  path: readonly string[]
}

/**
 * The scope of the suite code running now. vitest runs a `describe` body later than the
 * `describe` call (while it collects), so each group captures the scope when it is declared and
 * sets it again while its body runs.
 */
let current: Scope | undefined

function within(scope: Scope | undefined, fn: () => void): void {
  const before = current
  current = scope
  try {
    fn()
  } finally {
    current = before
  }
}

/** Registers the suites `fn` declares (synchronously) with `unsupported` in force. */
export function withUnsupported(unsupported: Unsupported, fn: () => void): void {
  within({ unsupported, path: [] }, fn)
}

/** The titles of each `unsupported` map that matched a group or a case. */
const matched = new WeakMap<Unsupported, Set<string>>()

/** Why `title` (in the current groups) is skipped, or undefined. */
function reasonFor(title: string): string | undefined {
  if (!current) return undefined
  for (const t of [...current.path, title]) {
    if (!Object.hasOwn(current.unsupported, t)) continue
    let seen = matched.get(current.unsupported)
    if (!seen) matched.set(current.unsupported, (seen = new Set()))
    seen.add(t)
    return current.unsupported[t]
  }
  return undefined
}

/** The titles of `unsupported` that named no group or case (a typo would skip nothing silently). */
export function unmatched(unsupported: Unsupported): string[] {
  const seen = matched.get(unsupported)
  return Object.keys(unsupported).filter((t) => !seen?.has(t))
}

const skippedTitle = (title: string, reason: string) => `${title} — SKIPPED, not supported by this store: ${reason}`

export function describe(name: string, fn: () => void): void {
  const scope = current && { unsupported: current.unsupported, path: [...current.path, name] }
  vDescribe(name, () => within(scope, fn))
}

/** A case's body; `ctx.skip(note)` skips it at run time, with its reason (an optional method the store lacks). */
type Body = (ctx: { skip: (note?: string) => void }) => Promise<void> | void

function itFn(title: string, fn: Body, timeout?: number): void {
  const reason = reasonFor(title)
  if (reason === undefined) vIt(title, (ctx) => fn(ctx), timeout)
  else vIt.skip(skippedTitle(title, reason), (ctx) => fn(ctx), timeout)
}

/** `it.each(cases)(title, fn)`: skipped as a whole when its title (or group) is unsupported. */
function each<T extends unknown[]>(cases: readonly T[]) {
  return (title: string, fn: (...args: T) => Promise<void> | void, timeout?: number): void => {
    const reason = reasonFor(title)
    if (reason === undefined) vIt.each(cases as T[])(title, fn as never, timeout)
    else vIt.skip.each(cases as T[])(skippedTitle(title, reason), fn as never, timeout)
  }
}

export const it = Object.assign(itFn, { each })
