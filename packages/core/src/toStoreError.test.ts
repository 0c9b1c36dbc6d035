import { describe, expect, it } from 'vitest'
import { InvalidNameError, isLeanflowError } from './errors.js'
import { toStoreError } from './toStoreError.js'

/** An error shaped like a driver's (name, message, code); the real ioredis classes are tested in @leanflow/redis. */
const driverError = (name: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { name }, extra)

describe('toStoreError', () => {
  it.each([
    ['OOM reply', driverError('ReplyError', "OOM command not allowed when used memory > 'maxmemory'.")],
    [
      'OOM in a script',
      driverError('ReplyError', "OOM command not allowed when used memory > 'maxmemory'. script: 95, on @user_script:1."),
    ],
    [
      'MISCONF reply',
      driverError('ReplyError', 'MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist'),
    ],
  ])('maps %s to STORE_FULL, keeping the cause', (_, err) => {
    const mapped = toStoreError(err, 'append("r1")')
    expect(mapped.code).toBe('STORE_FULL')
    expect(mapped.status).toBe(507)
    expect(mapped.cause).toBe(err)
    expect(mapped.message).toContain('append("r1")')
    expect(mapped.message).toContain(err.message)
    expect(mapped.message).toMatch(/maxmemory/)
  })

  it.each([
    ['MaxRetriesPerRequestError', driverError('MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 20).')],
    ['a command timeout', driverError('Error', 'Command timed out')],
    ['a closed connection', driverError('Error', 'Connection is closed.')],
    ['no offline queue', driverError('Error', "Stream isn't writeable and enableOfflineQueue options is false")],
    ['ECONNREFUSED', driverError('Error', 'connect ECONNREFUSED 127.0.0.1:6379', { code: 'ECONNREFUSED' })],
    ['ECONNRESET (code only)', driverError('Error', 'read failed', { code: 'ECONNRESET' })],
    ['LOADING', driverError('ReplyError', 'LOADING Redis is loading the dataset in memory')],
    ['READONLY', driverError('ReplyError', "READONLY You can't write against a read only replica.")],
    ['CLUSTERDOWN', driverError('ReplyError', 'CLUSTERDOWN The cluster is down')],
    ['TRYAGAIN', driverError('ReplyError', 'TRYAGAIN Multiple keys request during rehashing of slot')],
    ['MASTERDOWN', driverError('ReplyError', 'MASTERDOWN Link with MASTER is down')],
    ['BUSY', driverError('ReplyError', 'BUSY Redis is busy running a script.')],
    ['a cluster that failed', driverError('ClusterAllFailedError', 'Failed to refresh slots cache.')],
    [
      'an ioredis 6 maintenance timeout',
      driverError(
        'SocketTimeoutDuringMaintenanceError',
        "Socket timeout during server maintenance. Expecting data, but didn't receive any in 10ms.",
      ),
    ],
    [
      'an ioredis 6 handoff',
      driverError('Error', 'Command cannot be queued during a connection handoff because enableOfflineQueue is false'),
    ],
    ['a closed store', driverError('Error', 'The store is closed: create a new store to follow runs.')],
  ])('maps %s to STORE_UNAVAILABLE, keeping the cause', (_, err) => {
    const mapped = toStoreError(err, 'read("r1")')
    expect(mapped.code).toBe('STORE_UNAVAILABLE')
    expect(mapped.status).toBe(503)
    expect(mapped.cause).toBe(err)
    expect(mapped.message).toContain('read("r1")')
    expect(mapped.message).toMatch(/idempotency key/)
  })

  it("finds the reason in a cause or a cluster's last node error", () => {
    const node = driverError('Error', 'connect ECONNREFUSED 10.0.0.1:7000', { code: 'ECONNREFUSED' })
    expect(toStoreError(driverError('Error', 'wrapped', { lastNodeError: node })).code).toBe('STORE_UNAVAILABLE')
    expect(toStoreError(new Error('outer', { cause: driverError('ReplyError', 'OOM command not allowed') })).code).toBe('STORE_FULL')
  })

  it.each([
    ['a script error', driverError('ReplyError', 'ERR user_script:3: Script attempted to access nonexistent global variable')],
    ['WRONGTYPE', driverError('ReplyError', 'WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['BUSYGROUP (not BUSY)', driverError('ReplyError', 'BUSYGROUP Consumer Group name already exists')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'v')")],
    ['a string', 'boom'],
  ])('maps anything else (%s) to INTERNAL, keeping the cause', (_, err) => {
    const mapped = toStoreError(err)
    expect(mapped.code).toBe('INTERNAL')
    expect(mapped.cause).toBe(err)
    expect(mapped.message).toContain('store call')
  })

  it('returns a LeanflowError as it is', () => {
    const err = new InvalidNameError('Run id "a:b" is invalid.')
    expect(toStoreError(err)).toBe(err)
    expect(isLeanflowError(toStoreError(driverError('ReplyError', 'OOM x')), 'STORE_FULL')).toBe(true)
  })

  it('keeps a long driver message short in its own', () => {
    const err = driverError('ReplyError', `ERR ${'x'.repeat(5000)}`)
    expect(toStoreError(err).message.length).toBeLessThan(500)
  })

  it('a MOVED reply (a plain connection to a Cluster node) is INTERNAL naming the fix: a Cluster client', () => {
    const err = driverError('ReplyError', 'MOVED 7785 127.0.0.1:23702')
    const mapped = toStoreError(err, 'append("r1")')
    expect(mapped.code).toBe('INTERNAL')
    expect(mapped.cause).toBe(err)
    expect(mapped.message).toMatch(/Redis Cluster node .*MOVED 7785.*redis: new Cluster\(/)
  })

  it('a CROSSSLOT reply (a plain connection to a Cluster node, a queue prefix without a hash tag) is INTERNAL naming the fix', () => {
    const err = driverError('ReplyError', "CROSSSLOT Keys in request don't hash to the same slot")
    const mapped = toStoreError(err, 'enqueue("j1")')
    expect(mapped.code).toBe('INTERNAL')
    expect(mapped.cause).toBe(err)
    expect(mapped.message).toMatch(
      /^enqueue\("j1"\) failed: the server is a Redis Cluster node.*CROSSSLOT.*connection: new Cluster\(.*hash tag/,
    )
  })

  it.each([
    ['WRONGPASS', 'WRONGPASS invalid username-password pair or user is disabled.'],
    ['NOAUTH', 'NOAUTH HELLO must be called with the client already authenticated'],
  ])('a %s reply is INTERNAL naming the fix: the credentials in the Redis URL', (_, message) => {
    const mapped = toStoreError(driverError('ReplyError', message), 'listFlows()')
    expect(mapped.code).toBe('INTERNAL')
    expect(mapped.message).toMatch(/refused the connection's credentials .*Check the user and password in the Redis URL/)
  })
})
