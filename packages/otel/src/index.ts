export type { IdGenerator } from './idGenerator.js'
export { createIdGenerator } from './idGenerator.js'
export type { TraceParent } from './ids.js'
export { attemptSpanId, formatTraceparent, parseTraceparent, runSpanId, traceOf } from './ids.js'
export type { InstrumentOptions } from './instrumentRunner.js'
export { instrumentRunner } from './instrumentRunner.js'
export type { Mapped } from './spanMapper.js'
export { SpanMapper } from './spanMapper.js'
export type {
  AttributeValue,
  EventInfo,
  LeanflowEvent,
  Measurement,
  MetricName,
  ObservableRunner,
  RunStartInfo,
  SpanEventSpec,
  SpanSpec,
  StartedEvent,
} from './types.js'
