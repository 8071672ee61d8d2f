/**
 * A subset of the conformance cases run over an HTTP/2 stream (RFC 8441):
 * the fuzzing client opens each case's WebSocket as an extended CONNECT on
 * one shared h2c session to the library's WebSocketServer (echoing, as the
 * testee does over TCP), and plays the case on the stream exactly as it
 * would on a TCP connection; the same judge gives the verdict, which must be
 * strictly OK.
 *
 * The subset: every case of sections 1 (framing), 2 (ping/pong), 3
 * (reserved bits), 4 (reserved opcodes), 5 (fragmentation) and 7 (closing),
 * in whole and random delivery. What the stream changes is below the
 * frames: a session's flow control in place of TCP's, and END_STREAM in
 * place of FIN (the judge's "TCP" is the stream here).
 */
import http2, { type ClientHttp2Stream } from 'node:http2'
import type { Socket } from 'node:net'
import t from 'tap'
import { ALL_CASES } from './cases/index'
import type { Mode } from './delivery'
import { judge } from './judge'
import { caseRandom } from './runner'
import { Session } from './session'
import { echo, type TesteeLog } from './testee'
import { serveH2c } from '../helpers/h2-server'

const SECTIONS = new Set([1, 2, 3, 4, 5, 7])
const MODES: Mode[] = ['whole', 'random']
const SEED = 8441
const CONCURRENCY = 8

t.test('conformance cases over an HTTP/2 stream (server testee)', async (t) => {
  const listening = await serveH2c(t)
  const logs = new Map<string, TesteeLog>()
  listening.wss.on('connection', (ws, req) => logs.set(req.url!, echo(ws as Parameters<typeof echo>[0])))
  const session = http2.connect(listening.url.replace(/^ws/, 'http'))
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  await new Promise((resolve) => session.once('remoteSettings', resolve))

  const cases = ALL_CASES.filter((c) => SECTIONS.has(c.section) && !c.deflate)
  for (const mode of MODES) {
    const verdicts: Array<{ id: string; ok: boolean; reasons: string[] }> = []
    let next = 0
    const lane = async () => {
      while (next < cases.length) {
        const c = cases[next++]!
        const path = `/${c.id}/${mode}`
        const stream = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':path': path, 'sec-websocket-version': '13' })
        const status = await new Promise<number>((resolve, reject) => {
          stream.once('response', (headers) => resolve(Number(headers[':status'])))
          stream.once('error', reject)
        })
        if (status !== 200) {
          verdicts.push({ id: c.id, ok: false, reasons: [`status ${status}`] })
          continue
        }
        const script = c.build()
        // The session plays a case on any byte Duplex; a stream's no-delay belongs to its session.
        const carrier: ClientHttp2Stream = Object.assign(stream, { setNoDelay: () => carrier })
        const record = await new Session(carrier as unknown as Socket, Buffer.alloc(0), {
          side: 'client', mode, random: caseRandom(SEED, 'server', mode, c.id),
        }).run(c, script)
        const log = logs.get(path)
        if (log) {
          await Promise.race([log.closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())])
          record.testee = { errors: log.errors, closeCode: log.closeCode }
        }
        verdicts.push({ id: c.id, ...judge(c, script, record, { testee: 'server', mode }) })
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, lane))
    const failed = verdicts.filter((verdict) => !verdict.ok)
    t.equal(verdicts.length, cases.length, `${mode} delivery: every one of the ${cases.length} cases ran`)
    t.same(failed, [], `${mode} delivery: every case strictly OK over the stream`)
  }
  t.notOk(session.closed || session.destroyed, 'one session carried them all')
})
