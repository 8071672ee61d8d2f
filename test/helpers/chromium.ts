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

/**
 * Why the browser test cannot run here, or null when it can. Outside CI a
 * missing browser is a loud skip; under CI it is a failure.
 */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null
  const message = `no Chromium at ${CHROMIUM_PATH} (install Debian's chromium or set WATERSHED_CHROMIUM)`
  if (process.env.CI) throw new Error(`${message}: the browser interop test must run under CI`)
  console.error(`\n*** SKIPPING the browser interop test: ${message} ***\n`)
  return message
}

/** A browser context with a fresh user-data-dir (and any extra flags), closed with `t`. */
export async function launchChromium(t: Test, extraArgs: readonly string[] = []): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'watershed-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...FLAGS, ...extraArgs],
    // The wss:// test certificate is self-signed.
    ignoreHTTPSErrors: true,
  })
  t.teardown(async () => {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  })
  return context
}
