/**
 * `watershed URL` against a real server of the library: stdin becomes
 * messages in each framing, messages come out on stdout, stdin's end closes
 * with 1000 (or --close-code), and each way of ending has its exit status.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { accept } from '../../lib/handshake/server'
import { WebSocketServer } from '../../lib/server/websocket-server'
import { isMessageStream, type MessageStream } from '../../lib/stages/message-stream'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { assertBuilt, runCli } from '../helpers/cli'
import { selfSignedCertificate } from '../helpers/tls-certificate'
import { listen, serve } from '../helpers/ws-pair'
import { closedWithin, record, type Recording } from '../helpers/ws-wait'

assertBuilt()

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

/** A server of the library that records its connections and answers each message with `answer`. */
async function server(t: Test, answer: (message: string | Buffer) => string | Buffer | null = (m) => m, options = {}) {
  const connections: Array<{ ws: WebSocketDuplex; rec: Recording; headers: Record<string, unknown> }> = []
  const listening = await serve(options, (ws, req) => {
    const rec = record(ws, { read: false })
    ws.on('data', (message: string | Buffer) => {
      rec.messages.push(message)
      const reply = answer(message)
      if (reply !== null) ws.write(reply)
    })
    connections.push({ ws, rec, headers: req.headers })
  })
  t.teardown(() => listening.close())
  return { url: listening.url, port: listening.port, connections }
}

t.test('lines: each line a text message, each message a line; stdin ends, 1000 closes, exit 0', async (t) => {
  const { url, connections } = await server(t, (m) => String(m).toUpperCase())
  const run = await runCli([url], 'one\ntwo\n\nünïcödé ✓\nlast without newline')
  t.equal(run.code, 0, run.stderr)
  t.equal(run.stderr, '')
  t.strictSame(connections[0].rec.messages, ['one', 'two', '', 'ünïcödé ✓', 'last without newline'], 'every line, as text, the empty one too')
  t.equal(run.stdout.toString(), 'ONE\nTWO\n\nÜNÏCÖDÉ ✓\nLAST WITHOUT NEWLINE\n', 'every answer, one per line')
  t.strictSame(await closedWithin(connections[0].rec), [1000, ''], 'the server saw a clean close')
})

t.test('-0: NUL-terminated records both ways', async (t) => {
  const { url, connections } = await server(t)
  const run = await runCli(['-0', url], 'a line\nwith a newline\0second\0')
  t.equal(run.code, 0, run.stderr)
  t.strictSame(connections[0].rec.messages, ['a line\nwith a newline', 'second'])
  t.equal(run.stdout.toString(), 'a line\nwith a newline\0second\0')
})

t.test('-b: random bytes go out as binary messages and come back identical (SHA-256)', async (t) => {
  const { url, connections } = await server(t)
  const input = randomBytes(3 * 1024 * 1024 + 7)
  const run = await runCli(['-b', url], input)
  t.equal(run.code, 0, run.stderr)
  t.ok(connections[0].rec.messages.every((m) => Buffer.isBuffer(m)), 'every message is binary')
  t.equal(sha256(Buffer.concat(connections[0].rec.messages as Buffer[])), sha256(input), 'the server got every byte, in order')
  t.equal(run.stdout.length, input.length)
  t.equal(sha256(run.stdout), sha256(input), 'stdout holds exactly the bytes echoed')
})

t.test('--length-prefixed: records of a 4-byte length and their bytes, both ways', async (t) => {
  const { url, connections } = await server(t)
  const records = [Buffer.from('first'), Buffer.alloc(0), randomBytes(70_000)]
  const input = Buffer.concat(records.flatMap((r) => [Buffer.from([0, 0, 0, 0].map((_, i) => (r.length >>> (8 * (3 - i))) & 0xff)), r]))
  const run = await runCli(['-b', '--length-prefixed', url], input)
  t.equal(run.code, 0, run.stderr)
  t.strictSame(connections[0].rec.messages, records, 'one binary message per record')
  t.ok(run.stdout.equals(input), 'the echoes come back framed the same way')
})

t.test('--length-prefixed: input that ends inside a record is an error, after the records before it', async (t) => {
  const { url, connections } = await server(t)
  const run = await runCli(['-b', '--length-prefixed', url], Buffer.from([0, 0, 0, 2, 0x61, 0x62, 0, 0, 0, 9, 0x63]))
  t.equal(run.code, 1)
  t.match(run.stderr, /^watershed: the input ended inside a record \(1 bytes of 9 bytes\)$/m)
  t.strictSame(connections[0].rec.messages, [Buffer.from('ab')], 'the whole record before it was sent')
  t.strictSame(await closedWithin(connections[0].rec), [1011, 'input ended inside a record'])
})

