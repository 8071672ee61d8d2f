/**
 * Our server with a real browser: headless Chromium loads a page from our
 * http(s) server on 127.0.0.1 and runs the scenario with its own WebSocket,
 * over ws:// and wss://. A browser cannot send pings; our server pings it.
 */
import t from 'tap'
import { chromiumMissing, launchChromium } from '../helpers/chromium'
import { within } from '../helpers/ws-wait'
import { checkScenario } from './expectations'
import { ourServerFor, scenarioParams, SCHEMES } from './scenario'
import { runWhatwgClient, type ClientReport } from './whatwg-client'

// The page carries the scenario as source text: the browser shares nothing else with this process.
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>watershed interop</title>
<script>window.runWhatwgClient = ${runWhatwgClient.toString()}</script>`

t.test('Chromium -> our server', { skip: chromiumMissing() ?? false }, async (t) => {
  const browser = await launchChromium(t)
  for (const scheme of SCHEMES) {
    t.test(`over ${scheme}://`, async (t) => {
      const server = await ourServerFor(t, scheme, { page: PAGE })
      const page = await browser.newPage()
      t.teardown(() => page.close())
      const consoleErrors: string[] = []
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text())
      })
      await page.goto(server.origin)
      t.equal(await page.evaluate(() => (globalThis as unknown as { navigator: { userAgent: string } }).navigator.userAgent.includes('Chrome')), true, 'a real Chromium runs the page')
      const report = await within(
        page.evaluate(
          (params) => (globalThis as unknown as { runWhatwgClient: typeof runWhatwgClient }).runWhatwgClient(params),
          scenarioParams(server.base),
        ) as Promise<ClientReport>,
        120_000,
        'browser scenario',
      )
      await within(server.allClosed(), 10_000, 'server side closed')
      checkScenario(t, report, server)
      t.same(consoleErrors, [], 'the browser logged no error')

      // Leaving the page closes its sockets with 1001 (going away).
      const before = server.observations.length
      await page.evaluate((url) => {
        const ws = new (globalThis as any).WebSocket(url)
        return new Promise((resolve) => (ws.onopen = resolve))
      }, `${server.base}echo`)
      await page.goto('about:blank')
      await within(server.allClosed(), 10_000, 'closed after navigation')
      const left = server.observations[before]
      t.equal(left?.close?.code, 1001, 'navigating away closed the socket with 1001')
      // A page being torn down may reset TCP right after its CLOSE (seen over TLS): once the
      // peer's CLOSE has arrived that is not an error of the connection.
      t.same(left?.errors, [], 'no error on the server, however the browser dropped TCP')
    })
  }
})
