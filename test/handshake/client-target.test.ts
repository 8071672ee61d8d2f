/**
 * Where connect() goes: the URL forms it takes (ws:, wss:, http:, https:,
 * ws+unix:, wss+unix:), a real connection over a unix domain socket in both
 * the plain and the TLS form, and the clear refusal of anything else.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { clientTarget, redirectTarget, sameOrigin } from '../../lib/handshake/client-target'
import { connect } from '../../lib/handshake/client'
import { HandshakeError } from '../../lib/protocol/errors'
import { WebSocketServer } from '../../lib/server/websocket-server'
import { selfSignedCertificate } from '../helpers/tls-certificate'
import { connected } from '../helpers/ws-pair'
import { nextEvent } from '../helpers/ws-wait'

t.test('URL forms', async (t) => {
  t.test('ws: and http: are TCP with default port 80; wss: and https: TLS with 443', async (t) => {
    t.match(clientTarget('ws://example.com/chat?x=1'), { secure: false, hostname: 'example.com', port: 80, path: '/chat?x=1', socketPath: undefined })
    t.match(clientTarget('http://example.com'), { secure: false, port: 80, path: '/' })
    t.match(clientTarget('wss://example.com:8443/a'), { secure: true, port: 8443, path: '/a' })
    t.match(clientTarget(new URL('https://[::1]/')), { secure: true, hostname: '::1', port: 443 })
  })

  t.test('ws+unix: names the socket, then the request path after a colon', async (t) => {
    t.match(clientTarget('ws+unix:/run/app.sock:/chat?room=1'), { secure: false, socketPath: '/run/app.sock', path: '/chat?room=1' })
    t.match(clientTarget('ws+unix:///run/app.sock:/chat'), { socketPath: '/run/app.sock', path: '/chat' }, 'with an empty authority too')
    t.match(clientTarget('wss+unix:/run/app.sock:/'), { secure: true, socketPath: '/run/app.sock', path: '/' })
    t.match(clientTarget('ws+unix:/run/app.sock'), { socketPath: '/run/app.sock', path: '/' }, 'no path: /')
    t.match(clientTarget('ws+unix:/run/my%20app.sock:/a%20b'), { socketPath: '/run/my app.sock', path: '/a%20b' },
      'the socket path is decoded, the request path is sent as written')
  })

  t.test('a unix URL without a socket path, or with a host, is refused', async (t) => {
    t.throws(() => clientTarget('ws+unix::/chat'), { name: 'SyntaxError', message: /must name a socket path/ })
    t.throws(() => clientTarget('ws+unix://host/run/app.sock:/x'), { name: 'SyntaxError', message: /must name a socket path/ })
  })

  t.test('another scheme is refused by name, listing those accepted', async (t) => {
    t.throws(() => clientTarget('ftp://example.com/'), new SyntaxError('unsupported URL scheme "ftp": expected one of ws: wss: http: https: ws+unix: wss+unix:'))
  })
})

t.test('redirect targets', async (t) => {
  const from = clientTarget('ws://example.com/a/b')
  t.test('a relative Location resolves against the URL that answered', async (t) => {
    t.match(redirectTarget('c?d=1', from, 302, {}), { hostname: 'example.com', path: '/a/c?d=1' })
    t.match(redirectTarget('wss://other.example/x', from, 301, {}), { secure: true, hostname: 'other.example', path: '/x' })
  })
  t.test('on a unix socket, a path-only Location stays on that socket', async (t) => {
    const unix = clientTarget('ws+unix:/run/app.sock:/old')
    const next = redirectTarget('/new?x=1', unix, 307, {})
    t.match(next, { socketPath: '/run/app.sock', path: '/new?x=1' })
    t.equal(next.url.href, 'ws+unix:/run/app.sock:/new?x=1')
  })
  t.test('switching between a network address and a unix socket is refused', async (t) => {
    t.throws(() => redirectTarget('ws+unix:/run/app.sock:/', from, 302, {}), { code: 'WS_ERR_INVALID_REDIRECT', statusCode: 302 })
    t.throws(() => redirectTarget('ws://example.com/', clientTarget('ws+unix:/run/app.sock:/'), 302, {}), { code: 'WS_ERR_INVALID_REDIRECT' })
  })
  t.test('a Location with another scheme is refused with WS_ERR_INVALID_REDIRECT', async (t) => {
    const error = t.throws(() => redirectTarget('ftp://example.com/', from, 301, { location: 'ftp://example.com/' }))
    t.type(error, HandshakeError)
    t.match(error, { code: 'WS_ERR_INVALID_REDIRECT', statusCode: 301, headers: { location: 'ftp://example.com/' }, message: /unsupported URL scheme "ftp"/ })
  })
  t.test('the same origin: scheme security, host, port and socket all equal', async (t) => {
    t.ok(sameOrigin(from, clientTarget('http://example.com:80/other')))
    t.notOk(sameOrigin(from, clientTarget('wss://example.com/a/b')))
    t.notOk(sameOrigin(from, clientTarget('ws://example.com:8080/a/b')))
    t.notOk(sameOrigin(from, clientTarget('ws://evil.example/a/b')))
  })
})

/** A WebSocketServer on an http or https server listening on a unix socket in a fresh folder; echoes, tells its path. */
async function unixServer(t: Test, server: http.Server) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'watershed-unix-'))
  const socketPath = path.join(dir, 'ws.sock')
  const wss = new WebSocketServer({ server })
  wss.on('connection', (ws, req) => {
    ws.on('error', () => {})
    ws.write(`path ${req.url}`)
    ws.on('data', (message: string | Buffer) => ws.write(message))
  })
  await new Promise<void>((resolve) => server.listen(socketPath, resolve))
  t.teardown(async () => {
    await wss.close()
    await new Promise((resolve) => server.close(resolve))
    await rm(dir, { recursive: true, force: true })
  })
  return socketPath
}

t.test('over a unix domain socket', async (t) => {
  t.test('ws+unix: connects, sends the request path, and messages flow', async (t) => {
    const socketPath = await unixServer(t, http.createServer())
    const ws = await connected(t, connect(`ws+unix:${socketPath}:/chat?room=7`))
    const [greeting] = await nextEvent<[string]>(ws, 'data')
    t.equal(greeting, 'path /chat?room=7')
    t.equal(ws.socket.remoteAddress, undefined, 'not a TCP connection')
    ws.write('over a unix socket')
    const [echo] = await nextEvent<[string]>(ws, 'data')
    t.equal(echo, 'over a unix socket')
    t.equal(ws.response?.url, `ws+unix:${socketPath}:/chat?room=7`)
  })

  t.test('wss+unix: speaks TLS over the socket', async (t) => {
    const credentials = selfSignedCertificate((message) => t.comment(message))
    const socketPath = await unixServer(t, https.createServer(credentials))
    // The certificate names 127.0.0.1, not the socket: its identity is checked against requestOptions.host.
    const ws = await connected(t, connect(`wss+unix:${socketPath}:/secure`, { requestOptions: { ca: credentials.cert, host: '127.0.0.1' } }))
    t.equal(ws.socket.constructor.name, 'TLSSocket')
    const [greeting] = await nextEvent<[string]>(ws, 'data')
    t.equal(greeting, 'path /secure')
  })

  t.test('a socket path where nothing listens rejects with ENOENT', async (t) => {
    const error = await connect('ws+unix:/nonexistent/watershed.sock:/').then(
      (ws) => { ws.destroy(); return null },
      (caught: NodeJS.ErrnoException) => caught,
    )
    t.equal(error?.code, 'ENOENT')
  })
})
