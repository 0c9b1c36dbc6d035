/**
 * The flows of the schedule fault tests, shared by the test process and `scheduleWorker.ts`
 * (imported by relative path so forked processes need no aliases).
 */
import type { FlowDefinition, ScheduleDefinition } from '../../packages/runner/src/index.js'
import { defineFlow } from '../../packages/runner/src/index.js'

/** The flows `names` (of `tick`, `held`, `other`): one step `s` returning `{ pid }`, the process that ran it; `schedules` go on `tick`. */
export function scheduleFlows(names: string[], schedules?: ScheduleDefinition[]): FlowDefinition[] {
  return names.map((name) =>
    defineFlow({
      name,
      ...(name === 'tick' && schedules ? { schedules } : {}),
      steps: { s: { handler: async () => ({ pid: process.pid }) } },
    }),
  )
}
