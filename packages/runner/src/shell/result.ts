import {
  AwaitTimeoutError,
  assertKnownKeys,
  assertName,
  type Duration,
  type EventRecord,
  isTerminalKind,
  LeanflowError,
  parseDuration,
  RunCanceledError,
  RunFailedError,
  type StreamStore,
} from '@leanflow/core'
import { longTimeout } from './longTimer.js'
import { OBSERVER_SETTLE_MS, settledWithin } from './observers.js'

/**
 * `runner.result`: follows the run's log from its start to its terminal event (from any process:
 * it needs the store only) and answers with its result, or the error it ended in, once
 * `observers.settled` resolves (this process's observers told of the run's end, when it appended it).
 */
export async function resultOf<R>(
  store: StreamStore,
  runId: string,
  opts: { timeout?: Duration | undefined } = {},
  served: () => boolean = () => true,
  observers: { settled(runId: string): Promise<void> } = { settled: async () => {} },
  settleMs = OBSERVER_SETTLE_MS,
  warn: (err: Error) => void = () => {},
): Promise<R> {
  assertName(runId, 'run id')
  if (typeof opts !== 'object' || opts === null) {
    throw new LeanflowError(
      'INVALID_ARGUMENT',
      `result options must be an object { timeout? }, got ${String(opts)}: pass { timeout: '30s' }, or leave it out.`,
    )
  }
  assertKnownKeys(opts, ['timeout'], 'runner.result')
  const timeoutMs = opts.timeout === undefined ? undefined : parseDuration(opts.timeout, 'result timeout')
  const ac = new AbortController()
  // the timeout bounds the wait for the run's end, not the reading of an end already stored: until
  // the run is known to be still going, a timer that is due only marks it (`timeout: 0` on an ended run
  // answers its outcome)
  let due = false
  let going = false
  let timedOut = false
  const expire = () => {
    timedOut = true
    ac.abort()
  }
  const cancelTimer =
    timeoutMs === undefined
      ? undefined
      : longTimeout(() => {
          due = true
          if (going) expire()
        }, timeoutMs)
  // without a timeout, a wait no worker can end (the memory queue of a runner never started) is
  // said once after a while, rather than waiting silently (and a script exiting 13 with no word)
  const hint =
    timeoutMs === undefined && !served()
      ? setTimeout(() => {
          if (!served())
            warn(
              new LeanflowError(
                'INVALID_ARGUMENT',
                `runner.result("${runId}") is waiting, but no worker takes the run's jobs: the runner has the memory queue, and no runner of this process is started on it. Call runner.start() (or pass a timeout).`,
              ),
            )
        }, UNSERVED_HINT_MS)
      : undefined
  try {
    const [first] = await store.read(runId, { limit: 1 })
    if (!first) throw new LeanflowError('RUN_NOT_FOUND', `Run "${runId}" does not exist (or has expired): check the run id.`)
    if (timeoutMs !== undefined && !(await hasEnded(store, runId))) {
      going = true
      if (due) expire()
    }
    try {
      for await (const e of store.follow(runId, { signal: ac.signal })) {
        const end = outcome<R>(runId, e)
        if (!end) continue
        // the observers told of the end this process appended, waited for a while at most: an
        // append of it that hangs (a client without a command timeout) does not hold the answer
        await settledWithin(observers.settled(runId), settleMs)
        if ('error' in end) throw end.error
        return end.value
      }
    } catch (err) {
      if (!timedOut) throw err
    }
    if (timedOut) {
      // the memory queue of a runner never started: nothing in this process runs the run's jobs
      const idle = served()
        ? ''
        : ' No worker takes its jobs: the runner has the memory queue, and no runner of this process is started on it. Call runner.start().'
      throw new AwaitTimeoutError(`Run "${runId}" did not end within ${timeoutMs} ms.${idle}`)
    }
    // the follow ended before the run did: its log expired, or the store was closed (a closed
    // store rejects this read with its own STORE_UNAVAILABLE)
    const [still] = await store.read(runId, { limit: 1 })
    if (still) {
      throw new LeanflowError(
        'STORE_UNAVAILABLE',
        `Run "${runId}" has not ended, and following its log stopped: the store was closed. Keep the store open while you await runner.result.`,
      )
    }
    throw new LeanflowError('RUN_NOT_FOUND', `Run "${runId}" expired before it ended.`)
  } finally {
    cancelTimer?.()
    clearTimeout(hint)
    ac.abort()
  }
}

/** How long `runner.result` without a timeout waits on an unserved memory queue before it says so, ms. */
export const UNSERVED_HINT_MS = 2000

/**
 * True when run `runId` has ended: its end as the store records it (`runEnd`), else a terminal
 * event among its last 8 (a store without `runEnd`).
 */
async function hasEnded(store: StreamStore, runId: string): Promise<boolean> {
  if (store.runEnd) return (await store.runEnd(runId)) !== undefined
  const tail = await store.read(runId, { direction: 'backward', limit: 8 })
  return tail.some((e) => isTerminalKind(e.kind))
}

/** The answer a terminal event gives: the result, or the run's error. */
function outcome<R>(runId: string, e: EventRecord): { value: R } | { error: Error } | undefined {
  const data = (e.data ?? {}) as { result?: unknown; error?: unknown; reason?: unknown }
  if (e.kind === 'flow.completed') return { value: data.result as R }
  if (e.kind === 'flow.failed') return { error: new RunFailedError(runId, String(data.error ?? 'failed')) }
  if (e.kind === 'flow.canceled') return { error: new RunCanceledError(runId, data.reason === undefined ? undefined : String(data.reason)) }
  return undefined
}
