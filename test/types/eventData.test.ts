import type { BuiltinEvent, EventDataMap } from '@leanflow/core'
import type { StartedData } from '@leanflow/runner'
import { describe, expectTypeOf, it } from 'vitest'

// The built-in events' data types carry every field docs/reference/events.md lists and the runner
// writes: a flow.started's version and rerunOf, a step.started's recovered, a step.completed's
// copied (they were missing, so reading them did not compile). Checked by `pnpm typecheck`.
describe('built-in event data types', () => {
  it('flow.started has version and rerunOf; step.started recovered; step.completed copied', () => {
    expectTypeOf<EventDataMap['flow.started']['version']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<EventDataMap['flow.started']['rerunOf']>().toEqualTypeOf<{ runId: string; from?: string } | undefined>()
    expectTypeOf<EventDataMap['step.started']['recovered']>().toEqualTypeOf<true | undefined>()
    expectTypeOf<EventDataMap['step.completed']['copied']>().toEqualTypeOf<true | undefined>()
    expectTypeOf<BuiltinEvent<'flow.started'>['data']>().toHaveProperty('rerunOf')
    expectTypeOf<StartedData['version']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<StartedData['rerunOf']>().toEqualTypeOf<{ runId: string; from?: string } | undefined>()
  })
})
