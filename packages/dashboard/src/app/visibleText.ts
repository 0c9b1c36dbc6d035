// Bidirectional-text controls in user data, shown as escapes: an RTL override (U+202E) or an
// isolate in a log message, an event's data or an id would otherwise reorder the text after it,
// and a row could read as something it is not (`invoice\u202Efdp.exe` shown as `invoiceexe.pdf`).
import { options, type VNode } from 'preact'

/** The bidi controls: ALM, LRM, RLM, the embeddings and overrides (LRE…RLO) and the isolates (LRI…PDI). */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g

/** The attributes a reader sees or hears (a tooltip, a screen reader's label), escaped as text is. */
const SHOWN_ATTRIBUTES = ['title', 'aria-label', 'aria-valuetext', 'placeholder'] as const

/**
 * `text` with every bidi control written as its escape (`\u202E`), so it reads in the order it is
 * stored.
 *
 * @example
 * ```ts
 * visible('invoice\u202Efdp.exe') // 'invoice\\u202Efdp.exe'
 * ```
 */
export function visible(text: string): string {
  return text.replace(BIDI_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`)
}

/**
 * Makes every text the app renders, and the attributes in {@link SHOWN_ATTRIBUTES}, go through
 * {@link visible} (Preact's `options.vnode` hook): log rows, step names, kinds, run ids and JSON
 * views alike, and any view added later. Call once, before the first render.
 *
 * @example
 * ```ts
 * showBidiControls()
 * render(<App />, root)
 * ```
 */
export function showBidiControls(): void {
  const next = options.vnode
  options.vnode = (vnode: VNode) => {
    const node = vnode as { type: unknown; props: unknown }
    if (typeof node.props === 'string')
      node.props = visible(node.props) // a text node
    else if (typeof node.type === 'string' && node.props !== null && typeof node.props === 'object') {
      const props = node.props as Record<string, unknown>
      for (const name of SHOWN_ATTRIBUTES) {
        const value = props[name]
        if (typeof value === 'string') props[name] = visible(value)
      }
    }
    next?.(vnode)
  }
}