t.test('--whole: stdin is one message, streamed; a large one never waits whole', async (t) => {
  const sizes: number[] = []
  const digests: string[] = []
  // Half-open: the answer goes out after the client's CLOSE, which follows its message at once.
  const listening = await serve({ streamMessages: true, allowHalfOpen: true }, (ws) => {
    ws.on('error', () => {})
    ws.on('data', async (message: MessageStream | string | Buffer) => {
      const hash = createHash('sha256')
      let size = 0
      if (isMessageStream(message)) {
        for await (const chunk of message) {
          hash.update(chunk as Buffer)
          size += (chunk as Buffer).length
        }
        sizes.push(size)
        digests.push(hash.digest('hex'))
        ws.end(`${message.text ? 'text' : 'binary'} message of ${size} bytes`)
      }
    })
  })
  t.teardown(() => listening.close())
  const input = randomBytes(8 * 1024 * 1024)
  const run = await runCli(['-b', '--whole', listening.url], input)
  t.equal(run.code, 0, run.stderr)
  t.strictSame(sizes, [input.length], 'exactly one message, of every byte')
  t.strictSame(digests, [sha256(input)])
  t.equal(run.stdout.toString(), `binary message of ${input.length} bytes`, 'binary mode: the answer is written as it is, with nothing after it')

  const text = await runCli(['--whole', listening.url], 'line one\nline two\n')
  t.equal(text.code, 0, text.stderr)
  t.equal(text.stdout.toString(), 'text message of 18 bytes\n', 'without -b the message is text, newlines and all')
})

t.test('a line that is not UTF-8 is refused with a clear error: close 1011, exit 1', async (t) => {
  const { url, connections } = await server(t)
  const run = await runCli([url], Buffer.concat([Buffer.from('fine\n'), Buffer.from([0xc3, 0x28, 0x0a]), Buffer.from('never sent\n')]))
  t.equal(run.code, 1)
  t.match(run.stderr, /^watershed: line 2 of the input is not valid UTF-8 \(send bytes as binary messages with -b\)$/m)
  t.notMatch(run.stderr, /\n\s+at /, 'no stack trace')
  t.strictSame(connections[0].rec.messages, ['fine'])
  t.strictSame(await closedWithin(connections[0].rec), [1011, 'input is not UTF-8'])
})

t.test('--header, --origin and --protocol go into the handshake; the chosen subprotocol shows with -v', async (t) => {
  const { url, connections } = await server(t, (m) => m, { protocols: ['chat.v1'] })
  const run = await runCli(['-v', '-H', 'Authorization: Bearer abc', '--header', 'X-Trace: 1', '--origin', 'https://app.example', '--protocol', 'chat.v2,chat.v1', url], 'hi\n')
  t.equal(run.code, 0, run.stderr)
  const headers = connections[0].headers
  t.equal(headers.authorization, 'Bearer abc')
  t.equal(headers['x-trace'], '1')
  t.equal(headers.origin, 'https://app.example')
  t.equal(headers['sec-websocket-protocol'], 'chat.v2, chat.v1')
  t.equal(connections[0].ws.protocol, 'chat.v1')
  t.match(run.stderr, /^watershed: connected to ws:\/\/127\.0\.0\.1:\d+\/ \(subprotocol chat\.v1\)$/m)
})

t.test('--close-code and --close-reason: what stdin\'s end closes with', async (t) => {
  const { url, connections } = await server(t)
  const run = await runCli(['--close-code', '4001', '--close-reason', 'done here', url], 'x\n')
  t.equal(run.code, 0, 'our own close, echoed, is a clean end')
  t.strictSame(await closedWithin(connections[0].rec), [4001, 'done here'])
})

t.test('-n: the end of stdin leaves the connection open until the server closes', async (t) => {
  const { url, connections } = await server(t, (m) => {
    // The server answers, then closes by itself.
    setImmediate(() => connections[0].ws.close(1000, 'bye'))
    return `got ${m}`
  })
  const run = await runCli(['-n', url], 'only\n')
  t.equal(run.code, 0, run.stderr)
  t.equal(run.stdout.toString(), 'got only\n')
  t.strictSame(connections[0].rec.closes, [[1000, '']], 'the server closed first; the client answered')
})

