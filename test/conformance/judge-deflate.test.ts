/**
 * The judge of sections 12-13 fails what is wrong: careless permessage-deflate
 * peers that break what they agreed are named for it, and one that keeps its
 * word passes, so the checks are not simply failing everything.
 */
import t from 'tap'
import type { Case } from './case'
import { ALL_CASES } from './cases/index'
import { type Carelessness, carelessDeflateClient, startCarelessDeflateServer } from './deflate/careless-peers'
import { capEchoes } from './delivery'
import { fuzzServer } from './fuzzing-client'
import { fuzzClient, startFuzzingServer } from './fuzzing-server'
import { judge } from './judge'
import { prng } from './prng'

const byId = (id: string): Case => ALL_CASES.find((c) => c.id === id)!
/** A few messages are enough to show each fault. */
const ECHOES = 3

async function againstServer(how: Carelessness, id: string) {
  const server = await startCarelessDeflateServer(how)
  try {
    const c = byId(id)
    const script = capEchoes(c.build(), ECHOES)
    return judge(c, script, await fuzzServer(server, c, script, 'whole', prng(1)), { testee: 'server', mode: 'whole' })
  } finally {
    await server.close()
  }
}

t.test('a server that keeps its word passes', async (t) => {
  const verdict = await againstServer({ answer: 'permessage-deflate; server_max_window_bits=8', window: 8, keepsContext: true }, '13.3.10')
  t.strictSame(verdict.reasons, [])
})

t.test('a server that compresses with a 15-bit window after agreeing 8 fails', async (t) => {
  const verdict = await againstServer({ answer: 'permessage-deflate; server_max_window_bits=8', window: 15, keepsContext: true }, '13.3.10')
  t.match(verdict.reasons.join('\n'), /does not inflate as agreed: distance \d+ beyond a 256-byte window/)
})

t.test('a server that keeps its context after agreeing no context takeover fails', async (t) => {
  const verdict = await againstServer({ answer: 'permessage-deflate; server_no_context_takeover', window: 15, keepsContext: true }, '13.2.5')
  t.match(verdict.reasons.join('\n'), /does not inflate as agreed: invalid distance too far back/)
})

t.test('a server that sets RSV1 on continuation frames fails', async (t) => {
  const verdict = await againstServer({ window: 15, keepsContext: true, rsv1OnEveryFrame: 1024 }, '12.1.5')
  t.match(verdict.reasons.join('\n'), /protocol violation: RSV1 on a continuation frame \(\d+ B\): only the first frame of a data message may carry it/)
})

t.test('a server that agrees but never compresses fails on messages of 1024 bytes or more', async (t) => {
  const verdict = await againstServer({ window: 15, keepsContext: true, neverCompresses: true }, '12.2.5')
  t.match(verdict.reasons.join('\n'), /echo 1 \(4096 B\) came uncompressed/)
})

t.test('a server whose answer does not meet the offer fails the handshake', async (t) => {
  const verdict = await againstServer({ answer: 'permessage-deflate; server_max_window_bits=15', window: 15, keepsContext: true }, '13.5.1')
  t.match(verdict.reasons.join('\n'), /handshake: .*meets none of the offers: server_no_context_takeover was asked for and not answered/)
})

t.test('a client that compresses with a 15-bit window after being asked for 8 fails', async (t) => {
  const server = await startFuzzingServer()
  t.teardown(() => server.close())
  const c = byId('13.3.10')
  const script = capEchoes(c.build(), ECHOES)
  const record = await fuzzClient(server, c, script, 'whole', prng(1), carelessDeflateClient({ window: 15, keepsContext: true }))
  const verdict = judge(c, script, record, { testee: 'client', mode: 'whole' })
  t.match(verdict.reasons.join('\n'), /does not inflate as agreed: distance \d+ beyond a 256-byte window/)
})
