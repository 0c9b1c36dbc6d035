import { useEffect, useState } from 'preact/hooks'
import { ApiError, api, config } from './api.js'
import { FlowsView } from './FlowsView.js'
import { RunSearch } from './RunSearch.js'
import { RunsView } from './RunsView.js'
import { RunView } from './RunView.js'
import { hrefRun, useRoute } from './route.js'
import { SchedulesView } from './SchedulesView.js'

/** The shell: header with navigation and run search, then the view of the hash route. */
export function App() {
  const route = useRoute()
  // whether the API serves GET /schedules (a runner with schedules): undefined until it answers
  const [hasSchedules, setHasSchedules] = useState<boolean | undefined>()
  useEffect(() => {
    // the Schedules view only when it does; asked again on the next route while the API did not answer (down)
    if (hasSchedules !== undefined) return
    api.schedules().then(
      () => setHasSchedules(true),
      (err) => err instanceof ApiError && err.status !== undefined && err.status < 500 && setHasSchedules(false),
    )
  }, [route])
  useEffect(() => {
    const where = route.view === 'runs' ? route.flow : route.view === 'run' ? `run ${route.runId}` : route.view
    document.title = `${where} · ${config.title}`
  }, [route])
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          {config.title}
        </a>
        <nav aria-label="views">
          <a href="#/" aria-current={route.view === 'flows' || route.view === 'runs' ? 'page' : undefined}>
            Flows
          </a>
          {hasSchedules && (
            <a href="#/schedules" data-testid="nav-schedules" aria-current={route.view === 'schedules' ? 'page' : undefined}>
              Schedules
            </a>
          )}
        </nav>
        <RunSearch />
      </header>
      <main>
        {route.view === 'flows' && <FlowsView />}
        {route.view === 'runs' && <RunsView key={route.flow} flow={route.flow} status={route.status} />}
        {route.view === 'run' && <RunView key={route.runId} runId={route.runId} />}
        {route.view === 'schedules' && <SchedulesView />}
        {route.view === 'missing' && (
          <p class="error" role="alert">
            Nothing at {route.hash}: try <a href="#/">the flows</a> or a run such as <code>{hrefRun('<runId>')}</code>.
          </p>
        )}
      </main>
    </>
  )
}