t.test('exit statuses: refused 4, unreachable 3, lost 5', async (t) => {
  const refusing = new WebSocketServer({ verify: () => ({ status: 401, body: 'a token is required\n' }) })
  const refuser = await listen((req, socket, head) => void refusing.handleUpgrade(req, socket, head))
  t.teardown(() => refuser.close())
  const refused = await runCli([refuser.url])
  t.equal(refused.code, 4)
  t.equal(refused.stderr, `watershed: ${refuser.url} refused the upgrade: HTTP 401: a token is required\n`)

  const port = refuser.port
  await refuser.close()
  const unreachable = await runCli([`ws://127.0.0.1:${port}/`])
  t.equal(unreachable.code, 3)
  t.match(unreachable.stderr, /^watershed: cannot connect to ws:\/\/127\.0\.0\.1:\d+\/: .*ECONNREFUSED/)

  // A server that accepts, then drops the TCP connection without a CLOSE.
  const dropping = await listen((req, socket, head) => {
    const ws = accept(req, socket, head)
    ws.on('data', () => socket.destroy())
  })
  t.teardown(() => dropping.close())
  const lost = await runCli(['-n', dropping.url], 'hello\n')
  t.equal(lost.code, 5)
  t.match(lost.stderr, /lost without a closing handshake \(1006\)|ECONNRESET/)
})

t.test('the peer closing with an error code: exit 1 and the code on stderr', async (t) => {
  const connections: WebSocketDuplex[] = []
  const listening = await serve({}, (ws) => {
    connections.push(ws)
    ws.on('error', () => {})
    ws.on('data', () => ws.close(1011, 'backend broke'))
  })
  t.teardown(() => listening.close())
  const run = await runCli(['-n', listening.url], 'hello\n')
  t.equal(run.code, 1)
  t.equal(run.stderr, 'watershed: the peer closed the connection with 1011 "backend broke"\n')
})

t.test('TLS: --ca trusts a certificate, without it the connection fails (3), --insecure skips the check', async (t) => {
  const credentials = selfSignedCertificate(t.comment)
  const dir = mkdtempSync(path.join(tmpdir(), 'watershed-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const caFile = path.join(dir, 'ca.pem')
  writeFileSync(caFile, credentials.cert)
  const server = https.createServer(credentials)
  const wss = new WebSocketServer({ server })
  wss.on('connection', (ws) => ws.on('data', (m: string) => ws.write(`secure ${m}`)))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const url = `wss://127.0.0.1:${(server.address() as AddressInfo).port}/`

  const trusted = await runCli(['--ca', caFile, url], 'hi\n')
  t.equal(trusted.code, 0, trusted.stderr)
  t.equal(trusted.stdout.toString(), 'secure hi\n')

  const untrusted = await runCli([url], 'hi\n')
  t.equal(untrusted.code, 3)
  t.match(untrusted.stderr, /^watershed: cannot connect to wss:\/\/127\.0\.0\.1:\d+\/: .*self[- ]signed certificate/)

  const insecure = await runCli(['-k', url], 'hi\n')
  t.equal(insecure.code, 0, insecure.stderr)
  t.equal(insecure.stdout.toString(), 'secure hi\n')
})

t.test('--compress negotiates permessage-deflate', async (t) => {
  const { url, connections } = await server(t, (m) => m, { perMessageDeflate: true })
  const line = 'compressible '.repeat(500)
  const run = await runCli(['--compress', '-v', url], `${line}\n`)
  t.equal(run.code, 0, run.stderr)
  t.match(connections[0].ws.extensions, /^permessage-deflate/)
  t.match(run.stderr, /extensions permessage-deflate/)
  t.equal(run.stdout.toString(), `${line}\n`)
})

t.test('--ping-interval pings; -v shows the pongs and the close', async (t) => {
  const { url, connections } = await server(t, () => {
    setTimeout(() => connections[0].ws.close(1000, 'enough'), 700)
    return null
  })
  const run = await runCli(['-v', '-n', '--ping-interval', '0.1', url], 'start\n')
  t.equal(run.code, 0, run.stderr)
  t.match(run.stderr, /^watershed: pong received ""$/m, 'a pong answers the heartbeat')
  t.match(run.stderr, /^watershed: the peer closes: 1000 "enough"$/m)
  t.match(run.stderr, /^watershed: closed: 1000 "enough"$/m)
})

t.test('--max-message-size bounds what is received and what is sent', async (t) => {
  const { url, connections } = await server(t, () => 'x'.repeat(2048))
  const tooBig = await runCli(['-n', '--max-message-size', '1K', url], 'hi\n')
  t.equal(tooBig.code, 1)
  t.match(tooBig.stderr, /WS_ERR_(MESSAGE|PAYLOAD)_TOO_LARGE, close 1009/)
  t.strictSame(await closedWithin(connections[0].rec), [1009, ''], 'the server is told 1009')

  const longLine = await runCli(['--max-message-size', '1K', url], `${'y'.repeat(1025)}\n`)
  t.equal(longLine.code, 1)
  t.match(longLine.stderr, /^watershed: line 1 of the input is over the largest message size \(1024 bytes; see --max-message-size\)$/m)
})
