import type { EventRecord } from '@leanflow/core'
import { eventFrame } from './sseFrames.js'

const encoder = new TextEncoder()

/**
 * The encoded frames of the events one handler's SSE streams send in the current turn of the
 * event loop, keyed by run, id and kind: the streams that follow one run get a live event in
 * the same turn, so it is stringified and encoded once, not once per stream. Records are never
 * shared between followers (each stream's follow decodes its own), only these bytes. Emptied by
 * the next timer (setTimeout 0, a Web API too), so a run deleted and written again gets no old
 * frame. Made by `createHandler`, one per handler (its streams share one store).
 */
export interface FrameCache {
  /** The encoded {@link eventFrame} of `e`, shared by every stream of the handler that sends it in this turn. */
  eventFrame(runId: string, e: EventRecord): Uint8Array
}

/** A {@link FrameCache} for one handler. */
export function createFrameCache(): FrameCache {
  let frames: Map<string, Uint8Array> | undefined
  const clear = () => {
    frames = undefined
  }
  return {
    eventFrame(runId, e) {
      if (frames === undefined) {
        frames = new Map()
        setTimeout(clear, 0)
      }
      const key = `${runId}\n${e.id}\n${e.kind}`
      let bytes = frames.get(key)
      if (bytes === undefined) {
        bytes = encoder.encode(eventFrame(e))
        frames.set(key, bytes)
      }
      return bytes
    },
  }
}
