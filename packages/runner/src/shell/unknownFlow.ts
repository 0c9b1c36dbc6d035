import { LeanflowError } from '@leanflow/core'
import { quotedNames } from './quotedNames.js'

/** The most flow names an error lists. */
const LISTED = 20

/**
 * The `FLOW_NOT_FOUND` for a flow `name` a runner does not hold, listing the ones it holds (a
 * typo is then plain to see) and `fix`, what to do instead.
 *
 * @example
 * ```ts
 * throw unknownFlow('ordr', ['order']) // Flow "ordr" is not registered with this runner (it holds "order"): check the name, …
 * ```
 */
export function unknownFlow(
  name: string,
  held: Iterable<string>,
  fix = 'check the name, or add it to createRunner({ flows })',
): LeanflowError {
  const names = [...held]
  const holds = names.length === 0 ? 'it holds no flow' : `it holds ${quotedNames(names, LISTED)}`
  return new LeanflowError('FLOW_NOT_FOUND', `Flow "${name}" is not registered with this runner (${holds}): ${fix}.`)
}
