/**
 * Chromium opening a wss: WebSocket over HTTP/2 to our server (RFC 8441).
 * The browser's conditions, as this test meets them:
 *  - TLS only (Chromium speaks HTTP/2 only over TLS, negotiated by ALPN);
 *  - a certificate it trusts: the self-signed one is pinned by the hash of
 *    its public key (--ignore-certificate-errors-spki-list), so the
 *    connection counts as secure and may be pooled (with certificate errors
 *    merely ignored, a browser need not reuse the connection);
 *  - an HTTP/2 connection to the origin that already exists (the page was
 *    loaded over it) and whose server sent SETTINGS_ENABLE_CONNECT_PROTOCOL:
 *    the WebSocket then becomes an extended CONNECT stream on it.
 * The server checks that the WebSocket arrived as an HTTP/2 stream, on the
 * very session that served the page.
 */
import { createHash, X509Certificate } from 'node:crypto'
import type { ServerHttp2Session } from 'node:http2'
import t from 'tap'
import { chromiumMissing, launchChromium } from '../helpers/chromium'
import { serveH2Secure } from '../helpers/h2-server'
import { within } from '../helpers/ws-wait'

const PAGE = '<!doctype html><meta charset="utf-8"><title>watershed over HTTP/2</title>'

/** base64(SHA-256(SubjectPublicKeyInfo)): what Chromium's SPKI allow-list takes. */
function spkiHash(cert: string): string {
  const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(spki).digest('base64')
}

t.test('Chromium -> our server: a wss: WebSocket over the HTTP/2 connection of its page', { skip: chromiumMissing() ?? false }, async (t) => {
  // allowHTTP1: had the browser fallen back to an HTTP/1.1 upgrade, the test would see it (and fail), not hang.
  const listening = await serveH2Secure(t, { protocols: ['chat'] }, { allowHTTP1: true })
  const pageSessions: ServerHttp2Session[] = []
  listening.server.on('stream', (stream, headers) => {
    if (headers[':method'] !== 'GET') return
    pageSessions.push(stream.session as ServerHttp2Session)
    stream.respond({ ':status': 200, 'content-type': headers[':path'] === '/' ? 'text/html; charset=utf-8' : 'text/plain' })
    stream.end(headers[':path'] === '/' ? PAGE : 'not here')
  })
  const arrivals: Array<{ httpVersion: string; stream: boolean; session: ServerHttp2Session | undefined }> = []
  const serverCloses: Array<Promise<[number, string]>> = []
  listening.wss.on('connection', (ws, req) => {
    arrivals.push({ httpVersion: req.httpVersion, stream: 'session' in ws.socket, session: 'session' in ws.socket ? ws.socket.session as ServerHttp2Session : undefined })
    ws.on('error', () => {})
    ws.on('data', (message: string | Buffer) => ws.write(typeof message === 'string' ? `echo: ${message}` : message))
    serverCloses.push(new Promise((resolve) => ws.on('close', (code: number, reason: string) => resolve([code, reason]))))
  })

  const browser = await launchChromium(t, [`--ignore-certificate-errors-spki-list=${spkiHash(listening.credentials!.cert)}`])
  const page = await browser.newPage()
  t.teardown(() => page.close())
  const response = await page.goto(`https://127.0.0.1:${listening.port}/`)
  t.equal(response?.status(), 200)
  const report = await within(page.evaluate(async (url) => {
    const ws = new (globalThis as any).WebSocket(url, ['chat'])
    ws.binaryType = 'arraybuffer'
    const got: unknown[] = []
    return await new Promise<{ protocol: string; got: unknown[]; code: number; clean: boolean }>((resolve) => {
      ws.onopen = () => {
        ws.send('hello over h2')
        ws.send(new Uint8Array([9, 8, 7]))
      }
      ws.onmessage = (event: { data: string | ArrayBuffer }) => {
        got.push(typeof event.data === 'string' ? event.data : [...new Uint8Array(event.data)])
        if (got.length === 2) ws.close(4000, 'page done')
      }
      ws.onclose = (event: { code: number; wasClean: boolean }) => resolve({ protocol: ws.protocol, got, code: event.code, clean: event.wasClean })
    })
  }, `wss://127.0.0.1:${listening.port}/socket`), 20_000, 'the browser WebSocket to close')
  t.same(report, { protocol: 'chat', got: ['echo: hello over h2', [9, 8, 7]], code: 4000, clean: true })
  t.equal(arrivals.length, 1)
  t.equal(arrivals[0]!.httpVersion, '2.0', 'the WebSocket arrived as HTTP/2, not as an HTTP/1.1 upgrade')
  t.ok(arrivals[0]!.stream, 'its carrier is an HTTP/2 stream')
  t.ok(pageSessions.includes(arrivals[0]!.session!), 'on the session that served the page: no new connection')
  t.same(await within(Promise.all(serverCloses), 5000, 'server close'), [[4000, 'page done']])
  t.equal((await page.evaluate(() => (globalThis as any).navigator.userAgent as string)).includes('Chrome'), true, 'a real Chromium ran the page')
})
