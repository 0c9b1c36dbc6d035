import { isLeanflowError, LeanflowError } from '@leanflow/core'
import { errorMessage } from '../machine/errorMessage.js'
import type { ScheduleDefinition, ScheduleTick } from '../scheduleTypes.js'

/**
 * The input an in-code schedule's function gives for a tick. A function that throws (or rejects)
 * is `INVALID_ARGUMENT` naming the schedule, with the thrown error as `cause` (before anything is
 * written); a `LeanflowError` it throws (a store outage in a read it makes) keeps its code.
 *
 * @example
 * ```ts
 * const input = doc.inputFn ? await inputOf(id, code?.def, { id, at: new Date(tick) }) : doc.input
 * ```
 */
export async function inputOf(id: string, def: ScheduleDefinition | undefined, tick: ScheduleTick): Promise<unknown> {
  const fn = def?.input
  if (typeof fn !== 'function') return undefined
  try {
    return await (fn as (t: ScheduleTick) => unknown)(tick)
  } catch (err) {
    if (isLeanflowError(err)) throw err
    const why = errorMessage(err)
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `Schedule "${id}": its input function threw: ${why}. Fix the schedule's input function (defineFlow({ schedules: [{ id, input }] })).`,
      { cause: err },
    )
  }
}
