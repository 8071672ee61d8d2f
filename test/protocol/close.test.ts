import t from 'tap'
import { encodeClosePayload, isValidCloseCode, parseClosePayload } from '../../lib/protocol/close'
import { WebSocketError } from '../../lib/protocol/errors'

t.test('the close codes an endpoint may send', async (t) => {
  const allowed: number[] = []
  for (let code = 0; code < 6000; code++) if (isValidCloseCode(code)) allowed.push(code)
  t.same(allowed.filter((c) => c < 3000), [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014])
  t.equal(allowed.filter((c) => c >= 3000).length, 2000)
  t.equal(Math.max(...allowed), 4999)
})

t.test('parses received payloads', async (t) => {
  t.same(parseClosePayload(Buffer.alloc(0)), { code: 1005, reason: '' })
  t.same(parseClosePayload(Buffer.from([0x03, 0xe8])), { code: 1000, reason: '' })
  t.same(parseClosePayload(Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye €')])), { code: 4000, reason: 'bye €' })
  for (const [bytes, code] of [[[0x03], 'WS_ERR_INVALID_CLOSE_PAYLOAD'], [[0x03, 0xee], 'WS_ERR_INVALID_CLOSE_CODE'], [[0x03, 0xe8, 0xc0], 'WS_ERR_INVALID_UTF8']] as const) {
    const result = parseClosePayload(Buffer.from(bytes))
    t.ok(result instanceof WebSocketError)
    t.equal((result as WebSocketError).code, code)
  }
})

t.test('builds payloads to send and refuses what may not be sent', async (t) => {
  t.same(encodeClosePayload(), Buffer.alloc(0))
  t.same(encodeClosePayload(1000, 'ok'), Buffer.from([0x03, 0xe8, 0x6f, 0x6b]))
  t.equal(encodeClosePayload(3000, 'x'.repeat(123)).length, 125)
  t.throws(() => encodeClosePayload(3000, 'x'.repeat(124)), RangeError)
  t.throws(() => encodeClosePayload(3000, '€'.repeat(42)), RangeError, '126 bytes in 42 characters')
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 1000.5]) t.throws(() => encodeClosePayload(code), RangeError, String(code))
  t.throws(() => encodeClosePayload(1000, new Uint16Array(4) as unknown as Uint8Array), TypeError)
  t.throws(() => encodeClosePayload(1000, Buffer.from([0xff])), TypeError, 'reason bytes must be UTF-8')
  t.throws(() => encodeClosePayload(undefined, 'reason without code'), TypeError)
})
