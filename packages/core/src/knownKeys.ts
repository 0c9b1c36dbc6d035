import { LeanflowError } from './errors.js'

/**
 * Refuses an own key of `value` that is not one of `known` (`INVALID_ARGUMENT`, naming it and the
 * known ones): a misspelt option (`need`, `idempotency`, `atempts`) would otherwise be ignored
 * without a word, and the flow run otherwise than written (a step with `need` runs at once, a
 * start with `idempotency` is not idempotent). TypeScript flags them; plain JavaScript did not.
 *
 * @example
 * ```ts
 * assertKnownKeys({ need: ['a'] }, ['handler', 'needs'], 'Step "b" of flow "order"')
 * // INVALID_ARGUMENT: Step "b" of flow "order" has an unknown option "need": pass only handler, needs.
 * ```
 */
export function assertKnownKeys(value: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      throw new LeanflowError('INVALID_ARGUMENT', `${what} has an unknown option "${key.slice(0, 64)}": pass only ${known.join(', ')}.`)
  }
}
