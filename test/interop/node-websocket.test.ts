/**
 * Our server with Node's own WebSocket client (undici's WHATWG WebSocket,
 * the one Node ships as the global WebSocket from v22), over ws:// and
 * wss://. Its API cannot send pings, so only our server pings it.
 */
import t from 'tap'
import { Agent, WebSocket } from 'undici'
import { within } from '../helpers/ws-wait'
import { checkScenario } from './expectations'
import { ourServerFor, scenarioParams, SCHEMES, testCredentials } from './scenario'
import { runWhatwgClient, type WhatwgSocket } from './whatwg-client'

for (const scheme of SCHEMES) {
  t.test(`Node's WebSocket client -> our server over ${scheme}://`, async (t) => {
    const server = await ourServerFor(t, scheme)
    // For wss://, trust the test certificate through undici's own dispatcher.
    const dispatcher = scheme === 'wss' ? new Agent({ connect: { ca: testCredentials(t).cert } }) : undefined
    t.teardown(() => dispatcher?.close())
    const report = await within(
      runWhatwgClient(scenarioParams(server.base), (url, protocols) =>
        new WebSocket(url, { protocols, dispatcher }) as unknown as WhatwgSocket),
      60_000,
      'scenario',
    )
    await within(server.allClosed(), 10_000, 'server side closed')
    checkScenario(t, report, server)
  })
}
