/** ANSI styles, or plain text when colors are off. */
export interface Colors {
  readonly enabled: boolean
  bold(s: string): string
  dim(s: string): string
  red(s: string): string
  green(s: string): string
  yellow(s: string): string
  blue(s: string): string
  magenta(s: string): string
  cyan(s: string): string
  gray(s: string): string
}

const style =
  (enabled: boolean, open: number, close: number) =>
  (s: string): string =>
    enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s

/** Styles that color when `enabled`, else return their text unchanged. */
export function createColors(enabled: boolean): Colors {
  return {
    enabled,
    bold: style(enabled, 1, 22),
    dim: style(enabled, 2, 22),
    red: style(enabled, 31, 39),
    green: style(enabled, 32, 39),
    yellow: style(enabled, 33, 39),
    blue: style(enabled, 34, 39),
    magenta: style(enabled, 35, 39),
    cyan: style(enabled, 36, 39),
    gray: style(enabled, 90, 39),
  }
}

/**
 * Colors on a terminal only: `FORCE_COLOR` (not `0`) turns them on anywhere, `NO_COLOR` (any
 * value, https://no-color.org) or `TERM=dumb` off.
 */
export function wantsColor(stream: { isTTY?: boolean | undefined }, env: Record<string, string | undefined>): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.TERM === 'dumb') return false
  return stream.isTTY === true
}
