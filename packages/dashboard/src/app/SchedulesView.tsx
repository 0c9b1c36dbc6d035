import { useEffect, useState } from 'preact/hooks'
import { api, messageOf, type ScheduleRow } from './api.js'
import { formatTime } from './format.js'
import { hrefFlow, hrefRun } from './route.js'

/** The runner's schedules (`GET /schedules`) with pause, resume and trigger-now. */
export function SchedulesView() {
  const [schedules, setSchedules] = useState<ScheduleRow[] | undefined>()
  // a failed read (the API down) shows until a read succeeds; an action's refusal until the next action
  const [loadError, setLoadError] = useState('')
  const [error, setError] = useState('')
  const load = () =>
    api.schedules().then(
      (s) => {
        setSchedules(s)
        setLoadError('')
      },
      (err) => setLoadError(messageOf(err)),
    )
  useEffect(() => {
    load()
    const t = setInterval(load, 3000)
    return () => clearInterval(t)
  }, [])
  const act = async (id: string, op: 'pause' | 'resume' | 'trigger') => {
    setError('')
    try {
      const r = (await api.schedule(id, op)) as { runId?: string }
      if (op === 'trigger' && r.runId) location.hash = hrefRun(r.runId)
      else await load()
    } catch (err) {
      setError(messageOf(err))
    }
  }
  return (
    <section aria-labelledby="schedules-h">
      <h1 id="schedules-h">Schedules</h1>
      <p class="error" role="alert">
        {loadError}
      </p>
      <p class="error" role="alert" data-testid="action-error">
        {error}
      </p>
      {schedules?.length === 0 && <p>No schedules.</p>}
      {schedules && schedules.length > 0 && (
        <table data-testid="schedules">
          <thead>
            <tr>
              <th scope="col">schedule</th>
              <th scope="col">flow</th>
              <th scope="col">cadence</th>
              <th scope="col">next run</th>
              <th scope="col">last run</th>
              <th scope="col">actions</th>
            </tr>
          </thead>
          <tbody>
            {schedules.map((s) => (
              <tr key={s.id} data-testid={`schedule-${s.id}`} data-paused={String(s.paused)}>
                <td class="mono">{s.id}</td>
                <td>
                  <a href={hrefFlow(s.flow)}>{s.flow}</a>
                </td>
                <td class="mono">
                  {s.cron ?? `every ${s.every}`} ({s.tz})
                </td>
                <td>{s.paused ? 'paused' : formatTime(s.nextRunAt ?? undefined)}</td>
                <td>
                  {s.lastRun?.runId ? <a href={hrefRun(s.lastRun.runId)}>{formatTime(s.lastRun.tick)}</a> : formatTime(s.lastRun?.tick)}
                </td>
                <td class="actions">
                  {s.paused ? (
                    <button type="button" onClick={() => act(s.id, 'resume')}>
                      Resume
                    </button>
                  ) : (
                    <button type="button" onClick={() => act(s.id, 'pause')}>
                      Pause
                    </button>
                  )}
                  <button type="button" onClick={() => act(s.id, 'trigger')}>
                    Run now
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
