import { reduceFlow } from '@leanflow/core'
import { useEffect, useMemo, useState } from 'preact/hooks'
import { api, messageOf, type RunRow } from './api.js'
import { formatDuration, formatTime, json, shortId } from './format.js'
import { LogsPanel } from './LogsPanel.js'
import { RawEvents } from './RawEvents.js'
import { RunActions } from './RunActions.js'
import { hrefFlow, hrefRun } from './route.js'
import { StepGraph } from './StepGraph.js'
import { StepTimeline } from './StepTimeline.js'
import { useRunLog } from './useRunLog.js'

/**
 * One run, live: its status, step graph, timeline, logs, state, raw events and relations, and a
 * time-travel scrubber that shows the run as it was after any event (`reduceFlow(events, { until })`).
 */
export function RunView({ runId }: { runId: string }) {
  const log = useRunLog(runId)
  // the scrubber's position: an index into the events, or null to follow the run live
  const [at, setAt] = useState<number | null>(null)
  const [now, setNow] = useState(Date.now())
  const live = log.state
  useEffect(() => {
    if (live.completedAt) return
    const t = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(t)
  }, [live.completedAt])
  const n = log.events.length
  const pos = at === null || at >= n ? null : at
  const event = pos === null ? undefined : log.events[pos]
  // the past is reduced once per position (not on every tick of the clock), the present is the live state
  const past = useMemo(() => (event ? reduceFlow(log.events, { until: event.id }) : undefined), [event, log.events])
  const state = past ?? live
  const shownEvents = pos === null ? log.events : log.events.slice(0, pos + 1)
  const asOf = event ? Date.parse(event.ts) : now
  const focus = (step: string) => document.getElementById(`step-row-${step}`)?.scrollIntoView({ block: 'center' })
  if (log.error && n === 0)
    return (
      <p class="error" role="alert" data-testid="run-error">
        {log.error}
      </p>
    )
  return (
    <article aria-labelledby="run-h">
      <header class="run-head">
        <h1 id="run-h">
          {state.name ? <a href={hrefFlow(state.name)}>{state.name}</a> : 'run'}{' '}
          <span class="mono" data-testid="run-id">
            {runId}
          </span>
        </h1>
        <span class={`badge big s-${state.status}`} data-testid="run-status">
          {state.status}
        </span>
        <dl class="meta">
          {state.startedAt && (
            <>
              <dt>started</dt>
              <dd>{formatTime(state.startedAt)}</dd>
            </>
          )}
          {state.duration !== undefined && (
            <>
              <dt>took</dt>
              <dd>{formatDuration(state.duration)}</dd>
            </>
          )}
          {state.version !== undefined && (
            <>
              <dt>version</dt>
              <dd>{state.version}</dd>
            </>
          )}
          {state.parent && (
            <>
              <dt>parent</dt>
              <dd>
                <a data-testid="parent-link" href={hrefRun(state.parent.runId)}>
                  {shortId(state.parent.runId)}
                </a>{' '}
                (step {state.parent.step})
              </dd>
            </>
          )}
          {state.rerunOf && (
            <>
              <dt>rerun of</dt>
              <dd>
                <a data-testid="rerun-of" href={hrefRun(state.rerunOf.runId)}>
                  {shortId(state.rerunOf.runId)}
                </a>
                {state.rerunOf.from ? ` from ${state.rerunOf.from}` : ''}
              </dd>
            </>
          )}
          {state.queued && (
            <>
              <dt>queued</dt>
              <dd>
                waits for {state.queued.reason}
                {state.queued.key ? ` (key ${state.queued.key})` : ''}
              </dd>
            </>
          )}
          {state.cancelReason && (
            <>
              <dt>cancel reason</dt>
              <dd>{state.cancelReason}</dd>
            </>
          )}
        </dl>
        {state.error && (
          <p class="error" data-testid="run-error-message">
            {state.error}
          </p>
        )}
        {log.error && (
          <p class="error" role="alert" data-testid="run-stream-error">
            {log.error}
          </p>
        )}
      </header>
      <section class="scrubber" aria-labelledby="scrub-h">
        <h2 id="scrub-h" class="sr-only">
          Time travel
        </h2>
        <label>
          Time travel{' '}
          <input
            type="range"
            data-testid="scrubber"
            min={0}
            max={Math.max(0, n - 1)}
            value={pos ?? Math.max(0, n - 1)}
            disabled={n === 0}
            onInput={(e) => {
              const v = Number((e.target as HTMLInputElement).value)
              setAt(v >= n - 1 ? null : v)
            }}
            aria-valuetext={event ? `after event ${pos! + 1} of ${n}: ${event.kind}` : `live, ${n} events`}
          />
        </label>{' '}
        <span data-testid="scrub-position">
          {event ? `after event ${pos! + 1} of ${n} (${event.kind}, ${formatTime(event.ts)})` : `live · ${n} events`}
        </span>{' '}
        {event && (
          <button type="button" data-testid="scrub-live" onClick={() => setAt(null)}>
            Back to live
          </button>
        )}
      </section>
      <section aria-labelledby="graph-h" class="graph-box">
        <h2 id="graph-h">Steps</h2>
        <StepGraph state={state} onSelect={focus} />
        <StepTimeline state={state} events={shownEvents} now={asOf} />
      </section>
      <div class="columns">
        <RunActions runId={runId} state={live} />
        <section aria-labelledby="state-h">
          <h2 id="state-h">State</h2>
          <pre data-testid="state">{json(state.state)}</pre>
          <h3>Input</h3>
          <pre data-testid="input">{json(state.input)}</pre>
          {state.result !== undefined && (
            <>
              <h3>Result</h3>
              <pre data-testid="result">{json(state.result)}</pre>
            </>
          )}
          <Children runId={runId} count={live.children ?? 0} status={live.status} />
        </section>
      </div>
      <LogsPanel logs={state.logs} />
      <RawEvents events={shownEvents} />
    </article>
  )
}

