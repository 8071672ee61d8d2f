/**
 * Headless Chromium (Debian's package) driven by playwright-core, with a
 * fresh profile per launch and the flags that keep it off the network.
 * Under CI a missing browser fails the test; elsewhere the test is skipped
 * with a loud warning.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'
import type { Test } from 'tap'

export const CHROMIUM_PATH = process.env.WATERSHED_CHROMIUM ?? '/usr/bin/chromium'

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** A browser context with a fresh user-data-dir, closed with `t`; null when the test was skipped. */
export async function launchChromium(t: Test): Promise<BrowserContext | null> {
  if (!existsSync(CHROMIUM_PATH)) {
    const message = `no Chromium at ${CHROMIUM_PATH} (install Debian's chromium or set WATERSHED_CHROMIUM)`
    if (process.env.CI) {
      t.fail(`${message}: the browser interop test must run under CI`)
      return null
    }
    console.error(`\n*** SKIPPING the browser interop test: ${message} ***\n`)
    t.skip(`browser interop skipped: ${message}`)
    return null
  }
  const profile = mkdtempSync(join(tmpdir(), 'watershed-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
    // The wss:// test certificate is self-signed.
    ignoreHTTPSErrors: true,
  })
  t.teardown(async () => {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  })
  return context
}
