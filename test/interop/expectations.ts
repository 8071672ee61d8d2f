/**
 * What a correct run of the scenario looks like, from both ends: checked the
 * same way for every client that ran the WHATWG scenario against our server.
 */
import type { Test } from 'tap'
import {
  CLIENT_CLOSE,
  MULTIBYTE,
  PING_PAYLOAD,
  PONG_ANSWER,
  RECEIVED_HASHES,
  SERVER_CLOSE,
  SIZED_HASHES,
  SMALL_COUNT,
} from './fixtures'
import type { ClientReport } from './whatwg-client'
import { EXPECTED_PROTOCOL, type OurServer } from './our-server'

export function checkScenario(t: Test, report: ClientReport, server: OurServer): void {
  t.same(report.errors, [], 'the client saw no error')

  const echo = server.observations.find((seen) => seen.path === '/echo')
  if (!echo) {
    t.fail('the server saw no /echo connection')
    return
  }
  t.equal(report.protocol, EXPECTED_PROTOCOL, 'the client agreed on chat.v1 from its offer chat.v2, chat.v1')
  t.equal(echo.protocol, EXPECTED_PROTOCOL, 'the server chose chat.v1')

  t.same(echo.received, RECEIVED_HASHES, 'the server received each sized and multibyte message intact')
  t.same(report.sized, SIZED_HASHES, 'each sized message came back intact (0 B to 4 MiB, text and binary)')
  t.same(report.multibyte, MULTIBYTE, 'CJK, emoji and U+FFFD came back unchanged')

  t.same(echo.small, { count: SMALL_COUNT, inOrder: true }, `the server received ${SMALL_COUNT} small messages in order`)
  t.same(report.small, { count: SMALL_COUNT, inOrder: true }, `the client received ${SMALL_COUNT} echoes in order`)

  t.equal(report.pong, PONG_ANSWER + PING_PAYLOAD, "the server's ping was answered with the same payload")
  t.same(echo.errors, [], 'the /echo connection had no error on the server')
  t.same(echo.close, { code: CLIENT_CLOSE.code, reason: CLIENT_CLOSE.reason, tcpHadError: false },
    "the server observed the client's close code and reason, then a clean TCP close")
  // Section 5.5.1: the answering CLOSE echoes the code; the reason is the answerer's own (none).
  t.same(report.clientClose, { code: CLIENT_CLOSE.code, reason: '', wasClean: true },
    'the client closed cleanly and got its code echoed')

  t.same(report.serverClose, { greeting: 'hello', ...SERVER_CLOSE, wasClean: true },
    "the client observed the server's close code and reason, cleanly")
  t.same(report.burst, { count: SMALL_COUNT, inOrder: true, code: 1000, reason: '', wasClean: true },
    `the client received a piped burst of ${SMALL_COUNT} messages in order, then a normal close`)
  for (const seen of server.observations) {
    t.same(seen.errors, [], `no error on the server's ${seen.path} connection`)
    t.equal(seen.close?.tcpHadError, false, `the TCP connection of ${seen.path} closed cleanly`)
  }
}
