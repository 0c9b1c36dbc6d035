// The route table and matchRoute: a method and a path under basePath to a Route (its action,
// its validated parameters), or the 404/405/400 that refuses it. What each route answers is
// answerRoute.ts.
import { assertName, LeanflowError, RESERVED_FLOW_NAMES } from '@leanflow/core'
import type { HandlerAction, RouteParams } from '../types.js'

/** A matched route: what it does and its validated parameters. */
export interface Route {
  action: HandlerAction
  /** Which handler answers it (one action can have several routes). */
  name:
    | 'flows'
    | 'runs.list'
    | 'counts'
    | 'runs.start'
    | 'run'
    | 'children'
    | 'events'
    | 'stream'
    | 'cancel'
    | 'rerun'
    | 'trigger'
    | 'publish'
    | 'schedules.list'
    | 'schedules.pause'
    | 'schedules.resume'
    | 'schedules.trigger'
    | 'limits'
  params: RouteParams
  /** The route needs `options.runner` (`'schedules'`: a runner with `schedules`; `'limits'`: one with `limits`; `'rerun'`: one with `rerun`). */
  needsRunner: boolean | 'schedules' | 'limits' | 'rerun'
  /** The route takes a JSON body (its `Content-Type` must say so). */
  jsonBody: boolean
}

type Shape = { [method: string]: Omit<Route, 'params'> }

const SHAPES = {
  root: { GET: { action: 'flows.list', name: 'flows', needsRunner: false, jsonBody: false } },
  flowRuns: {
    GET: { action: 'runs.list', name: 'runs.list', needsRunner: false, jsonBody: false },
    POST: { action: 'runs.start', name: 'runs.start', needsRunner: true, jsonBody: true },
  },
  flowCounts: { GET: { action: 'runs.list', name: 'counts', needsRunner: false, jsonBody: false } },
  flowLimits: { GET: { action: 'limits.read', name: 'limits', needsRunner: 'limits', jsonBody: false } },
  run: { GET: { action: 'runs.read', name: 'run', needsRunner: false, jsonBody: false } },
  runEvents: { GET: { action: 'runs.read', name: 'events', needsRunner: false, jsonBody: false } },
  runChildren: { GET: { action: 'runs.read', name: 'children', needsRunner: false, jsonBody: false } },
  runStream: { GET: { action: 'runs.stream', name: 'stream', needsRunner: false, jsonBody: false } },
  runCancel: { POST: { action: 'runs.cancel', name: 'cancel', needsRunner: true, jsonBody: true } },
  runRerun: { POST: { action: 'runs.rerun', name: 'rerun', needsRunner: 'rerun', jsonBody: true } },
  trigger: { POST: { action: 'triggers.resolve', name: 'trigger', needsRunner: true, jsonBody: true } },
  events: { POST: { action: 'events.publish', name: 'publish', needsRunner: true, jsonBody: true } },
  schedules: { GET: { action: 'schedules.read', name: 'schedules.list', needsRunner: 'schedules', jsonBody: false } },
  schedulePause: { POST: { action: 'schedules.write', name: 'schedules.pause', needsRunner: 'schedules', jsonBody: true } },
  scheduleResume: { POST: { action: 'schedules.write', name: 'schedules.resume', needsRunner: 'schedules', jsonBody: true } },
  scheduleTrigger: { POST: { action: 'schedules.write', name: 'schedules.trigger', needsRunner: 'schedules', jsonBody: true } },
} satisfies Record<string, Shape>

/** Normalizes a base path: leading slash, no trailing slash (`''` for the root). */
export function normalizeBasePath(basePath: string): string {
  let p = basePath.trim()
  if (!p.startsWith('/')) p = `/${p}`
  while (p.endsWith('/')) p = p.slice(0, -1)
  return p
}

function notFound(pathname: string): LeanflowError {
  return new LeanflowError('NOT_FOUND', `No leanflow route at ${JSON.stringify(pathname)}: see docs/http.md for the routes.`)
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    // malformed percent-encoding: let the name check refuse it verbatim
    return segment
  }
}

