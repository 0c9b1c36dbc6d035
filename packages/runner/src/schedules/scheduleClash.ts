import { LeanflowError } from '@leanflow/core'
import type { FlowDefinition } from '../types.js'
import { cronKey, everyMs, zoneOf } from './cadence.js'
import type { ScheduleDoc } from './scheduleDoc.js'

/** The fields that make a schedule's definition (its paused state, last run and source are not). */
const FIELDS = ['flow', 'cron', 'every', 'tz', 'input', 'overlap', 'catchUp'] as const
/** The most characters of one field's value a message shows. */
const MAX_SHOWN = 200

function shown(doc: ScheduleDoc, field: (typeof FIELDS)[number]): string {
  if (field === 'input' && doc.inputFn) return 'a function of the tick'
  // a zone by its canonical name: two spellings of one zone are no difference
  const value = field === 'tz' ? zoneOf(doc.tz) : doc[field]
  if (value === undefined) return 'none'
  const json = JSON.stringify(value)
  return json.length > MAX_SHOWN ? `${json.slice(0, MAX_SHOWN)}…` : json
}

/**
 * How the definition `here` differs from the stored `there`, one `field <there> there, <here>
 * here` per field that differs; empty when they define the same schedule.
 *
 * @example
 * ```ts
 * differences(stored, ours) // ['cron "0 3 * * *" there, "*\/5 * * * *" here']
 * ```
 */
export function differences(there: ScheduleDoc, here: ScheduleDoc): string[] {
  const out: string[] = []
  for (const field of FIELDS) {
    const a = shown(there, field)
    const b = shown(here, field)
    // an every spelled another way ('1m', '60s', 60000) is no difference either, nor a cron ('@daily', '0 0 * * *')
    const same =
      (field === 'every' && everyMs(there.every) === everyMs(here.every)) ||
      (field === 'cron' && cronKey(there.cron) === cronKey(here.cron))
    if (a !== b && !same) out.push(`${field} ${a} there, ${b} here`)
  }
  return out
}

const RENAME = 'give one of them another id (defineFlow({ schedules: [{ id }] }))'

/**
 * A runner's in-code schedule whose id another runner's code holds in the store for a flow this
 * runner does not hold (another service's schedule, or one left by code that no longer runs): the
 * runner leaves it as it is and reports this.
 */
export function takenError(there: ScheduleDoc, here: ScheduleDoc): LeanflowError {
  const id = here.id
  return new LeanflowError(
    'INVALID_ARGUMENT',
    `Schedule "${id}" is defined in code by another runner on this store for flow "${there.flow}", which this runner does not hold, and differently in this runner's code: ${differences(there, here).join('; ')}. ` +
      `This runner left the stored schedule as it is and does not fire its own: schedule ids are unique in the store, so ${RENAME}; ` +
      `if the stored one is left over from code that no longer runs, delete it (runner.schedules.delete('${id}')) and start this runner again.`,
  )
}

/**
 * A runner's in-code schedule replaced what the store held under its id: another in-code
 * definition (a deploy that changed it, or another service on the store that defines the id too),
 * or a stored schedule of a flow this runner does not hold (`schedules.set` by another service).
 * The runner reports what it replaced.
 */
export function replacedError(there: ScheduleDoc, here: ScheduleDoc): LeanflowError {
  const diff = differences(there, here).join('; ')
  if (there.source === 'stored') {
    return new LeanflowError(
      'INVALID_ARGUMENT',
      `Schedule "${here.id}" was stored (runner.schedules.set) for flow "${there.flow}", which this runner does not hold, and is defined differently in this runner's code: ${diff}. ` +
        `This runner's definition replaced it (an in-code schedule wins over a stored one of its id). If the stored one belongs to another service, ${RENAME} and set it again.`,
    )
  }
  return new LeanflowError(
    'INVALID_ARGUMENT',
    `Schedule "${here.id}" was defined differently in code in the store (by another runner, or by an earlier deploy): ${diff}. ` +
      `This runner's definition replaced it (the code of the runner that starts wins; the paused state and last run are kept). ` +
      `After a deploy that changed it there is nothing more to do; if another service on this store defines a schedule with this id, the two replace each other at every start: ${RENAME}.`,
  )
}

/**
 * The schedules a lower version of a held flow defines and its highest version does not, one
 * error each (the most recent version that defines it named): schedules start runs on the highest
 * version held, so the runner neither writes nor fires them, and says so when it starts.
 *
 * @example
 * ```ts
 * lowerVersionOnly(shell.versions) // [LeanflowError('Schedule "close" is defined by version 1 of flow "ledger" …')]
 * ```
 */
export function lowerVersionOnly(versions: ReadonlyMap<string, ReadonlyMap<number, FlowDefinition>>): LeanflowError[] {
  const out: LeanflowError[] = []
  for (const [flow, byVersion] of versions) {
    const ordered = [...byVersion.keys()].sort((a, b) => b - a)
    const top = ordered[0] as number
    const seen = new Set((byVersion.get(top)?.schedules ?? []).map((s) => s.id))
    for (const version of ordered.slice(1)) {
      for (const { id } of byVersion.get(version)?.schedules ?? []) {
        if (seen.has(id)) continue
        seen.add(id)
        out.push(
          new LeanflowError(
            'INVALID_ARGUMENT',
            `Schedule "${id}" is defined by version ${version} of flow "${flow}" but not by version ${top}, the highest this runner holds: schedules start runs on the highest version, so this runner does not write it from its code. ` +
              `To keep it, define it in version ${top} (defineFlow({ name: '${flow}', version: ${top}, schedules })); to drop it, remove it from version ${version}, and runner.schedules.delete('${id}') if an earlier deploy stored it (a stored copy goes on firing, on version ${top}; with an input function, it waits for a runner whose code defines it).`,
          ),
        )
      }
    }
  }
  return out
}
