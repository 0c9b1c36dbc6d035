import { LeanflowError } from '@leanflow/core'
import { defineFlow, isDefinedFlow } from './defineFlow.js'
import { assertFlow } from './runnerOptions.js'
import { versionOf } from './shell/shell.js'
import type { FlowDefinition } from './types.js'

/**
 * `createRunner`'s `flows`, checked and frozen: an array (or nothing) of `defineFlow(…)` results
 * (any other flow object is checked by `defineFlow` here, and its checked copy used),
 * each version of a flow given once, and schedule ids unique among the schedules of each flow's
 * highest version (they start runs on it); `INVALID_ARGUMENT` naming what is wrong.
 *
 * @example
 * ```ts
 * const flows = checkedFlows(options.flows) // [] when left out
 * ```
 */
export function checkedFlows(given: unknown): readonly FlowDefinition[] {
  if (given !== undefined && !Array.isArray(given)) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      'createRunner flows must be an array of defineFlow(…) results: createRunner({ store, flows: [order] }).',
    )
  }
  // a flow object defineFlow did not make (written by hand, spread into a copy) is checked as
  // defineFlow checks one: a cycle or an unknown need would leave its runs waiting for ever
  const flows = Object.freeze(
    (given ?? []).map((f: unknown, i: number) => {
      assertFlow(f, i)
      return isDefinedFlow(f as object) ? f : defineFlow(f as Parameters<typeof defineFlow>[0])
    }),
  ) as readonly FlowDefinition[]
  const seen = new Set<string>()
  for (const f of flows) {
    const key = `${f.name}@${versionOf(f)}`
    if (seen.has(key))
      throw new LeanflowError(
        'INVALID_ARGUMENT',
        `Flow "${f.name}" version ${versionOf(f)} is given twice to createRunner: give each version of a flow once (defineFlow({ name, version })).`,
      )
    seen.add(key)
  }
  const scheduleIds = new Map<string, string>()
  // the schedules of each flow's highest version (they start runs on it)
  for (const f of highestVersions(flows)) {
    for (const sch of f.schedules ?? []) {
      const other = scheduleIds.get(sch.id)
      if (other !== undefined)
        throw new LeanflowError(
          'INVALID_ARGUMENT',
          `Schedule id "${sch.id}" is used by flows "${other}" and "${f.name}": schedule ids are unique.`,
        )
      scheduleIds.set(sch.id, f.name)
    }
  }
  return flows
}

/** Each flow's highest version among `flows`. */
function highestVersions(flows: readonly FlowDefinition[]): FlowDefinition[] {
  const top = new Map<string, FlowDefinition>()
  for (const f of flows) {
    const cur = top.get(f.name)
    if (!cur || versionOf(f) > versionOf(cur)) top.set(f.name, f)
  }
  return [...top.values()]
}
