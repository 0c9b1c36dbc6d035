import { randomBytes } from 'node:crypto'

/** The ids the next span must get (set around one synchronous `tracer.startSpan`). */
export interface PendingIds {
  traceId: string
  spanId: string
}

/** The id generator interface of the OpenTelemetry SDKs (`@opentelemetry/sdk-trace-base`'s `IdGenerator`). */
export interface IdGenerator {
  generateTraceId(): string
  generateSpanId(): string
}

// One slot for every copy of this package (ESM and CJS builds may both be loaded).
const SLOT = Symbol.for('leanflow.otel.pendingIds')
const holder = globalThis as { [SLOT]?: PendingIds | undefined }

/** Runs `fn` (which starts one span) with `ids` as the ids the id generator hands out. */
export function withIds<T>(ids: PendingIds, fn: () => T): T {
  holder[SLOT] = ids
  try {
    return fn()
  } finally {
    holder[SLOT] = undefined
  }
}

/**
 * An OpenTelemetry SDK id generator that gives leanflow's spans the ids every process derives
 * from the run (so the spans of several workers join one trace, parented right), and random
 * ids — or `fallback`'s — to every other span. Pass it to your tracer provider.
 *
 * @example
 * ```ts
 * import { NodeSDK } from '@opentelemetry/sdk-node'
 * const sdk = new NodeSDK({ idGenerator: createIdGenerator(), traceExporter })
 * ```
 */
export function createIdGenerator(fallback?: IdGenerator): IdGenerator {
  return {
    generateTraceId: () => holder[SLOT]?.traceId ?? fallback?.generateTraceId() ?? randomBytes(16).toString('hex'),
    generateSpanId: () => holder[SLOT]?.spanId ?? fallback?.generateSpanId() ?? randomBytes(8).toString('hex'),
  }
}
