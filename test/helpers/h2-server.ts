/**
 * An HTTP/2 server (TLS with a fresh self-signed certificate, or h2c) with
 * a WebSocketServer attached, listening on 127.0.0.1; its sessions are kept
 * so tests can make them go away, and everything is closed with `t`.
 */
import http2, { type Http2SecureServer, type Http2Server, type ServerHttp2Session } from 'node:http2'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { WebSocketServer, type WebSocketServerOptions } from '../../lib/server/websocket-server'
import { selfSignedCertificate, type Credentials } from './tls-certificate'

export interface H2Listening<S extends Http2Server | Http2SecureServer> {
  server: S
  wss: WebSocketServer<S>
  /** ws:// or wss:// URL of the server's root. */
  url: string
  port: number
  sessions: ServerHttp2Session[]
  credentials: Credentials | null
}

let credentials: Credentials | null = null
/** One certificate per test process. */
export function testCredentials(t: Test): Credentials {
  return (credentials ??= selfSignedCertificate((message) => t.comment(message)))
}

async function listening<S extends Http2Server | Http2SecureServer>(
  t: Test, server: S, secure: boolean, options: Omit<WebSocketServerOptions<S>, 'server'>, creds: Credentials | null,
): Promise<H2Listening<S>> {
  const sessions: ServerHttp2Session[] = []
  server.on('session', (session) => sessions.push(session))
  const wss = new WebSocketServer<S>({ ...options, server } as WebSocketServerOptions<S>)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  t.teardown(async () => {
    for (const session of sessions) session.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return { server, wss, url: `${secure ? 'wss' : 'ws'}://127.0.0.1:${port}`, port, sessions, credentials: creds }
}

/** An HTTP/2 server over TLS (allowHTTP1 when asked) taking WebSockets. */
export function serveH2Secure(
  t: Test, options: Omit<WebSocketServerOptions<Http2SecureServer>, 'server'> = {}, { allowHTTP1 = false } = {},
): Promise<H2Listening<Http2SecureServer>> {
  const creds = testCredentials(t)
  const server = http2.createSecureServer({ ...creds, allowHTTP1, settings: { enableConnectProtocol: true } })
  return listening(t, server, true, options, creds)
}

/** An HTTP/2 server over cleartext TCP (h2c) taking WebSockets. */
export function serveH2c(t: Test, options: Omit<WebSocketServerOptions<Http2Server>, 'server'> = {}): Promise<H2Listening<Http2Server>> {
  const server = http2.createServer({ settings: { enableConnectProtocol: true } })
  return listening(t, server, false, options, null)
}

/** Echoes every message on every connection. */
export function echoAll<S extends Http2Server | Http2SecureServer>(listening: H2Listening<S>): void {
  listening.wss.on('connection', (ws) => {
    ws.on('data', (message: string | Buffer) => ws.write(message))
    ws.on('error', () => {})
  })
}
