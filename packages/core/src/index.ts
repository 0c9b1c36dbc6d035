export { applyEvent } from './applyEvent.js'
export type { Duration } from './duration.js'
export { parseDuration } from './duration.js'
export type { ErrorCode, LeanflowErrorOfCode, LeanflowErrorWithCode } from './errors.js'
export {
  AwaitTimeoutError,
  ChildRunError,
  ERROR_STATUS,
  InvalidEventError,
  InvalidNameError,
  isLeanflowError,
  LeanflowError,
  NonDeterminismError,
  NonRetriableError,
  PayloadTooLargeError,
  RateLimitedError,
  RetryAfterError,
  RunCanceledError,
  RunFailedError,
  TriggerConflictError,
  TriggerNotFoundError,
} from './errors.js'
export type { BusEvent, BusListener, EventBusOptions } from './eventBus.js'
export { EventBus } from './eventBus.js'
export { compareEventIds, isEventId } from './eventIds.js'
export type { EventManager, EventManagerOptions, IngressContext, IngressEvent } from './eventManager.js'
export { createEventManager } from './eventManager.js'
export type {
  AwaitType,
  BuiltinEvent,
  BuiltinKind,
  EventDataMap,
  EventMeta,
  EventRecord,
  ExternalEvent,
  LogLevel,
  NewEvent,
  QueueReason,
} from './events.js'
export { EVENT_KINDS, isBuiltinKind, isTerminalKind, TERMINAL_KINDS } from './events.js'
export type { FlowState, LogEntry, QueueWait, StepAwait, StepState, StepStatus } from './flowState.js'
export { emptyFlowState } from './flowState.js'
export type { FlowWiring, FlowWiringOptions } from './flowWiring.js'
export { createFlowWiring } from './flowWiring.js'
export { idempotencyKey, isIdempotencyKey, MAX_IDEMPOTENCY_KEY_LENGTH, requiredIdempotencyKey } from './idempotencyKey.js'
export { invalidArgument, optionsObject, positiveInteger, shown } from './invalidArgument.js'
export { assertJobId, jobDataJson, jobDelayMs } from './jobChecks.js'
export type { ActiveJob, JobHandler, JobQueue, JobSpec, JobWorker, ProcessOptions } from './jobQueue.js'
export { redeliverAfterMs } from './jobQueue.js'
export { hasNonFiniteNumber, jsonDepth, jsonTextDepth, MAX_JSON_DEPTH } from './jsonLimits.js'
export { assertKnownKeys } from './knownKeys.js'
export { checkDebounce, checkLimitHolder, checkLimitRequest, checkLimitScope, MAX_LIMIT_PRIORITY } from './limitChecks.js'
export type {
  DebounceAnswer,
  LimitAnswer,
  LimitBlock,
  LimitNeed,
  LimitRequest,
  LimitStore,
  LimitTurn,
  LimitUsage,
} from './limitStore.js'
export type { MemoryRunStateStoreOptions } from './memoryRunStateStore.js'
export { createMemoryRunStateStore } from './memoryRunStateStore.js'
export { MAX_SCHEDULE_BYTES } from './memorySchedules.js'
export type { MemoryStreamStore, MemoryStreamStoreOptions } from './memoryStreamStore.js'
export { createMemoryStreamStore } from './memoryStreamStore.js'
export type { NameRole } from './names.js'
export { assertFlowName, assertName, isValidName, NAME_PATTERN, RESERVED_FLOW_NAMES } from './names.js'
export { parseEvent } from './parseEvent.js'
export { readLog } from './readLog.js'
export { redactUrl } from './redactUrl.js'
export type { RedisUrlReading } from './redisUrl.js'
export { redisUrlDatabase } from './redisUrl.js'
export type { ReduceOptions } from './reduceFlow.js'
export { reduceFlow } from './reduceFlow.js'
export { refuseAfterClose } from './refuseAfterClose.js'
export type {
  CasRunStateOptions,
  CasRunStateResult,
  ChildOutcomeEntry,
  CreateRunOptions,
  CreateRunResult,
  LookupNamespace,
  PutChildOutcomeOptions,
  PutChildOutcomeResult,
  RunStateRecord,
  RunStateStore,
  StoredExternalEvent,
} from './runStateStore.js'
export type { CasScheduleResult, DueSchedules, ScheduleRecord, ScheduleStore } from './scheduleStore.js'
export type { StepActivity } from './stepActivity.js'
export { stepActivity } from './stepActivity.js'
export {
  casRunStateOptions,
  checkLookup,
  checkReadExternal,
  checkWatchKind,
  documentJson,
  followSignal,
  runStateJson,
} from './storeChecks.js'
export { storeOptions } from './storeOptions.js'
export { eventIdOption, historyGone, MAX_EVENT_ID, runTooLong } from './storeRefusals.js'
export type {
  AppendFence,
  AppendManyOptions,
  AppendOptions,
  BatchAppend,
  FollowOptions,
  ListRunsOptions,
  ReadOptions,
  RunCounts,
  RunStatus,
  RunSummary,
  StreamStore,
} from './streamStore.js'
export { CLOSING_EVENTS_RESERVE, isRepeatedAppend, markRepeatedAppend, maxEventsFor, STORE_DEFAULTS } from './streamStore.js'
export { toStoreError } from './toStoreError.js'
export { isTraceparent } from './traceparent.js'
export type { AppendLimits, ValidatedAppend } from './validateAppend.js'
export { appendManyOptions, validateAppend, validateBatch } from './validateAppend.js'