/**
 * The child runs the run invoked (`GET /runs/:runId/children`), 100 at a time: the first page read
 * again when their number or the run's status changes, and "More child runs" reads the page after
 * the last one shown (`after`), as long as fewer are shown than the run invoked.
 */
function Children({ runId, count, status }: { runId: string; count: number; status: string }) {
  const [first, setFirst] = useState<RunRow[]>([])
  const [later, setLater] = useState<RunRow[]>([])
  // a refused or failed read: the API's message, until a read succeeds
  const [error, setError] = useState('')
  const failed = (err: unknown) => setError(`Child runs refused: ${messageOf(err)}`)
  useEffect(() => {
    setFirst([])
    setLater([])
    setError('')
  }, [runId])
  useEffect(() => {
    if (count === 0) return
    api.children(runId).then((r) => {
      setFirst(r.children)
      setError('')
    }, failed)
  }, [runId, count, status])
  if (count === 0) return null
  const seen = new Set<string>()
  const shown = [...first, ...later].filter((c) => !seen.has(c.runId) && seen.add(c.runId))
  const more = () => {
    const after = shown.at(-1)?.runId
    if (after === undefined) return
    api.children(runId, after).then((r) => {
      setLater((rows) => [...rows, ...r.children])
      setError('')
    }, failed)
  }
  return (
    <>
      <h3>Child runs ({count})</h3>
      <p class="error" role="alert" data-testid="children-error">
        {error}
      </p>
      <ul data-testid="children">
        {shown.map((c) => (
          <li key={c.runId}>
            <a href={hrefRun(c.runId)} data-run={c.runId}>
              {c.flow} {shortId(c.runId)}
            </a>{' '}
            <span class={`badge s-${c.status}`}>{c.status}</span>
          </li>
        ))}
      </ul>
      {shown.length > 0 && shown.length < count ? (
        <button type="button" data-testid="children-more" onClick={more}>
          More child runs
        </button>
      ) : null}
    </>
  )
}
