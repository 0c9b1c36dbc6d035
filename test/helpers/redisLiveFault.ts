import { createConnection } from 'node:net'
import { Redis } from 'ioredis'

/** A node the fault acts on. */
export interface FaultNode {
  host: string
  port: number
}

/**
 * Cuts a store's live channel on real redis-servers: kills every connection named
 * `subscriberName` (the store's subscriber connections, `<connectionName>:sub`) on `nodes`,
 * and keeps them from coming back with `maxclients 1`: Redis keeps the connections it has (the
 * store's command connections keep working, so appends go on) and refuses every new one. A
 * probe connection proves the block.
 *
 * Returns `restore()`: it lifts the block and resolves once `channel` has a subscriber again
 * on one of `nodes` (`PUBSUB NUMSUB` or `SHARDNUMSUB`), i.e. once the store subscribed again.
 *
 * @example
 * ```ts
 * const restore = await cutLive([{ host: '127.0.0.1', port }], 'lf:c1:sub', store.keys.live(run))
 * await store.append(run, e) // published to nobody: followers must read it from the stream
 * await restore()
 * ```
 */
export async function cutLive(nodes: FaultNode[], subscriberName: string, channel: string): Promise<() => Promise<void>> {
  const admins = await Promise.all(nodes.map((n) => connect(n)))
  const blocked: Array<{ admin: Redis; maxclients: string }> = []
  let killed = 0
  try {
    for (const [i, admin] of admins.entries()) {
      const ids = ((await admin.call('CLIENT', 'LIST')) as string)
        .split('\n')
        .filter((l) => l.includes(` name=${subscriberName} `))
        .map((l) => /^id=(\d+)/.exec(l)?.[1] as string)
      // existing connections stay (the store's command connections, this admin); every new one is refused
      const maxclients = ((await admin.config('GET', 'maxclients')) as string[])[1] as string
      await admin.config('SET', 'maxclients', '1')
      blocked.push({ admin, maxclients })
      for (const id of ids) killed += Number(await admin.call('CLIENT', 'KILL', 'ID', id))
      const probe = await greeting(nodes[i] as FaultNode)
      if (!/max number of clients/.test(probe)) {
        throw new Error(
          `cutLive: node ${nodes[i]?.port} still accepts connections (PING answered ${JSON.stringify(probe)}): the block does not hold.`,
        )
      }
    }
    if (killed === 0) throw new Error(`cutLive: no connection named ${subscriberName} on ${nodes.map((n) => n.port).join(', ')}.`)
  } catch (err) {
    await lift(blocked)
    for (const a of admins) a.disconnect()
    throw err
  }
  return async () => {
    await lift(blocked)
    try {
      const deadline = Date.now() + 10_000
      for (;;) {
        let subscribers = 0
        for (const admin of admins) {
          for (const sub of ['NUMSUB', 'SHARDNUMSUB'])
            subscribers += Number(((await admin.call('PUBSUB', sub, channel)) as [string, number])[1])
        }
        if (subscribers > 0) return
        if (Date.now() > deadline) throw new Error(`cutLive: ${channel} has no subscriber 10 s after the block was lifted.`)
        await new Promise((r) => setTimeout(r, 10))
      }
    } finally {
      for (const a of admins) a.disconnect()
    }
  }
}

async function lift(blocked: Array<{ admin: Redis; maxclients: string }>): Promise<void> {
  for (const { admin, maxclients } of blocked.splice(0)) await admin.config('SET', 'maxclients', maxclients)
}

/** A connection that never reconnects (a refused one rejects). */
async function connect(n: FaultNode): Promise<Redis> {
  const c = new Redis(n.port, n.host, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  c.on('error', () => {})
  await c.connect()
  return c
}

/** What a new raw connection to `n` hears first: `+PONG` when accepted, Redis's refusal when not. */
function greeting(n: FaultNode): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: n.host, port: n.port }, () => socket.write('PING\r\n'))
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer from ${n.port} in 5 s`)))
    socket.once('data', (d) => {
      socket.destroy()
      resolve(d.toString())
    })
    socket.once('error', reject)
  })
}
