import { applyEvent, compareEventIds, type EventRecord, emptyFlowState, type FlowState } from '@leanflow/core'
import { type RunWatcher, watchRun } from '@leanflow/http/client'
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, apiBaseHint, streamUrl } from './api.js'

/** A run's log and state as they arrive over SSE. */
export interface RunLog {
  /** Every event so far, in id order (the same array, grown in place; `version` tells a change). */
  events: EventRecord[]
  state: FlowState
  version: number
  /** The stream's failure (unknown run, refused request, API unreachable), with the API's message when it sent one. */
  error?: string
}

/** The first wait before following again a stream the API (or a proxy in front of it) dropped; doubled up to {@link MAX_RETRY_MS}. */
const RETRY_MS = 1000
const MAX_RETRY_MS = 10_000

/** How long a dropped stream may retry on its own before the page says it is not live. */
const LOST_AFTER_MS = 2000
const LOST = (why: string) => `Lost the run's live stream (${why}): following it again when the API answers…`

/**
 * A stream that failed for a while, not for good: no answer at all (the API down), or a 5xx, 408
 * or 429 (a proxy in front of the API, `EventSource` gives up on any of them), or one that failed
 * while a request to it answers 2xx (watchRun followed it again a few times). A 4xx is an answer.
 */
const passing = (status: number | undefined) => status === undefined || status < 300 || status >= 500 || status === 408 || status === 429

/**
 * Follows a run live with `watchRun` (backfill, then live, reconnecting without loss), keeping its
 * events for the raw log and the time-travel scrubber; renders at most once per animation frame.
 * A stream that fails for a while (the API down, a proxy's 502) is followed again from the last
 * event shown once the API answers, so the page goes on live after an outage without a reload.
 */
export function useRunLog(runId: string): RunLog {
  const events = useRef<EventRecord[]>([])
  const state = useRef<FlowState>(emptyFlowState())
  const [version, setVersion] = useState(0)
  const [error, setError] = useState<string | undefined>()
  useEffect(() => {
    events.current = []
    state.current = emptyFlowState()
    setError(undefined)
    let frame = 0
    let closed = false
    let watcher: RunWatcher | undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    // the stream dropped and retrying (`quiet`: until the page says so), and whether it says so
    let quiet: ReturnType<typeof setTimeout> | undefined
    let lost = false
    const render = () => {
      if (frame !== 0) return
      frame = requestAnimationFrame(() => {
        frame = 0
        setVersion((v) => v + 1)
      })
    }
    /** Watches the run: from its start, or after an outage from the last event kept (`?after=`). */
    const follow = (retryMs: number) => {
      const after = state.current.lastEventId
      // from the start, watchRun's state is the run's; from `after`, only what came since: folded here then
      let fold = after !== undefined
      watcher = watchRun(after === undefined ? streamUrl(runId) : `${streamUrl(runId)}?after=${encodeURIComponent(after)}`, {
        onEvent: (e) => {
          const last = state.current.lastEventId
          if (last !== undefined && compareEventIds(e.id, last) <= 0) return
          events.current.push(e)
          if (fold) state.current = applyEvent(state.current, e)
        },
        onState: (s) => {
          if (s.lastEventId === undefined) {
            // a reset (history gone): watchRun starts again from scratch, and so does the kept log
            events.current = []
            fold = false
          }
          if (!fold) state.current = s
          render()
        },
        // the API gone (no answer): the browser's EventSource retries on its own and says nothing
        // more; after a moment without the stream back, the page says so (and no more once it is)
        onConnection: (status) => {
          if (closed) return
          if (status === 'open') {
            clearTimeout(quiet)
            quiet = undefined
            if (lost) setError(undefined)
            lost = false
            return
          }
          // counted from the first retry: each failed retry says 'retrying' again
          quiet ??= setTimeout(() => {
            if (closed) return
            lost = true
            setError(LOST('no answer'))
          }, LOST_AFTER_MS)
        },
        onError: (err) => {
          if (closed) return
          clearTimeout(quiet)
          quiet = undefined
          // an unknown run (or one retention removed) says so; any other refusal keeps the API's message
          if (err.code === 'RUN_NOT_FOUND') return setError(`No run ${runId}: it never existed, or retention removed it.`)
          if (!passing(err.status)) return setError(`${err.message}${apiBaseHint(err.status, err.code)}`)
          watcher?.close()
          setError(LOST(err.status === undefined ? 'no answer' : `HTTP ${err.status}`))
          retry(retryMs)
        },
      })
    }
    /**
     * Waits `ms`, then follows again once the API answers (asked for one event after the last one
     * kept); while it does not (no answer, 5xx), waits twice as long. A refusal of that read
     * (`runs.read`) is an answer too: the stream (`runs.stream`) may still be allowed.
     */
    const retry = (ms: number) => {
      timer = setTimeout(() => {
        api.events(runId, state.current.lastEventId, 1).then(
          () => !closed && again(RETRY_MS),
          (err) => {
            if (closed) return
            if (err?.code === 'RUN_NOT_FOUND') return setError(`No run ${runId}: it never existed, or retention removed it.`)
            if (err?.status === 404) return setError(err.message) // the API is not at apiBase: the message says so
            // answered, but not with the API's JSON (an app's catch-all page): the message names apiBase
            if (err?.status !== undefined && err.status < 300) return setError(err.message)
            if (passing(err?.status)) return retry(Math.min(ms * 2, MAX_RETRY_MS))
            again(Math.min(ms * 2, MAX_RETRY_MS))
          },
        )
      }, ms)
    }
    const again = (retryMs: number) => {
      setError(undefined)
      follow(retryMs)
    }
    follow(RETRY_MS)
    return () => {
      closed = true
      watcher?.close()
      clearTimeout(timer)
      clearTimeout(quiet)
      cancelAnimationFrame(frame)
    }
  }, [runId])
  return { events: events.current, state: state.current, version, ...(error === undefined ? {} : { error }) }
}
