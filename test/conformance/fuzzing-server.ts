/**
 * The fuzzing server: a raw TCP server that answers the library client's
 * upgrade by hand (computing Sec-WebSocket-Accept itself), then plays the
 * case with unmasked frames, requires every frame from the client to be
 * masked, and judges how the client closes. In 'no-fin' mode it never closes
 * TCP, so the client has to end the connection within its closeTimeout. For
 * sections 12-13 it answers the client's permessage-deflate offer as the
 * case's profile says, and holds the client to what that settled.
 */
import net, { type AddressInfo, type Socket } from 'node:net'
import type { Case, Script } from './case'
import { type Agreed, type Profile, answerOffer } from './deflate/negotiation'
import { type Mode } from './delivery'
import { answerUpgrade, readHead } from './handshake'
import { type CaseRecord, emptyRecord } from './record'
import { Session } from './session'
import { type TesteeLog, startTesteeClient } from './testee'

/** The testee client's closeTimeout in 'no-fin' mode: small, so waiting for it stays cheap. */
export const NO_FIN_CLOSE_TIMEOUT_MS = 500
const CONNECT_WAIT_MS = 5000
const TESTEE_CLOSE_WAIT_MS = 2000

interface Upgraded {
  socket: Socket
  rest: Buffer
  /** permessage-deflate as settled, when the connection was expected with a profile. */
  agreed?: Agreed
}

interface Waiting {
  resolve: (u: Upgraded) => void
  reject: (e: Error) => void
  deflate?: Profile
}

export interface FuzzingServer {
  port: number
  /** Resolves with the connection that asks for `path`, once its upgrade has been answered (negotiating `deflate`, if given). */
  expect(path: string, deflate?: Profile): Promise<Upgraded>
  close(): Promise<void>
}

export async function startFuzzingServer(): Promise<FuzzingServer> {
  const waiting = new Map<string, Waiting>()
  const sockets = new Set<Socket>()
  const server = net.createServer({ allowHalfOpen: true }, async (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {}) // recorded by the session once it owns the socket
    let path = ''
    try {
      const { head, rest } = await readHead(socket)
      path = head.line.split(' ')[1] ?? ''
      const profile = waiting.get(path)?.deflate
      const deflate = profile ? answerOffer(head.headers['sec-websocket-extensions'], profile) : undefined
      if (typeof deflate === 'string') throw new Error(deflate)
      const response = answerUpgrade(head, deflate?.response)
      socket.write(response)
      waiting.get(path)?.resolve({ socket, rest, agreed: deflate?.agreed })
    } catch (error) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
      waiting.get(path)?.reject(error as Error)
    }
    waiting.delete(path)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    expect: (path, deflate) => new Promise((resolve, reject) => waiting.set(path, { resolve, reject, deflate })),
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Starts a client under test against `url`; the library's echo client unless the caller brings another. */
export type ClientStarter = (
  url: string,
  closeTimeout?: number,
  perMessageDeflate?: boolean,
) => Promise<{ ws: { destroy(): void } | null; log: TesteeLog }>

export async function fuzzClient(
  server: FuzzingServer, c: Case, script: Script, mode: Mode, random: () => number,
  startClient: ClientStarter = startTesteeClient,
): Promise<CaseRecord> {
  const path = `/${c.id}/${mode}`
  const closeTimeout = mode === 'no-fin' ? NO_FIN_CLOSE_TIMEOUT_MS : undefined
  const incoming = server.expect(path, c.deflate)
  const testee = startClient(`ws://127.0.0.1:${server.port}${path}`, closeTimeout, c.deflate !== undefined)
  let upgraded: Upgraded
  try {
    upgraded = await Promise.race([
      incoming,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the testee client never connected')), CONNECT_WAIT_MS).unref()),
    ])
  } catch (error) {
    const record = emptyRecord()
    record.handshakeError = (error as Error).message
    const { ws } = await testee
    ws?.destroy()
    return record
  }
  const session = new Session(upgraded.socket, upgraded.rest, {
    side: 'server', mode, random, neverFin: mode === 'no-fin', testeeCloseTimeout: closeTimeout, deflate: upgraded.agreed,
  })
  const record = await session.run(c, script)
  const { log } = await testee
  await Promise.race([log.closed, new Promise((resolve) => setTimeout(resolve, TESTEE_CLOSE_WAIT_MS).unref())])
  record.testee = { errors: log.errors, closeCode: log.closeCode }
  return record
}
