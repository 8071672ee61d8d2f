/**
 * What an open client connection keeps of its handshake, as a
 * specification: nothing. connect() makes no ClientRequest unless asked to
 * go through http.request; one made is collected once the handshake is
 * over; and the socket carries no
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

/** Connects to `url` while noting every ClientRequest made meanwhile, weakly. */
async function connectNoting(url: string, options: Parameters<typeof connect>[1] = {}) {
  const requests: Array<WeakRef<ClientRequest>> = []
  const note = (message: unknown) => {
    requests.push(new WeakRef((message as { request: ClientRequest }).request))
  }
  diagnostics.subscribe('http.client.request.start', note)
  try {
    return { ws: await connect(url, options), requests }
  } finally {
    diagnostics.unsubscribe('http.client.request.start', note)
  }
}

t.test('connect() writes its upgrade request itself: no ClientRequest is made', async (t) => {
  const listening = await serve({}, () => {})
  t.teardown(() => listening.close())
  const { ws, requests } = await connectNoting(listening.url)
  t.teardown(() => ws.destroy())
  t.equal(requests.length, 0, 'no http.request')
  t.notOk(ws.destroyed, 'the connection is open')
})

t.test('through http.request (an agent given), the request is not kept alive by the open connection', async (t) => {
  const listening = await serve({}, () => {})
  t.teardown(() => listening.close())
  const agent = new http.Agent()
  t.teardown(() => agent.destroy())
  const { ws, requests } = await connectNoting(listening.url, { requestOptions: { agent } })
  t.teardown(() => ws.destroy())
  t.equal(requests.length, 1, 'the request was seen')
  // A WeakRef's target lives to the end of the job that made it: collect on a later turn.
  await turn()
  retained()
  t.equal(requests[0].deref(), undefined, 'collected while the connection stays open')
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
