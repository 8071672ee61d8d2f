/**
 * `watershed --listen`: stdin broadcast to every client and their messages
 * on stdout; --once; --path and --origin refusals; --exec with sort, cat and
 * wc -l, the program's exit as the close code, and --kill-after.
 */
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { connect } from '../../lib/handshake/client'
import { HandshakeError } from '../../lib/protocol/errors'
import { assertBuilt, runCli, startServer } from '../helpers/cli'
import { closedWithin, record, until, within } from '../helpers/ws-wait'

assertBuilt()

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

t.test('broadcast: stdin lines go to every client, every client\'s messages to stdout; SIGINT closes all with 1001', async (t) => {
  const { cli, url } = await startServer(t, ['--listen', '0', '-v'])
  // Typed before anyone is connected: kept for the first client, not dropped.
  cli.child.stdin.write('early\n')
  const a = await connect(url)
  const recA = record(a)
  await until(() => recA.messages.length === 1, 5000, 'the early line reaching the first client')
  const b = await connect(url)
  const recB = record(b)
  await cli.waitForStderr(/#2 connected from 127\.0\.0\.1:\d+/)
  cli.child.stdin.write('to everyone\n')
  await until(() => recA.messages.length === 2 && recB.messages.length === 1, 5000, 'the broadcast')
  t.strictSame(recA.messages, ['early', 'to everyone'])
  t.strictSame(recB.messages, ['to everyone'])
  a.write('from a')
  b.write('from b')
  await cli.waitForStdout(/from a\n[^]*from b\n|from b\n[^]*from a\n/)

  cli.child.kill('SIGINT')
  t.strictSame(await closedWithin(recA), [1001, 'server shutting down'])
  t.strictSame(await closedWithin(recB), [1001, 'server shutting down'])
  const exit = await cli.finish()
  t.equal(exit.code, 130)
  t.equal(exit.stdout.toString().split('\n').sort().join('\n'), '\nfrom a\nfrom b', 'exactly the two messages, one line each')
})

t.test('--once: one connection joined to stdin and stdout; the server exits when it closes', async (t) => {
  const { cli, url, port } = await startServer(t, ['--listen', '127.0.0.1:0', '--once'])
  const ws = await connect(url)
  const rec = record(ws)
  cli.child.stdin.write('hello client\n')
  await until(() => rec.messages.length === 1, 5000, 'the line')
  ws.write('hello server')
  await cli.waitForStdout(/^hello server\n$/)
  await t.rejects(connect(`ws://127.0.0.1:${port}/`), { code: 'ECONNREFUSED' }, 'a second client finds nobody listening')
  ws.close(1000, 'bye')
  const exit = await cli.finish()
  t.equal(exit.code, 0)
  t.strictSame(await closedWithin(rec), [1000, ''], 'the server echoed the code')
})

t.test('--path and --origin: other paths are answered 404, other origins 403', async (t) => {
  const { url } = await startServer(t, ['--listen', '0', '--path', '/chat', '--origin', 'https://app.example'])
  const otherPath = await connect(`${url}other`, { headers: { Origin: 'https://app.example' } }).catch((error: HandshakeError) => error)
  t.equal((otherPath as HandshakeError).statusCode, 404)
  const wrongOrigin = await connect(`${url}chat`, { headers: { Origin: 'https://evil.example' } }).catch((error: HandshakeError) => error)
  t.equal((wrongOrigin as HandshakeError).statusCode, 403)
  const ws = await connect(`${url}chat?room=1`, { headers: { Origin: 'https://app.example' } })
  ws.close()
  ws.resume()
  t.strictSame(await closedWithin(record(ws, { read: false })), [1000, ''])

  const refused = await runCli([`${url}other`])
  t.equal(refused.code, 4, 'the command as client: a refused handshake')
  t.match(refused.stderr, /refused the upgrade: HTTP 404/)
})

t.test('--exec sort: each connection gets its own sort; its output comes back before the close', async (t) => {
  const { url } = await startServer(t, ['--listen', '0', '--exec', 'sort'])
  const [first, second] = await Promise.all([
    runCli([url], 'pear\nfig\napple\n'),
    runCli([url], 'zebra\nant\n'),
  ])
  t.equal(first.code, 0, first.stderr)
  t.equal(first.stdout.toString(), 'apple\nfig\npear\n')
  t.equal(second.code, 0, second.stderr)
  t.equal(second.stdout.toString(), 'ant\nzebra\n')
})

t.test('--exec wc -l: a thousand messages in, one line out', async (t) => {
  const { url } = await startServer(t, ['--listen', '0', '--exec', 'wc', '-l'])
  const ws = await connect(url)
  const rec = record(ws)
  for (let i = 0; i < 1000; i++) ws.write(`message ${i}`)
  ws.close()
  await closedWithin(rec)
  t.strictSame(rec.messages.map((m) => String(m).trim()), ['1000'])
})

t.test('--exec cat with -b: binary messages pass through the program byte for byte', async (t) => {
  const { url } = await startServer(t, ['--listen', '0', '-b', '--exec', 'cat'])
  const input = randomBytes(2 * 1024 * 1024)
  const run = await runCli(['-b', url], input)
  t.equal(run.code, 0, run.stderr)
  t.equal(sha256(run.stdout), sha256(input))
})

t.test("--exec: the program's exit closes: 1000 for status 0, 1011 with the status otherwise", async (t) => {
  const ok = await startServer(t, ['--listen', '0', '--exec', 'sh', '-c', 'echo "$WATERSHED_URL $WATERSHED_PROTOCOL"'])
  const ws = await connect(`${ok.url}room?id=7`, { protocols: ['p1'] })
  const rec = record(ws)
  t.strictSame(await closedWithin(rec), [1000, ''])
  t.strictSame(rec.messages, ['/room?id=7 '], 'the program learns the request URL (no subprotocol was agreed)')

  const failing = await startServer(t, ['--listen', '0', '--exec', 'sh', '-c', 'echo partial; exit 3'])
  const run = await runCli(['-n', failing.url])
  t.equal(run.stdout.toString(), 'partial\n')
  t.equal(run.code, 1, 'the client exits 1: closed with an error code')
  t.equal(run.stderr, 'watershed: the peer closed the connection with 1011 "sh exited with 3"\n')

  const missing = await startServer(t, ['--listen', '0', '--exec', 'no-such-command-here'])
  const ws2 = await connect(missing.url)
  t.strictSame(await closedWithin(record(ws2)), [1011, 'cannot run no-such-command-here'])
  await missing.cli.waitForStderr(/^watershed: #1 cannot run no-such-command-here: command not found$/m)
})

t.test('--kill-after: a program that ignores the end of its input is stopped, and the close completes', async (t) => {
  const { cli, url } = await startServer(t, ['--listen', '0', '-v', '--kill-after', '0.3', '--exec', 'sleep', '30'])
  const ws = await connect(url)
  const rec = record(ws)
  await cli.waitForStderr(/#1 started sleep/)
  const started = Date.now()
  ws.close(1000, 'done')
  t.strictSame(await closedWithin(rec, 5000), [1000, ''], 'the answer echoes our code, once the program is gone')
  t.ok(Date.now() - started < 3000, 'well before the close timeout')
  await cli.waitForStderr(/#1 sleep was killed by SIGTERM/)
})

t.test('a server that cannot listen says why and exits 3', async (t) => {
  const { port } = await startServer(t, ['--listen', '0'])
  const run = await within(runCli(['--listen', String(port)]), 10_000, 'the second server')
  t.equal(run.code, 3)
  t.equal(run.stderr, `watershed: cannot listen on 127.0.0.1:${port}: the address is in use\n`)
})
