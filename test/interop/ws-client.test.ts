/**
 * Our server with the `ws` package's client, over ws:// and wss://: the
 * whole scenario through ws's WHATWG-style interface, then the pings that
 * only ws's own API can send.
 */
import t from 'tap'
import WebSocket from 'ws'
import { nextEvent, within } from '../helpers/ws-wait'
import { checkScenario } from './expectations'
import { ourServerFor, scenarioParams, SCHEMES, testCredentials } from './scenario'
import { runWhatwgClient, type WhatwgSocket } from './whatwg-client'

for (const scheme of SCHEMES) {
  t.test(`ws client -> our server over ${scheme}://`, async (t) => {
    const server = await ourServerFor(t, scheme)
    const tls = scheme === 'wss' ? { ca: testCredentials(t).cert } : {}

    t.test('the scenario', async (t) => {
      const report = await within(
        runWhatwgClient(scenarioParams(server.base), (url, protocols) =>
          new WebSocket(url, protocols, tls) as unknown as WhatwgSocket),
        60_000,
        'scenario',
      )
      await within(server.allClosed(), 10_000, 'server side closed')
      checkScenario(t, report, server)
    })

    t.test("the client's ping gets our pong, with its payload", async (t) => {
      const client = new WebSocket(`${server.base}echo`, tls)
      await nextEvent(client, 'open')
      client.ping('from ws')
      const [payload] = await nextEvent<[Buffer]>(client, 'pong')
      t.equal(payload.toString(), 'from ws')
      client.close(1000)
      await nextEvent(client, 'close')
      await within(server.allClosed(), 5000, 'server side closed')
      const seen = server.observations.at(-1)!
      t.same(seen.pings, ['from ws'], "our server saw the client's ping")
      t.equal(seen.close?.code, 1000)
    })
  })
}
