import { describe, expect, it } from 'vitest'
import { visible } from './visibleText.js'

const CONTROLS = ['\u061C', '\u200E', '\u200F', '\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069']

describe('visible', () => {
  it('writes every bidi control as its escape, so the text reads in the order it is stored', () => {
    expect(visible('invoice\u202Efdp.exe')).toBe('invoice\\u202Efdp.exe')
    expect(visible('\u2066a\u2069 \u200Fb\u200E \u061C')).toBe('\\u2066a\\u2069 \\u200Fb\\u200E \\u061C')
    for (const c of CONTROLS) expect(visible(`x${c}y`)).toBe(`x\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}y`)
  })

  it('leaves other text alone: right-to-left letters, emoji, other format characters', () => {
    for (const text of ['plain', 'שלום עולם', 'مرحبا', 'ünïcødé 🚀', 'a\u200Bb', 'a\u200Db', '\\u202E typed as text', ''])
      expect(visible(text)).toBe(text)
  })
})
