/**
 * The fuzzing client: drives the library's server (an http.Server using
 * accept() and echoing) over a raw TCP connection. It does the upgrade by
 * hand, then plays the case with masked frames and records what comes back.
 */
import type { Case, Script } from './case'
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
  try {
    connection = await clientHandshake(testee.port, path)
  } catch (error) {
    const record = emptyRecord()
    record.handshakeError = (error as Error).message
    return record
  }
  const session = new Session(connection.socket, connection.rest, { side: 'client', mode, random })
  const record = await session.run(c, script)
  const log = testee.logFor(path)
  if (log) {
    // The duplex's own 'close' should follow the TCP close; wait a little for it, for the report.
    await Promise.race([log.closed, new Promise((resolve) => setTimeout(resolve, TESTEE_CLOSE_WAIT_MS).unref())])
    record.testee = { errors: log.errors, closeCode: log.closeCode }
  }
  return record
}
