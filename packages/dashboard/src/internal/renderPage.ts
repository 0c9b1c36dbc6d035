/** What the page needs to know, passed to it as JSON in the HTML. */
export interface PageConfig {
  apiBase: string
  basePath: string
  title: string
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!)

/** The page's HTML: its config as inert JSON (`<` escaped, so no text can close the script element), then the app. */
export function renderPage(config: PageConfig): string {
  const json = JSON.stringify(config).replace(/</g, '\\u003c')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(config.title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${config.basePath}/app.css">
<script type="application/json" id="leanflow-dashboard-config">${json}</script>
<script type="module" src="${config.basePath}/app.js"></script>
</head>
<body>
<div id="app"></div>
<noscript>The leanflow dashboard needs JavaScript.</noscript>
</body>
</html>
`
}
