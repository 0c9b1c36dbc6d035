import dagre from '@dagrejs/dagre'
import type { FlowState, StepState } from '@leanflow/core'
import { useMemo } from 'preact/hooks'

const NODE_W = 150
const NODE_H = 40

/** The steps as a DAG laid out by dagre: an edge from each of a step's `needs` to the step. */
export function StepGraph({ state, onSelect }: { state: FlowState; onSelect?: (step: string) => void }) {
  const steps = Object.values(state.steps)
  // the layout depends only on the steps and their needs, not on their statuses
  const shape = steps.map((s) => `${s.name}<${(s.needs ?? []).join(',')}`).join(';')
  const layout = useMemo(() => {
    // dagre keeps nodes and edges in plain objects: a step named `constructor` or `toString` (the
    // name rule allows them) would collide with their prototype's, so each node id is prefixed
    const id = (name: string) => `step:${name}`
    const g = new dagre.graphlib.Graph()
    g.setGraph({ rankdir: 'LR', nodesep: 16, ranksep: 40, marginx: 8, marginy: 8 })
    g.setDefaultEdgeLabel(() => ({}))
    for (const s of steps) g.setNode(id(s.name), { width: NODE_W, height: NODE_H })
    for (const s of steps) for (const n of s.needs ?? []) if (Object.hasOwn(state.steps, n)) g.setEdge(id(n), id(s.name))
    try {
      dagre.layout(g)
    } catch {
      // no graph rather than no run view: the steps' table shows them all the same
      return undefined
    }
    const nodes = g.nodes().map((node) => ({ name: node.slice('step:'.length), ...(g.node(node) as { x: number; y: number }) }))
    const edges = g.edges().map((e) => (g.edge(e) as { points: Array<{ x: number; y: number }> }).points)
    const { width = 0, height = 0 } = g.graph() as { width?: number; height?: number }
    return { nodes, edges, width, height }
  }, [shape])
  if (steps.length === 0 || !layout) return null
  return (
    <svg
      class="graph"
      role="img"
      aria-label={`step graph of ${steps.length} steps`}
      viewBox={`0 0 ${layout.width} ${layout.height}`}
      width={layout.width}
      height={layout.height}
      data-testid="step-graph"
    >
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" />
        </marker>
      </defs>
      {layout.edges.map((pts, i) => (
        <polyline key={i} class="edge" points={pts.map((p) => `${p.x},${p.y}`).join(' ')} marker-end="url(#arrow)" />
      ))}
      {layout.nodes.map((n) => {
        const s = Object.hasOwn(state.steps, n.name) ? (state.steps[n.name] as StepState) : undefined
        const status = s?.status ?? 'pending'
        return (
          // biome-ignore lint/a11y/useSemanticElements: an SVG group cannot be a <button>; it is focusable and answers Enter and Space
          <g
            key={n.name}
            class={`node s-${status}`}
            data-testid={`graph-step-${n.name}`}
            data-status={status}
            transform={`translate(${n.x - NODE_W / 2},${n.y - NODE_H / 2})`}
            // lower case: SVG attributes keep the name they are given (`tabIndex` would be no attribute it knows)
            tabindex={0}
            role="button"
            aria-label={`${n.name}: ${status}`}
            onClick={() => onSelect?.(n.name)}
            onKeyDown={(e) => {
              if (e.key !== 'Enter' && e.key !== ' ') return
              e.preventDefault()
              onSelect?.(n.name)
            }}
          >
            <rect width={NODE_W} height={NODE_H} rx="6" />
            <text x="10" y="17" class="name">
              {n.name.length > 18 ? `${n.name.slice(0, 17)}…` : n.name}
            </text>
            <text x="10" y="32" class="status">
              {status}
              {s && s.attempt > 1 ? ` · #${s.attempt}` : ''}
            </text>
          </g>
        )
      })}
    </svg>
  )
}
