import { describe, expect, it } from 'vitest'

// A change to the public API shows up in this diff.
describe('@leanflow/core public API', () => {
  it('exports exactly these values', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual([
      'AwaitTimeoutError',
      'ERROR_STATUS',
      'EVENT_KINDS',
      'EventBus',
      'InvalidEventError',
      'InvalidNameError',
      'LeanflowError',
      'NAME_PATTERN',
      'NonDeterminismError',
      'NonRetriableError',
      'PayloadTooLargeError',
      'RESERVED_FLOW_NAMES',
      'RetryAfterError',
      'STORE_DEFAULTS',
      'TERMINAL_KINDS',
      'TriggerConflictError',
      'TriggerNotFoundError',
      'applyEvent',
      'assertFlowName',
      'assertName',
      'compareEventIds',
      'createEventManager',
      'createFlowWiring',
      'createMemoryRunStateStore',
      'createMemoryStreamStore',
      'emptyFlowState',
      'invalidArgument',
      'isEventId',
      'isLeanflowError',
      'isTerminalKind',
      'isValidName',
      'parseDuration',
      'parseEvent',
      'positiveInteger',
      'reduceFlow',
      'stepActivity',
      'toStoreError',
      'validateAppend',
    ])
  })
})
