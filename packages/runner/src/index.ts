export type { FlowConfig } from './defineFlow.js'
export { defineFlow } from './defineFlow.js'
export type { ConcurrencyLimit, DebounceConfig, FlowControlConfig, LimitKey, RateLimit, SingletonConfig } from './flowControlTypes.js'
export type { MemoryQueueOptions } from './memoryQueue.js'
export { createMemoryQueue } from './memoryQueue.js'
export type { EventInfo, OpenAttempt, RunnerObserver, RunStart, StartedData } from './observer.js'
export type { NormalizedRetry } from './retryPolicy.js'
export { DEFAULT_RETRY, isRetriable, normalizeRetry, retryDelay } from './retryPolicy.js'
export { createRunner } from './runner.js'
export type {
  RunnerSchedules,
  ScheduleDefinition,
  ScheduleFields,
  ScheduleInfo,
  ScheduleInput,
  ScheduleSpec,
  ScheduleTick,
} from './scheduleTypes.js'
export type { InvalidInputError, StandardSchemaIssue, StandardSchemaResult, StandardSchemaV1 } from './standardSchema.js'
export type { RerunOptions, StartedRun, StartFlowOptions } from './startTypes.js'
export type {
  AwaitEventOptions,
  AwaitTriggerOptions,
  FlowDefinition,
  FlowInput,
  FlowResult,
  FlowStepResults,
  InvokeOptions,
  LimitInfo,
  RetryPolicy,
  Runner,
  RunnerOptions,
  RunnerStore,
  StepAwaits,
  StepContext,
  StepDefinition,
  StepHandler,
  StepLogger,
  StepResults,
  TriggerHandle,
} from './types.js'
