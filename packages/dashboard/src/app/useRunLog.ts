import { type EventRecord, emptyFlowState, type FlowState } from '@leanflow/core'
import { watchRun } from '@leanflow/http/client'
import { useEffect, useRef, useState } from 'preact/hooks'
import { streamUrl } from './api.js'

/** A run's log and state as they arrive over SSE. */
export interface RunLog {
  /** Every event so far, in id order (the same array, grown in place; `version` tells a change). */
  events: EventRecord[]
  state: FlowState
  version: number
  /** The stream's failure (unknown run, refused request), with the API's message when it sent one. */
  error?: string
}

/**
 * Follows a run live with `watchRun` (backfill, then live, reconnecting without loss), keeping its
 * events for the raw log and the time-travel scrubber; renders at most once per animation frame.
 */
export function useRunLog(runId: string): RunLog {
  const events = useRef<EventRecord[]>([])
  const state = useRef<FlowState>(emptyFlowState())
  const [version, setVersion] = useState(0)
  const [error, setError] = useState<string | undefined>()
  useEffect(() => {
    events.current = []
    state.current = emptyFlowState()
    let frame = 0
    const render = () => {
      if (frame !== 0) return
      frame = requestAnimationFrame(() => {
        frame = 0
        setVersion((v) => v + 1)
      })
    }
    const w = watchRun(streamUrl(runId), {
      onEvent: (e) => {
        events.current.push(e)
      },
      onState: (s) => {
        // a reset (history gone) starts again from an empty state: so does the kept log
        if (s.lastEventId === undefined) events.current = []
        state.current = s
        render()
      },
      // an unknown run (or one retention removed) says so; any other refusal keeps the API's message
      onError: (err) => setError(err.status === 404 ? `No run ${runId}: it never existed, or retention removed it.` : err.message),
    })
    return () => {
      w.close()
      cancelAnimationFrame(frame)
    }
  }, [runId])
  return { events: events.current, state: state.current, version, ...(error === undefined ? {} : { error }) }
}
