import { type Browser, chromium } from 'playwright-core'

/** The system's headless Chromium (/usr/bin/chromium), launched as every browser test runs it; close it in afterAll. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
}
