import { describe, expect, it } from 'vitest'
import { publishHint, queueFlags } from './publishHint.js'

describe('publishHint', () => {
  it('puts the data a match asks for in the command, quoted for a shell', () => {
    expect(publishHint('paid', { 'data.orderId': 'o-1' })).toBe(`leanflow publish paid '{"orderId":"o-1"}'`)
    expect(publishHint('paid', { 'data.a.b': 1, 'data.a.c': [2], kind: 'paid' })).toBe(`leanflow publish paid '{"a":{"b":1,"c":[2]}}'`)
    expect(publishHint('paid', { 'data.who': "o'neil" })).toBe(`leanflow publish paid '{"who":"o'\\''neil"}'`)
    expect(publishHint('paid', { 'data.__proto__.x': 1 })).toBe(`leanflow publish paid '{"__proto__":{"x":1}}'`)
  })

  it('says <json> without a match, and shows a match publish cannot express beside it', () => {
    expect(publishHint('paid', undefined)).toBe(`leanflow publish paid '<json>'`)
    expect(publishHint('paid', {})).toBe(`leanflow publish paid '<json>'`)
    expect(publishHint('paid', { id: '1-0' })).toBe(`leanflow publish paid '<json>' (match {"id":"1-0"})`)
    expect(publishHint('paid', { 'data.a': 1, 'data.a.b': 2 })).toBe(`leanflow publish paid '<json>' (match {"data.a":1,"data.a.b":2})`)
    expect(publishHint('paid', { 'data.s': 'a\nb\u001b' })).toBe(`leanflow publish paid '{"s":"a\\nb\\u001b"}'`)
  })
})

describe('queueFlags', () => {
  it('asks for --bullmq, and repeats the prefixes and queue name that differ from the defaults, quoted', () => {
    expect(queueFlags({ bullmqQueue: 'leanflow', bullmqPrefix: 'lfq' })).toBe(' --bullmq')
    expect(queueFlags({ prefix: 'lf', bullmqQueue: 'leanflow', bullmqPrefix: 'lfq' })).toBe(' --bullmq')
    expect(queueFlags({ prefix: "shop's", bullmqQueue: 'orders', bullmqPrefix: 'q' })).toBe(
      ` --bullmq --prefix 'shop'\\''s' --bullmq-queue 'orders' --bullmq-prefix 'q'`,
    )
    expect(publishHint('paid', { id: '1-0' }, ' --bullmq')).toBe(`leanflow publish paid '<json>' --bullmq (match {"id":"1-0"})`)
  })
})
