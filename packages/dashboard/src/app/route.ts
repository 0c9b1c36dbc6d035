// The hash router: `#/` (flows), `#/flows/<flow>` (its runs), `#/runs/<runId>` (one run),
// `#/schedules`. A deep link works on a fresh load: the route is read from location.hash.
import { useEffect, useState } from 'preact/hooks'

export type Route =
  | { view: 'flows' }
  | { view: 'runs'; flow: string; status?: string }
  | { view: 'run'; runId: string }
  | { view: 'schedules' }
  | { view: 'missing'; hash: string }

/** Parses a location hash. */
export function parseRoute(hash: string): Route {
  const [path = '/', query = ''] = hash.replace(/^#/, '').split('?', 2)
  const parts = path.split('/').filter(Boolean).map(safeDecode)
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'flows')) return { view: 'flows' }
  if (parts.length === 2 && parts[0] === 'flows') {
    const status = new URLSearchParams(query).get('status')
    return status ? { view: 'runs', flow: parts[1]!, status } : { view: 'runs', flow: parts[1]! }
  }
  if (parts.length === 2 && parts[0] === 'runs') return { view: 'run', runId: parts[1]! }
  if (parts.length === 1 && parts[0] === 'schedules') return { view: 'schedules' }
  return { view: 'missing', hash }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

export const hrefFlow = (flow: string, status?: string) => `#/flows/${encodeURIComponent(flow)}${status ? `?status=${status}` : ''}`
export const hrefRun = (runId: string) => `#/runs/${encodeURIComponent(runId)}`

/** The current route, following hash changes. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash))
    addEventListener('hashchange', on)
    return () => removeEventListener('hashchange', on)
  }, [])
  return route
}
