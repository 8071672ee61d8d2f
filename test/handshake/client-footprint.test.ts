/**
 * What an open client connection keeps of its handshake, as a
 * specification: nothing. The request (its headers, its state) can be
 * collected once the handshake is over, and the socket carries no
 * http.Agent's listeners, unless the caller gave an agent (a proxy's), which
 * is then used as given.
 */
import diagnostics from 'node:diagnostics_channel'
import http, { type ClientRequest } from 'node:http'
import { setImmediate as turn } from 'node:timers/promises'
import t from 'tap'
import { connect } from '../../lib/handshake/client'
import { retained } from '../helpers/memory'
import { serve } from '../helpers/ws-pair'

t.test('the upgrade request is not kept alive by the open connection', async (t) => {
  const listening = await serve({}, () => {})
  t.teardown(() => listening.close())
  let request: WeakRef<ClientRequest> | null = null
  const note = (message: unknown) => {
    request = new WeakRef((message as { request: ClientRequest }).request)
  }
  diagnostics.subscribe('http.client.request.start', note)
  const ws = await connect(listening.url)
  diagnostics.unsubscribe('http.client.request.start', note)
  t.teardown(() => ws.destroy())
  t.ok(request, 'the request was seen')
  // A WeakRef's target lives to the end of the job that made it: collect on a later turn.
  await turn()
  retained()
  t.equal(request!.deref(), undefined, 'collected while the connection stays open')
  t.notOk(ws.destroyed, 'the connection is still open')
})

t.test('no http.Agent listeners on the socket; an agent that is given is used', async (t) => {
  const listening = await serve({}, () => {})
  t.teardown(() => listening.close())
  const direct = await connect(listening.url)
  t.teardown(() => direct.destroy())
  t.same(['free', 'agentRemove', 'timeout'].map((event) => direct.socket.listenerCount(event)), [0, 0, 0], 'none of an Agent\'s listeners')
  const agent = new http.Agent()
  t.teardown(() => agent.destroy())
  let created = 0
  const createConnection = agent.createConnection.bind(agent)
  agent.createConnection = (...args: Parameters<typeof createConnection>) => {
    created++
    return createConnection(...args)
  }
  const viaAgent = await connect(listening.url, { requestOptions: { agent } })
  t.teardown(() => viaAgent.destroy())
  t.equal(created, 1, 'the given agent made the connection')
})
