/**
 * The fuzzing client: drives the library's server (an http.Server using
 * accept() and echoing) over a raw TCP connection. It does the upgrade by
 * hand, then plays the case with masked frames and records what comes back.
 * For sections 12-13 it offers permessage-deflate as the case's profile says,
 * and holds the server to a legal answer and to what that answer settled.
 */
import type { Case, Script } from './case'
import { checkAnswer, offerHeader } from './deflate/negotiation'
import { type Mode } from './delivery'
import { clientHandshake } from './handshake'
import { type CaseRecord, emptyRecord } from './record'
import { Session } from './session'
import type { TesteeServer } from './testee'

const TESTEE_CLOSE_WAIT_MS = 2000

export async function fuzzServer(
  testee: TesteeServer, c: Case, script: Script, mode: Mode, random: () => number,
): Promise<CaseRecord> {
  const path = `/${c.id}/${mode}`
  let connection: Awaited<ReturnType<typeof clientHandshake>>
  const offer = c.deflate ? offerHeader(c.deflate) : undefined
  try {
    connection = await clientHandshake(testee.port, path, offer)
  } catch (error) {
    const record = emptyRecord()
    record.handshakeError = (error as Error).message
    return record
  }
  const agreed = c.deflate ? checkAnswer(connection.head.headers['sec-websocket-extensions'], c.deflate) : undefined
  if (typeof agreed === 'string') {
    connection.socket.destroy()
    const record = emptyRecord()
    record.handshakeError = agreed
    return record
  }
  const session = new Session(connection.socket, connection.rest, { side: 'client', mode, random, deflate: agreed })
  const record = await session.run(c, script)
  const log = testee.logFor(path)
  if (log) {
    // The duplex's own 'close' should follow the TCP close; wait a little for it, for the report.
    await Promise.race([log.closed, new Promise((resolve) => setTimeout(resolve, TESTEE_CLOSE_WAIT_MS).unref())])
    record.testee = { errors: log.errors, closeCode: log.closeCode }
  }
  return record
}
