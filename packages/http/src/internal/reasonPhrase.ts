// The reason phrase of each status the handler answers with, set as the Response's statusText:
// servers that write statusText as it is (h3's srvx) would send "HTTP/1.1 200 " without it.
const PHRASES: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
}

/** The standard reason phrase of `status` (`'Not Found'` for 404); `''` for one not in the table. */
export function reasonPhrase(status: number): string {
  return PHRASES[status] ?? ''
}
