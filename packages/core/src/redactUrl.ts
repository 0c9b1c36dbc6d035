/**
 * `url` as a message may show it: a URL's password as `***`; a string that is no URL with
 * everything between its `//` (or its start) and its last `@` as `***`, where a user and a
 * password would be. For every message that names a store's or a queue's URL.
 *
 * @example
 * ```ts
 * redactUrl('redis://user:s3cret@10.0.0.5:6379/2') // 'redis://user:***@10.0.0.5:6379/2'
 * redactUrl('redis//user:s3cret@10.0.0.5:6379') // 'redis//***@10.0.0.5:6379' (no URL: a slash missing)
 * ```
 */
export function redactUrl(url: string): string {
  const text = String(url)
  let u: URL | undefined
  try {
    u = new URL(text)
  } catch {}
  // a URL with a host (`user:pw@host` parses as scheme `user:` and a path: no host, masked below)
  if (u !== undefined && u.host !== '') {
    if (u.password) u.password = '***'
    return u.toString()
  }
  const at = text.lastIndexOf('@')
  if (at < 0) return text
  const slashes = text.indexOf('//')
  const from = slashes >= 0 && slashes < at ? slashes + 2 : 0
  return `${text.slice(0, from)}***${text.slice(at)}`
}
