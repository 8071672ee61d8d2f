/**
 * Option checking, as a specification: which values each option takes, and
 * that anything else is a TypeError (wrong kind of value) or a RangeError
 * (out of range) whose message names the option. The entry points that call
 * these checks are tested with real connections in the handshake and server
 * tests; here every option is tried on its own, for every layer's checks
 * (lib/connection/options, lib/handshake/options, lib/server/options).
 */
import t from 'tap'
import { validateDuplexOptions } from '../../lib/connection/options'
import { validateAcceptOptions, validateClientOptions } from '../../lib/handshake/options'
import { validateServerOptions } from '../../lib/server/options'

type Case = [options: Record<string, unknown>, error: typeof TypeError | typeof RangeError, names: RegExp]

/** Bad values every connection option refuses, whoever builds the connection. */
const connectionCases: Case[] = [
  ...['maxMessageSize', 'maxFrameSize', 'maxFragments', 'fragmentSize'].flatMap((name): Case[] => [
    [{ [name]: 0 }, RangeError, new RegExp(name)],
    [{ [name]: -1 }, RangeError, new RegExp(name)],
    [{ [name]: 1.5 }, RangeError, new RegExp(name)],
    [{ [name]: NaN }, RangeError, new RegExp(name)],
    [{ [name]: -Infinity }, RangeError, new RegExp(name)],
    [{ [name]: '1024' }, TypeError, new RegExp(name)],
    [{ [name]: null }, TypeError, new RegExp(name)],
  ]),
  [{ closeTimeout: -1 }, RangeError, /closeTimeout/],
  [{ closeTimeout: Infinity }, RangeError, /closeTimeout/],
  [{ closeTimeout: NaN }, RangeError, /closeTimeout/],
  [{ closeTimeout: 2 ** 31 }, RangeError, /closeTimeout/], // setTimeout would fire after 1 ms
  [{ closeTimeout: '5000' }, TypeError, /closeTimeout/],
  [{ heartbeat: -1 }, RangeError, /heartbeat/],
  [{ heartbeat: 0 }, RangeError, /heartbeat/],
  [{ heartbeat: NaN }, RangeError, /heartbeat/],
  [{ heartbeat: { interval: 0 } }, RangeError, /heartbeat/],
  [{ heartbeat: { interval: 100, timeout: -5 } }, RangeError, /heartbeat/],
  [{ heartbeat: { interval: 100, timeout: 2 ** 31 } }, RangeError, /heartbeat/],
  [{ heartbeat: {} }, TypeError, /heartbeat/],
  [{ heartbeat: { interval: '100' } }, TypeError, /heartbeat/],
  [{ heartbeat: '100' }, TypeError, /heartbeat/],
  [{ heartbeat: null }, TypeError, /heartbeat/],
  [{ readableHighWaterMark: -1 }, RangeError, /readableHighWaterMark/],
  [{ readableHighWaterMark: 1.5 }, RangeError, /readableHighWaterMark/],
  [{ writableHighWaterMark: Infinity }, RangeError, /writableHighWaterMark/],
  [{ writableHighWaterMark: '16k' }, TypeError, /writableHighWaterMark/],
  [{ allowHalfOpen: 1 }, TypeError, /allowHalfOpen/],
  [{ autoPong: 'no' }, TypeError, /autoPong/],
  [{ textAsBytes: null }, TypeError, /textAsBytes/],
]

t.test('every WebSocketDuplex option', async (t) => {
  t.test('takes its documented values, and undefined for the default', async (t) => {
    const good = [
      {},
      { role: 'client', protocol: 'chat', head: Buffer.from([1]) },
      { protocol: null, role: undefined, heartbeat: undefined },
      { maxMessageSize: 1, maxFrameSize: Infinity, maxFragments: 65_537, fragmentSize: 1 },
      { maxMessageSize: Infinity, fragmentSize: Infinity },
      { closeTimeout: 0, readableHighWaterMark: 0, writableHighWaterMark: 0 },
      { closeTimeout: 2 ** 31 - 1 },
      { heartbeat: 30_000 },
      { heartbeat: { interval: 30_000 } },
      { heartbeat: { interval: 30_000, timeout: 5_000 } },
      { allowHalfOpen: true, autoPong: false, textAsBytes: true },
    ] as const
    for (const options of good) t.doesNotThrow(() => validateDuplexOptions(options), JSON.stringify(options))
  })

  const cases: Case[] = [
    ...connectionCases,
    [{ role: 'proxy' }, TypeError, /role/],
    [{ protocol: 1 }, TypeError, /protocol/],
    [{ head: 'bytes' }, TypeError, /head/],
  ]
  t.test('refuses anything else with an error naming it', async (t) => {
    for (const [options, type, names] of cases) {
      const what = `${Object.keys(options)[0]}: ${String(Object.values(options)[0])}`
      t.throws(() => validateDuplexOptions(options), type, what)
      t.throws(() => validateDuplexOptions(options), names, `${what}: the message names the option`)
    }
  })

  t.test('refuses options that are not an object', async (t) => {
    for (const options of [null, 5, 'options', [1]]) t.throws(() => validateDuplexOptions(options as never), TypeError)
  })
})

