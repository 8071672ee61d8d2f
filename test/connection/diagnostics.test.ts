import diagnostics from 'node:diagnostics_channel'
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { accept, connect } from '../../lib/index'

t.test('publishes open, received, sent and close on diagnostics channels', async (t) => {
  const events: string[] = []
  const on = (name: string) => (message: unknown) => {
    const m = message as { connection: { role: string }; data?: unknown; code?: number }
    events.push(`${name}:${m.connection.role}${m.data !== undefined ? `:${String(m.data)}` : ''}${m.code !== undefined ? `:${m.code}` : ''}`)
  }
  const handlers = Object.fromEntries(['open', 'received', 'sent', 'close'].map((n) => [n, on(n)]))
  for (const [name, handler] of Object.entries(handlers)) diagnostics.subscribe(`watershed:${name}`, handler)
  t.teardown(() => {
    for (const [name, handler] of Object.entries(handlers)) diagnostics.unsubscribe(`watershed:${name}`, handler)
  })

  const server = http.createServer()
  server.on('upgrade', (req, socket, head) => {
    const ws = accept(req, socket, head)
    ws.on('data', (m) => ws.write(m))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const client = await connect(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`)
  client.write('hi')
  const [echo] = await once(client, 'data')
  t.equal(echo, 'hi')
  client.close(1000)
  await once(client, 'close')
  await new Promise((r) => setTimeout(r, 50))

  t.ok(events.includes('open:server') && events.includes('open:client'))
  t.ok(events.includes('sent:client:hi') && events.includes('received:server:hi'))
  t.ok(events.includes('sent:server:hi') && events.includes('received:client:hi'))
  t.ok(events.includes('close:client:1000'), events.join(' '))
  t.ok(events.includes('close:server:1000'), events.join(' '))
})
