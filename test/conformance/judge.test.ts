/**
 * The suite's judge fails what is wrong: run against deliberately careless
 * peers, cases the careless peer gets right are conformant, and each way it
 * is wrong is named in the reasons.
 */
import t from 'tap'
import type { Case } from './case'
import { ALL_CASES } from './cases/index'
import { startCarelessClient, startCarelessServer } from './careless-peers'
import { fuzzServer } from './fuzzing-client'
import { fuzzClient, startFuzzingServer } from './fuzzing-server'
import { judge } from './judge'
import { prng } from './prng'
import type { TesteeServer } from './testee'

const byId = (id: string): Case => ALL_CASES.find((c) => c.id === id)!

async function againstServer(server: TesteeServer, id: string) {
  const c = byId(id)
  const script = c.build()
  return judge(c, script, await fuzzServer(server, c, script, 'whole', prng(1)), { testee: 'server', mode: 'whole' })
}

t.test('a careless server: right where it echoes plainly, wrong everywhere else', async (t) => {
  const server = await startCarelessServer({ closeTcp: true })
  t.teardown(() => server.close())

  // Run side by side: each wrong case waits out a bound before it is judged.
  const [plain, ping, rsv, utf8, code] = await Promise.all(['1.1.2', '2.1', '3.1', '6.3.1', '7.9.1'].map((id) => againstServer(server, id)))
  t.strictSame(plain.reasons, [], 'a plain echo and close is conformant')
  t.notOk(ping.ok)
  t.match(ping.reasons.join('\n'), /expected pong\(0 B\) as item 1, but only 0 came/)

  t.match(rsv.reasons.join('\n'), /protocol violation: text frame \(17 B\) with RSV bits 1/)
  t.match(rsv.reasons.join('\n'), /the testee did not fail the connection/)

  t.match(utf8.reasons.join('\n'), /unexpected text\(20 B/)
  t.match(utf8.reasons.join('\n'), /protocol violation: a text message that is not valid UTF-8/)
  t.match(utf8.reasons.join('\n'), /close code 1000; expected 1007/)

  t.match(code.reasons.join('\n'), /close code 1000; expected 1002/)
})

t.test('a server that keeps TCP open after the closing handshake is not conformant', async (t) => {
  const server = await startCarelessServer({ closeTcp: false })
  t.teardown(() => server.close())
  const verdict = await againstServer(server, '1.1.1')
  t.match(verdict.reasons.join('\n'), /the server did not close TCP first/)
  t.match(verdict.reasons.join('\n'), /the testee had not closed TCP 3000 ms after the closing handshake/)
})

t.test('a client that does not mask, and drops TCP instead of answering CLOSE, is not conformant', async (t) => {
  const server = await startFuzzingServer()
  t.teardown(() => server.close())
  const c = byId('1.1.2')
  const script = c.build()
  const record = await fuzzClient(server, c, script, 'whole', prng(1), startCarelessClient)
  const verdict = judge(c, script, record, { testee: 'client', mode: 'whole' })
  t.match(verdict.reasons.join('\n'), /protocol violation: unmasked text frame \(125 B\) from a client/)
  t.match(verdict.reasons.join('\n'), /no CLOSE from the testee; TCP closed, the testee first/)
  t.match(verdict.reasons.join('\n'), /the client closed TCP before the server did/)
})
