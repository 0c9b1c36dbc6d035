// An EventSource as a browser's behaves for watchRun: the `eventsource` package's, whose `error`
// events carry no status (a browser's do not), so watchRun asks the stream's status with fetch.
import type { EventSourceLike } from '@leanflow/http/client'
import { EventSource } from 'eventsource'

/** An `eventsource` EventSource whose `error` events carry no status, as a browser's do (watchRun asks with fetch). */
export class BrowserLikeEventSource implements EventSourceLike {
  readonly #es: EventSource
  constructor(url: string, init?: { withCredentials?: boolean }) {
    this.#es = new EventSource(url, init)
  }
  get readyState(): number {
    return this.#es.readyState
  }
  addEventListener(type: string, listener: (e: MessageEvent) => void): void {
    this.#es.addEventListener(type, type === 'error' ? () => listener(new Event('error') as MessageEvent) : listener)
  }
  close(): void {
    this.#es.close()
  }
}
