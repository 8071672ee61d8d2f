/**
 * Ctrl-C: the first SIGINT closes with 1001 and waits for the answer
 * (exit 130); a second one exits at once, for a peer that never answers.
 */
import t from 'tap'
import type { Socket } from 'node:net'
import { accept } from '../../lib/handshake/server'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import type { FrameSlice } from '../../lib/protocol/frame'
import { Opcode } from '../../lib/protocol/frame'
import { parseClosePayload } from '../../lib/protocol/close'
import { assertBuilt, Cli } from '../helpers/cli'
import { listen, serve } from '../helpers/ws-pair'
import { closedWithin, record, type Recording } from '../helpers/ws-wait'

assertBuilt()

t.test('SIGINT closes with 1001 "interrupted", waits for the answer, exits 130', async (t) => {
  let rec: Recording | undefined
  const listening = await serve({}, (ws) => {
    rec = record(ws)
  })
  t.teardown(() => listening.close())
  const cli = new Cli(['-v', listening.url])
  t.teardown(() => cli.stop())
  await cli.waitForStderr(/connected to/)
  cli.child.stdin.write('still typing\n')
  cli.child.kill('SIGINT')
  const exit = await cli.finish()
  t.equal(exit.code, 130)
  t.strictSame(await closedWithin(rec!), [1001, 'interrupted'], 'the server saw 1001')
  t.match(exit.stderr, /^watershed: closed: 1001 ""$/m, 'the server answered, and then the command exited')
})

t.test('a second SIGINT exits at once when the peer never answers the CLOSE', async (t) => {
  // A server that completes the handshake and then only listens: it never answers a CLOSE.
  const frames: FrameSlice[] = []
  const silent = await listen((req, raw, head) => {
    const socket = accept(req, raw, head, { raw: true }) as Socket
    socket.pipe(new FrameDecoder({ role: 'server' })).on('data', (frame: FrameSlice) => frames.push(frame))
  })
  t.teardown(() => silent.close())
  const cli = new Cli(['-n', '-v', '--close-timeout', '30', silent.url])
  t.teardown(() => cli.stop())
  await cli.waitForStderr(/connected to/)
  cli.child.kill('SIGINT')
  await t.resolves(async () => {
    while (!frames.some((f) => f.opcode === Opcode.CLOSE)) await new Promise((resolve) => setTimeout(resolve, 10))
  })
  const close = frames.find((f) => f.opcode === Opcode.CLOSE)!
  t.strictSame(parseClosePayload(close.payload), { code: 1001, reason: 'interrupted' }, 'the first SIGINT sent CLOSE 1001')
  const second = Date.now()
  cli.child.kill('SIGINT')
  const exit = await cli.finish(5000)
  t.equal(exit.code, 130)
  t.ok(Date.now() - second < 2000, `the second SIGINT ended it at once (${Date.now() - second} ms), not after the 30 s close timeout`)
})
