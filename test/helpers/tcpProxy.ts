import { createConnection, createServer, type Server, type Socket } from 'node:net'

/**
 * How the proxy treats traffic: `pass` forwards it; `latency` delays each
 * chunk both ways by `latencyMs`; `drop-next-reply` swallows the next chunk
 * from the server, then resets that client connection (a reply lost on the
 * wire: the server did the work, the client never heard); `reset` destroys
 * every connection once, then passes again.
 */
export type ProxyMode = 'pass' | 'latency' | 'drop-next-reply' | 'reset'

export interface TcpProxy {
  port: number
  url: string
  /** Switches mode; `reset` acts at once. */
  setMode(mode: ProxyMode, opts?: { latencyMs?: number }): void
  /** Resolves after the next reply was dropped in `drop-next-reply` mode. */
  nextDrop(): Promise<void>
  /** Replies dropped so far. */
  readonly dropped: number
  /** Client connections accepted so far. */
  readonly connections: number
  close(): Promise<void>
}

/** Starts a TCP proxy on a free port of 127.0.0.1 in front of `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let mode: ProxyMode = 'pass'
  let latencyMs = 0
  let dropped = 0
  let connections = 0
  let waiters: Array<() => void> = []
  const pairs = new Set<[Socket, Socket]>()

  const forward = (to: Socket, chunk: Buffer) => {
    if (mode === 'latency' && latencyMs > 0) setTimeout(() => to.destroyed || to.write(chunk), latencyMs)
    else if (!to.destroyed) to.write(chunk)
  }

  const server: Server = createServer((client) => {
    connections++
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort })
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (chunk: Buffer) => forward(upstream, chunk))
    upstream.on('data', (chunk: Buffer) => {
      if (mode === 'drop-next-reply') {
        mode = 'pass'
        dropped++
        end()
        const w = waiters
        waiters = []
        for (const f of w) f()
        return
      }
      forward(client, chunk)
    })
    client.on('error', end)
    upstream.on('error', end)
    client.on('close', end)
    upstream.on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  const port = typeof addr === 'object' && addr ? addr.port : 0

  const resetAll = () => {
    for (const [a, b] of [...pairs]) {
      a.destroy()
      b.destroy()
    }
    pairs.clear()
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    setMode(next, opts) {
      latencyMs = opts?.latencyMs ?? latencyMs
      if (next === 'reset') {
        resetAll()
        mode = 'pass'
      } else mode = next
    },
    nextDrop: () => new Promise<void>((resolve) => waiters.push(resolve)),
    get dropped() {
      return dropped
    },
    get connections() {
      return connections
    },
    async close() {
      resetAll()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
