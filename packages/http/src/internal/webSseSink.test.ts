import { describe, expect, it } from 'vitest'
import type { SsePeer, SseSink, SseSource } from './sseSink.js'
import { isSseBody, SseBody } from './webSseSink.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** A source that writes `frames` to the first sink that attaches, then closes it. */
function fakeSource(frames: string[]) {
  const state = { sink: undefined as SseSink | undefined, canceled: false }
  const source: SseSource = {
    attach(open) {
      if (state.sink !== undefined) return false
      const peer: SsePeer = {
        ready: () => {
          const next = frames.shift()
          if (next === undefined) state.sink?.close()
          else state.sink?.write(encoder.encode(next))
        },
        gone: () => {},
      }
      state.sink = open(peer)
      return true
    },
    releaseSignal() {},
    cancel() {
      state.canceled = true
    },
  }
  return { source, state }
}

async function readAll(body: ReadableStream<Uint8Array>): Promise<string[]> {
  const chunks: string[] = []
  const reader = body.getReader()
  for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(decoder.decode(r.value))
  return chunks
}

describe('SseBody (the Web sink)', () => {
  it('attaches its source on the first read and takes one chunk per read', async () => {
    const { source } = fakeSource(['a\n\n', 'b\n\n'])
    expect(await readAll(new SseBody(source))).toEqual(['a\n\n', 'b\n\n'])
  })

  it('is empty when another sink took the source first', async () => {
    const { source } = fakeSource(['a\n\n'])
    source.attach(() => ({ write: () => true, close() {}, fail() {} }))
    expect(await readAll(new SseBody(source))).toEqual([])
  })

  it('is recognised through a Response that wraps it, and a plain stream is not', () => {
    const body = new SseBody(fakeSource([]).source)
    const wrapped = new Response(new Response(body).body).body
    expect(isSseBody(wrapped)).toBe(true)
    expect(wrapped === body && (wrapped as SseBody).source === body.source).toBe(true)
    expect(isSseBody(new ReadableStream())).toBe(false)
    expect(isSseBody(null)).toBe(false)
  })

  it('ends its source when canceled', async () => {
    const { source, state } = fakeSource(['a\n\n'])
    await new SseBody(source).cancel()
    expect(state.canceled).toBe(true)
  })
})
