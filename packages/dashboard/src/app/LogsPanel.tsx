import type { LogEntry } from '@leanflow/core'
import { useState } from 'preact/hooks'
import { formatTime, json } from './format.js'

const LEVELS = ['debug', 'info', 'warn', 'error'] as const
/** Logs shown until asked for all: a run of thousands renders (and time-travels) at the speed of a few. */
const LAST = 200

/** The run's logs, filtered to a minimum level; the last 200 until asked for all. */
export function LogsPanel({ logs }: { logs: readonly LogEntry[] }) {
  const [min, setMin] = useState<string>('debug')
  const [all, setAll] = useState(false)
  const floor = LEVELS.indexOf(min as (typeof LEVELS)[number])
  const level = logs.filter((l) => LEVELS.indexOf(l.level as (typeof LEVELS)[number]) >= floor)
  const shown = all ? level : level.slice(-LAST)
  return (
    <section aria-labelledby="logs-h">
      <h2 id="logs-h">Logs</h2>
      {level.length > shown.length && (
        <button type="button" data-testid="logs-all" onClick={() => setAll(true)}>
          Show all {level.length} (the last {LAST} shown)
        </button>
      )}
      <label>
        Level at least{' '}
        <select data-testid="log-level" value={min} onChange={(e) => setMin((e.target as HTMLSelectElement).value)}>
          {LEVELS.map((l) => (
            <option key={l} value={l}>
              {l}
            </option>
          ))}
        </select>
      </label>
      <ol class="logs" data-testid="logs">
        {shown.map((l) => (
          <li key={l.id} class={`log l-${l.level}`} data-level={l.level}>
            <time>{formatTime(l.ts)}</time> <span class="level">{l.level}</span> {l.step && <span class="mono">[{l.step}]</span>} {l.msg}
            {l.fields && <code class="fields"> {json(l.fields).replace(/\s+/g, ' ')}</code>}
          </li>
        ))}
        {shown.length === 0 && <li class="muted">No logs{logs.length > 0 ? ' at this level' : ''}.</li>}
      </ol>
    </section>
  )
}
