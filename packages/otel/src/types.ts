/** An event of a run's log, as `@leanflow/core` stores it (structural: this package imports no leanflow code). */
export interface LeanflowEvent {
  id: string
  ts: string
  kind: string
  /** The run id. */
  flow: string
  step?: string
  data: unknown
  meta?: { attempt?: number; traceparent?: string; [key: string]: unknown }
}

/** A run's `flow.started` record: its data names the flow. */
export interface StartedEvent extends LeanflowEvent {
  data: { name: string; parent?: { runId: string; step: string }; steps?: Record<string, { needs: string[] }> }
}

/**
 * What `runner.observe` tells `onEvent` beside an event (see `@leanflow/runner`'s `EventInfo`):
 * with a terminal event, the attempts the end cut off — started, never completed or failed —
 * wherever they ran; with `step.failed`, when the failed attempt started.
 */
export interface EventInfo {
  open?: Array<{
    step: string
    attempt: number
    startedAt: string
    suspended: boolean
    awaits?: Array<{ type: string; position: number; since: string }>
  }>
  attemptStartedAt?: string
}

/** What `runner.observe` tells `startMeta` (see `@leanflow/runner`'s `RunStart`). */
export interface RunStartInfo {
  flow: string
  runId: string
  parent?: { runId: string; step: string; attempt: number; started: StartedEvent | undefined }
}

/**
 * The part of a leanflow runner `instrumentRunner` uses: `runner.observe` (a `Runner` of
 * `@leanflow/runner` has it).
 */
export interface ObservableRunner {
  observe(observer: {
    onEvent?(event: LeanflowEvent, started: StartedEvent, info?: EventInfo): void
    startMeta?(start: RunStartInfo): { traceparent?: string } | undefined
  }): () => void
}

/** An attribute value of a span or a measurement. */
export type AttributeValue = string | number | boolean

/** A span the events of a run map to, with explicit ids and times (ms since the epoch). */
export interface SpanSpec {
  name: string
  traceId: string
  spanId: string
  /** The parent span (the run's span, the caller's span, or none). */
  parentSpanId?: string
  traceFlags: number
  startTime: number
  endTime: number
  attributes: Record<string, AttributeValue>
  events: SpanEventSpec[]
  /** Set for a failed attempt or run: the span's status is ERROR with this message. */
  error?: string
}

/** A span event: its name, time (ms since the epoch) and attributes. */
export interface SpanEventSpec {
  name: string
  time: number
  attributes: Record<string, AttributeValue>
}

/** The instruments of {@link SpanMapper}'s measurements. */
export type MetricName =
  | 'leanflow.runs.started'
  | 'leanflow.runs.completed'
  | 'leanflow.runs.failed'
  | 'leanflow.runs.canceled'
  | 'leanflow.step.attempts'
  | 'leanflow.step.duration'
  | 'leanflow.step.queue_lag'

/** One value for one instrument. */
export interface Measurement {
  metric: MetricName
  value: number
  attributes: Record<string, AttributeValue>
}