t.test('accept() options: the connection options, and', async (t) => {
  t.test('protocols: an array of names or a selector function, not a string searched as text', async (t) => {
    t.doesNotThrow(() => validateAcceptOptions({ protocols: ['chat', 'superchat'] }))
    t.doesNotThrow(() => validateAcceptOptions({ protocols: () => null }))
    t.throws(() => validateAcceptOptions({ protocols: 'chat' as never }), TypeError)
    t.throws(() => validateAcceptOptions({ protocols: ['chat', 1] as never }), /protocols/)
  })

  t.test('headers: token names, values without line breaks, none of the handshake own', async (t) => {
    t.doesNotThrow(() => validateAcceptOptions({ headers: { 'X-Served-By': 'node-7', 'Set-Cookie': 'a=b' } }))
    for (const headers of [{ 'X Bad': 'v' }, { 'X-Ok': 'v\r\nInjected: yes' }, { 'X-Ok': 'v\0' }, { 'X-Obj': {} }]) {
      t.throws(() => validateAcceptOptions({ headers: headers as never }), TypeError, JSON.stringify(headers))
    }
    for (const name of ['Upgrade', 'connection', 'Sec-WebSocket-Accept', 'Sec-WebSocket-Protocol', 'sec-websocket-extensions']) {
      t.throws(() => validateAcceptOptions({ headers: { [name]: 'x' } }), new RegExp(name), `${name} is the handshake's own`)
    }
    t.throws(() => validateAcceptOptions({ headers: 'X-A: b' as never }), TypeError)
  })

  t.test('raw: a boolean', async (t) => {
    t.throws(() => validateAcceptOptions({ raw: 'yes' as never }), /raw/)
  })

  t.test('the connection options are checked too', async (t) => {
    for (const [options, type] of connectionCases) t.throws(() => validateAcceptOptions(options), type, JSON.stringify(options))
  })
})

t.test('connect() and clientFromUpgrade() options: the connection options, and', async (t) => {
  t.test('the handshake limits are positive', async (t) => {
    t.doesNotThrow(() => validateClientOptions({ handshakeTimeout: 100, maxResponseHeaders: 1, maxResponseHeaderSize: 8192 }))
    t.throws(() => validateClientOptions({ handshakeTimeout: 0 }), /handshakeTimeout/)
    t.throws(() => validateClientOptions({ handshakeTimeout: -1 }), RangeError)
    t.throws(() => validateClientOptions({ maxResponseHeaders: 0 }), /maxResponseHeaders/)
    t.throws(() => validateClientOptions({ maxResponseHeaderSize: 1.5 }), /maxResponseHeaderSize/)
  })

  t.test('protocols: one name or an array of names', async (t) => {
    t.doesNotThrow(() => validateClientOptions({ protocols: 'chat' }))
    t.doesNotThrow(() => validateClientOptions({ protocols: ['chat', 'superchat'] }))
    t.throws(() => validateClientOptions({ protocols: [1] as never }), /protocols/)
  })

  t.test('headers must be sendable; signal an AbortSignal; requestOptions an object', async (t) => {
    t.doesNotThrow(() => validateClientOptions({ headers: { Origin: 'https://example.com' }, signal: new AbortController().signal }))
    t.throws(() => validateClientOptions({ headers: { Origin: 'a\r\nb' } }), /headers/)
    t.throws(() => validateClientOptions({ signal: {} as never }), /signal/)
    t.throws(() => validateClientOptions({ requestOptions: 'tls' as never }), /requestOptions/)
  })

  t.test('the connection options are checked too', async (t) => {
    for (const [options, type] of connectionCases) t.throws(() => validateClientOptions(options), type, JSON.stringify(options))
  })
})

t.test('WebSocketServer options: the accept() options, and', async (t) => {
  t.doesNotThrow(() => validateServerOptions({ path: '/chat', verify: () => true, handshakeTimeout: 1000, heartbeat: 30_000 }))
  t.doesNotThrow(() => validateServerOptions({ path: ['/a', '/b'] }))
  t.doesNotThrow(() => validateServerOptions({ path: (pathname) => pathname === '/a' }))
  t.throws(() => validateServerOptions({ path: 5 as never }), /path/)
  t.throws(() => validateServerOptions({ verify: true as never }), /verify/)
  t.throws(() => validateServerOptions({ handshakeTimeout: -1 }), /handshakeTimeout/)
  t.throws(() => validateServerOptions({ server: {} as never }), /server/)
  t.throws(() => validateServerOptions({ raw: true } as never), /raw/, 'raw: its connections are WebSocketDuplex streams')
  t.throws(() => validateServerOptions({ heartbeat: -1 }), RangeError)
  t.throws(() => validateServerOptions({ protocols: 'chat' as never }), TypeError)
})
