import net from 'node:net'
import { Redis } from 'ioredis'

/** A command an ioredis client of this process sent, tagged with the replies seen when it went out. */
export interface SentCommand {
  /** Socket reads of the traced clients' command connections so far: equal tags, no reply waited for in between. */
  tag: number
  /** The name the client was traced under. */
  who: string
  /** The command and its first arguments. */
  args: string[]
}

/**
 * Traces the commands the given ioredis clients send, to count a path's sequential round trips:
 * each command is tagged with how many times a reply had arrived on those clients' command
 * connections when it was sent. Commands with one tag went out without waiting for a reply in
 * between (pipelined, or sent together by `Promise.all`); each new tag is a wait on a reply.
 * Deterministic, unlike times. Patches `net.Socket` and `Redis.prototype.sendCommand` of this
 * process until `stop()`.
 */
export function traceRoundTrips(): {
  /** Traces `client`'s commands under `name`. */
  add(client: Redis, name: string): void
  /** Starts recording (clears what was recorded). */
  record(): void
  /** Stops recording and answers what was sent. */
  take(): SentCommand[]
  stop(): void
} {
  let replies = 0
  const names = new WeakMap<object, string>()
  const commandSockets = new WeakSet<object>()
  const subscriberSockets = new WeakSet<object>()
  let sent: SentCommand[] | undefined
  const socketProto = net.Socket.prototype as unknown as { emit: (name: string | symbol, ...a: unknown[]) => boolean }
  const emit = socketProto.emit
  socketProto.emit = function (this: object, name: string | symbol, ...a: unknown[]) {
    if (name === 'data' && commandSockets.has(this) && !subscriberSockets.has(this)) replies++
    return emit.call(this, name, ...a)
  }
  const redisProto = Redis.prototype as unknown as { sendCommand: (this: Redis, cmd: { name: string; args: unknown[] }) => unknown }
  const send = redisProto.sendCommand
  redisProto.sendCommand = function (this: Redis, cmd) {
    const who = names.get(this)
    const socket = (this as unknown as { stream?: object }).stream
    if (who !== undefined && socket) {
      if (/subscribe$/i.test(cmd.name)) subscriberSockets.add(socket)
      else commandSockets.add(socket)
      sent?.push({ tag: replies, who, args: [cmd.name, ...cmd.args.slice(0, 3).map(String)] })
    }
    return send.call(this, cmd)
  }
  return {
    add: (client, name) => void names.set(client, name),
    record() {
      sent = []
    },
    take() {
      const out = sent ?? []
      sent = undefined
      return out
    },
    stop() {
      socketProto.emit = emit
      redisProto.sendCommand = send
    },
  }
}

/** How many sequential round trips `commands` took: the distinct tags. */
export function roundTrips(commands: SentCommand[]): number {
  return new Set(commands.map((c) => c.tag)).size
}