/** The shape of the path under `basePath` (one trailing slash ignored) and its decoded segments; NOT_FOUND otherwise. */
function findShape(pathname: string, basePath: string): { shape: Shape; segs: Array<string | undefined> } {
  if (pathname !== basePath && !pathname.startsWith(`${basePath}/`)) throw notFound(pathname)
  let rest = pathname.slice(basePath.length)
  if (rest.endsWith('/')) rest = rest.slice(0, -1)
  const segs = rest === '' ? [] : rest.slice(1).split('/')
  const [a, b, c] = segs.map(decode)
  let shape: Shape | undefined
  if (segs.length === 0) shape = SHAPES.root
  else if (a === 'runs' && segs.length === 2) shape = SHAPES.run
  else if (a === 'runs' && segs.length === 3 && c === 'events') shape = SHAPES.runEvents
  else if (a === 'runs' && segs.length === 3 && c === 'children') shape = SHAPES.runChildren
  else if (a === 'runs' && segs.length === 3 && c === 'stream') shape = SHAPES.runStream
  else if (a === 'runs' && segs.length === 3 && c === 'cancel') shape = SHAPES.runCancel
  else if (a === 'runs' && segs.length === 3 && c === 'rerun') shape = SHAPES.runRerun
  else if (a === 'triggers' && segs.length === 2) shape = SHAPES.trigger
  else if (a === 'events' && segs.length === 1) shape = SHAPES.events
  else if (a === 'schedules' && segs.length === 1) shape = SHAPES.schedules
  else if (a === 'schedules' && segs.length === 3 && c === 'pause') shape = SHAPES.schedulePause
  else if (a === 'schedules' && segs.length === 3 && c === 'resume') shape = SHAPES.scheduleResume
  else if (a === 'schedules' && segs.length === 3 && c === 'trigger') shape = SHAPES.scheduleTrigger
  // the reserved flow names are the routes above: `/schedules/runs` is no flow's run list, and
  // `/runs/limits` is the run "limits" (matched above), not a flow's limits (nor `/runs/counts` a flow's counts)
  else if (segs.length === 2 && b === 'runs' && a !== undefined && !RESERVED_FLOW_NAMES.includes(a)) shape = SHAPES.flowRuns
  else if (segs.length === 2 && b === 'limits' && a !== undefined && !RESERVED_FLOW_NAMES.includes(a)) shape = SHAPES.flowLimits
  else if (segs.length === 2 && b === 'counts' && a !== undefined && !RESERVED_FLOW_NAMES.includes(a)) shape = SHAPES.flowCounts
  if (shape === undefined) throw notFound(pathname)
  return { shape, segs: [a, b, c] }
}

/** The methods a path under `basePath` answers (`['GET', 'POST']`); NOT_FOUND (404) for any other path. */
export function routeMethods(pathname: string, basePath: string): string[] {
  return Object.keys(findShape(pathname, basePath).shape)
}

/**
 * Matches a method and path under `basePath` (one trailing slash ignored, path
 * parameters percent-decoded then validated as names). Throws NOT_FOUND (404),
 * METHOD_NOT_ALLOWED (405) or INVALID_NAME (400).
 */
export function matchRoute(method: string, pathname: string, basePath: string): Route {
  const { shape, segs } = findShape(pathname, basePath)
  const [a, b] = segs
  const found = shape[method]
  if (found === undefined) {
    const allow = Object.keys(shape).join(', ')
    const err = new LeanflowError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${JSON.stringify(pathname)}: use ${allow}.`)
    Object.defineProperty(err, 'allow', { value: allow })
    throw err
  }
  let params: RouteParams = {}
  if (shape === SHAPES.flowRuns || shape === SHAPES.flowLimits || shape === SHAPES.flowCounts) params = { flow: assertName(a, 'flow name') }
  else if (shape === SHAPES.trigger) params = { triggerId: assertName(b, 'trigger id') }
  else if (a === 'schedules' && shape !== SHAPES.schedules) params = { scheduleId: assertName(b, 'schedule id') }
  else if (a === 'runs') params = { runId: assertName(b, 'run id') }
  return { ...found, params }
}
