/**
 * Negotiating permessage-deflate (RFC 7692 section 7) over the
 * Sec-WebSocket-Extensions grammar (RFC 6455 section 9.1): what parses, what
 * a server accepts and answers, what a client accepts or fails, and the
 * options that steer both. Pure functions, so every rule is one call.
 */
import { once } from 'node:events'
import { performance } from 'node:perf_hooks'
import zlib from 'node:zlib'
import t, { type Test } from 'tap'
import { HandshakeError } from '../../lib/protocol/errors'
import {
  compressorWindowBits,
  validatePerMessageDeflateOptions,
  type PerMessageDeflateOptions,
} from '../../lib/protocol/permessage-deflate'
import {
  acceptDeflateOffer,
  acceptDeflateResponse,
  deflateOffer,
  parseExtensions,
} from '../../lib/handshake/extensions'
import { strictInflateRaw } from '../helpers/strict-inflate'

const DEFAULTS = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }
const CHROMIUM = 'permessage-deflate; client_max_window_bits'
const FIREFOX = 'permessage-deflate'

/** The server's decision on a raw header value. */
function serverAnswers(header: string | string[], options?: PerMessageDeflateOptions) {
  const offers = parseExtensions(header)
  if (offers === null) throw new Error(`test header does not parse: ${header}`)
  return acceptDeflateOffer(offers, options)
}

/**
 * Fails if `parse` takes `ms` or longer on an input: the best of three runs
 * after a warm-up, so that a garbage collection does not count. A pattern
 * that backtracks would take seconds on these.
 */
function linear(t: Test, inputs: Array<[string, string]>, parse: (header: string) => unknown, ms = 50) {
  for (const [, header] of inputs) parse(header)
  for (const [what, header] of inputs) {
    let took = Infinity
    for (let run = 0; run < 3; run++) {
      const start = performance.now()
      parse(header)
      took = Math.min(took, performance.now() - start)
    }
    t.ok(took < ms, `${what} (${header.length} chars): ${took.toFixed(2)} ms`)
  }
}

t.test('parseExtensions: the Sec-WebSocket-Extensions grammar', async (t) => {
  t.test('one extension, its parameters in order, values as strings, a bare parameter as true', async (t) => {
    t.strictSame(parseExtensions('permessage-deflate'), [{ name: 'permessage-deflate', params: [] }])
    t.strictSame(parseExtensions(CHROMIUM), [{ name: 'permessage-deflate', params: [['client_max_window_bits', true]] }])
    t.strictSame(parseExtensions('permessage-deflate;server_max_window_bits=10;server_no_context_takeover'), [
      { name: 'permessage-deflate', params: [['server_max_window_bits', '10'], ['server_no_context_takeover', true]] },
    ])
  })

  t.test('a list keeps its elements in order, repeated names included', async (t) => {
    t.strictSame(parseExtensions('foo, permessage-deflate; a=1, permessage-deflate'), [
      { name: 'foo', params: [] },
      { name: 'permessage-deflate', params: [['a', '1']] },
      { name: 'permessage-deflate', params: [] },
    ])
  })

  t.test('optional white space (spaces, tabs) around "," ";" "=" is dropped', async (t) => {
    const expected = [
      { name: 'a', params: [['b', '1'], ['c', true]] },
      { name: 'd', params: [] },
    ]
    t.strictSame(parseExtensions('a;b=1;c,d'), expected)
    t.strictSame(parseExtensions('  a ; b = 1 ;\tc\t,\t d  '), expected)
    t.strictSame(parseExtensions('a;b= "1" ;c ,d'), expected)
  })

  t.test('quoted values are unescaped (RFC 6455 9.1: then they MUST be tokens)', async (t) => {
    t.strictSame(parseExtensions('permessage-deflate; client_max_window_bits="10"')?.[0].params, [['client_max_window_bits', '10']])
    t.strictSame(parseExtensions('x; a="\\1\\0"')?.[0].params, [['a', '10']], 'backslash escapes a token character')
    t.strictSame(parseExtensions('x; a="tok-en!"')?.[0].params, [['a', 'tok-en!']])
    for (const bad of ['""', '"a b"', '"a,b"', '"a;b"', '"a\\"b"', '"a\\ b"', '"a\\\\b"', '"10', '"1\\', '"é"', '"1"0']) {
      t.equal(parseExtensions(`x; a=${bad}`), null, `a=${bad}`)
    }
  })

  t.test('several header lines make one list', async (t) => {
    t.strictSame(parseExtensions(['foo; a=1', 'permessage-deflate', 'bar']), [
      { name: 'foo', params: [['a', '1']] },
      { name: 'permessage-deflate', params: [] },
      { name: 'bar', params: [] },
    ])
    t.equal(parseExtensions(['foo;', 'bar']), null, 'a line cannot end inside an element of the next')
  })

  t.test('no header is no extension; empty elements are skipped (RFC 7230 section 7)', async (t) => {
    t.strictSame(parseExtensions(undefined), [])
    t.strictSame(parseExtensions([]), [])
    t.strictSame(parseExtensions('a,,b'), [{ name: 'a', params: [] }, { name: 'b', params: [] }])
    t.strictSame(parseExtensions(', a ,'), [{ name: 'a', params: [] }])
    t.strictSame(parseExtensions(['', 'a']), [{ name: 'a', params: [] }])
  })

  t.test('names keep their case: tokens are compared exactly', async (t) => {
    t.strictSame(parseExtensions('PerMessage-Deflate; Client_Max_Window_Bits'), [
      { name: 'PerMessage-Deflate', params: [['Client_Max_Window_Bits', true]] },
    ])
  })

  const malformed: Array<[string, string]> = [
    ['an empty value (1#extension needs one)', ''],
    ['only white space', '  \t '],
    ['only commas', ' , ,'],
    ['a parameter with no extension', '; a=1'],
    ['an empty parameter', 'x;'],
    ['an empty parameter between two', 'x;;a'],
    ['a parameter with an empty name', 'x; =1'],
    ['"=" with no value', 'x; a='],
    ['"=" twice', 'x; a==1'],
    ['two values', 'x; a=1 2'],
    ['white space inside a name', 'permessage deflate'],
    ['two names without a comma', 'x y'],
    ['a separator in a name', 'x/1'],
    ['a separator in a value', 'x; a=1/2'],
    ['a value that is not a token', 'x; a=@'],
    ['a bare quoted name', '"x"'],
    ['a quoted parameter name', 'x; "a"=1'],
    ['a NUL', 'x\u0000'],
    ['CR LF', 'x\r\nX-Injected: 1'],
    ['a character beyond ASCII', 'permessage-déflate'],
    ['an emoji', 'x; a=\u{1F600}'],
  ]
  for (const [what, header] of malformed) {
    t.test(`null for ${what} (RFC 6455 9.1: malformed data MUST fail the connection)`, async (t) => {
      t.equal(parseExtensions(header), null, JSON.stringify(header))
    })
  }

  t.test('__proto__, constructor and friends are plain strings in plain arrays', async (t) => {
    const list = parseExtensions('__proto__; constructor=prototype; __proto__, toString; hasOwnProperty="valueOf"')
    t.strictSame(list, [
      { name: '__proto__', params: [['constructor', 'prototype'], ['__proto__', true]] },
      { name: 'toString', params: [['hasOwnProperty', 'valueOf']] },
    ])
    t.equal(Object.getPrototypeOf(list![0]), Object.prototype)
    t.ok(Object.hasOwn(list![0], 'name') && Object.keys(list![0]).join() === 'name,params')
    t.equal(({} as Record<string, unknown>).constructor, Object, 'Object.prototype untouched')
  })

  t.test('a hostile 100 KB header is judged in linear time', async (t) => {
    const hostile: Array<[string, string]> = [
      ['white space between two names', `a${' '.repeat(100_000)}b`],
      ['white space then a semicolon', `a${' \t'.repeat(50_000)};`],
      ['33,000 bare parameters, then an empty one', `x${'; a'.repeat(33_000)};`],
      ['33,000 parameters, the last bad', `x${'; a=1'.repeat(16_500)}; =`],
      ['an unterminated quoted value', `x; a="${'1'.repeat(100_000)}`],
      ['a quoted value of escapes', `x; a="${'\\1'.repeat(50_000)}"`],
      ['an unterminated quoted value of escapes', `x; a="${'\\a'.repeat(50_000)}`],
      ['20,000 extensions, then a NUL', `${'permessage-deflate, '.repeat(5_000)}\u0000`],
      ['commas only', ','.repeat(100_000)],
      ['one 100 KB name', 'x'.repeat(100_000)],
    ]
    linear(t, hostile, (header) => parseExtensions(header))
    const valid = ['a quoted value of escapes', 'one 100 KB name']
    for (const [what, header] of hostile) t.equal(parseExtensions(header) === null, !valid.includes(what), `${what}: ${valid.includes(what) ? 'valid' : 'null'}`)
    t.equal(parseExtensions(`x${'; a=1'.repeat(16_000)}`)?.[0].params.length, 16_000, 'all 16,000 parameters kept')
  })
})

t.test('validatePerMessageDeflateOptions', async (t) => {
  t.test('accepts undefined, booleans, and options in range', async (t) => {
    for (const ok of [undefined, true, false, {}, { serverNoContextTakeover: true, clientNoContextTakeover: false },
      { serverMaxWindowBits: 8, clientMaxWindowBits: 15 }, { level: -1, memLevel: 1, threshold: 0 }, { level: 9, memLevel: 9 }]) {
      t.doesNotThrow(() => validatePerMessageDeflateOptions(ok), JSON.stringify(ok))
    }
  })

  t.test('a wrong kind of value is a TypeError naming the option', async (t) => {
    const cases: Array<[unknown, string]> = [
      ['yes', 'perMessageDeflate must be an object'],
      [null, 'perMessageDeflate must be an object'],
      [[], 'perMessageDeflate must be an object'],
      [{ serverNoContextTakeover: 1 }, 'perMessageDeflate.serverNoContextTakeover must be a boolean'],
      [{ clientNoContextTakeover: 'true' }, 'perMessageDeflate.clientNoContextTakeover must be a boolean'],
      [{ serverMaxWindowBits: '10' }, 'perMessageDeflate.serverMaxWindowBits must be a number'],
      [{ clientMaxWindowBits: true }, 'perMessageDeflate.clientMaxWindowBits must be a number'],
      [{ threshold: '1k' }, 'perMessageDeflate.threshold must be a number'],
    ]
    for (const [value, message] of cases) {
      t.throws(() => validatePerMessageDeflateOptions(value), new TypeError(message), JSON.stringify(value) ?? String(value))
    }
  })

  t.test('a value out of range is a RangeError naming the option', async (t) => {
    const cases: Array<[PerMessageDeflateOptions, string]> = [
      [{ serverMaxWindowBits: 7 }, 'serverMaxWindowBits'],
      [{ serverMaxWindowBits: 16 }, 'serverMaxWindowBits'],
      [{ clientMaxWindowBits: 9.5 }, 'clientMaxWindowBits'],
      [{ clientMaxWindowBits: NaN }, 'clientMaxWindowBits'],
      [{ level: 10 }, 'level'],
      [{ level: -2 }, 'level'],
      [{ memLevel: 0 }, 'memLevel'],
      [{ memLevel: 10 }, 'memLevel'],
      [{ threshold: -1 }, 'threshold'],
      [{ threshold: Infinity }, 'threshold'],
    ]
    for (const [value, key] of cases) {
      t.throws(() => validatePerMessageDeflateOptions(value, 'deflate'), { name: 'RangeError', message: new RegExp(`^deflate\\.${key} must be`) })
    }
  })
})

t.test('server: acceptDeflateOffer', async (t) => {
  t.test('browser offers are accepted with the RFC defaults, and nothing said that need not be', async (t) => {
    for (const offer of [CHROMIUM, FIREFOX]) {
      t.strictSame(serverAnswers(offer), { response: 'permessage-deflate', config: DEFAULTS }, offer)
    }
  })

  t.test('no offer, or only other extensions: null', async (t) => {
    t.equal(acceptDeflateOffer([]), null)
    t.equal(serverAnswers('x-webkit-deflate-frame, deflate-frame; max_window_bits=10'), null)
  })

  t.test('other extensions are passed over, the first acceptable offer taken (RFC 7692 section 5: preference order)', async (t) => {
    const offers = 'x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=10, permessage-deflate'
    t.strictSame(serverAnswers(offers), {
      response: 'permessage-deflate; server_max_window_bits=10',
      config: { ...DEFAULTS, serverMaxWindowBits: 10 },
    })
  })

  // RFC 7692 section 7: "A server MUST decline an extension negotiation offer for this extension if ..."
  const declined: Array<[string, string]> = [
    ['an extension parameter not defined for use in an offer', 'permessage-deflate; max_window_bits=10'],
    ['a parameter named in another case', 'permessage-deflate; Server_No_Context_Takeover'],
    ['a parameter named __proto__', 'permessage-deflate; __proto__'],
    ['server_max_window_bits above 15', 'permessage-deflate; server_max_window_bits=16'],
    ['server_max_window_bits below 8', 'permessage-deflate; server_max_window_bits=7'],
    ['server_max_window_bits with a leading zero', 'permessage-deflate; server_max_window_bits=010'],
    ['server_max_window_bits that is not a number', 'permessage-deflate; server_max_window_bits=ten'],
    ['server_max_window_bits without a value', 'permessage-deflate; server_max_window_bits'],
    ['client_max_window_bits out of range', 'permessage-deflate; client_max_window_bits=0'],
    ['server_no_context_takeover with a value', 'permessage-deflate; server_no_context_takeover=true'],
    ['client_no_context_takeover with a value', 'permessage-deflate; client_no_context_takeover="x"'],
    ['server_no_context_takeover twice', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover'],
    ['client_max_window_bits twice', 'permessage-deflate; client_max_window_bits; client_max_window_bits=10'],
    ['server_max_window_bits twice, even when equal', 'permessage-deflate; server_max_window_bits=9; server_max_window_bits=9'],
  ]
  for (const [what, offer] of declined) {
    t.test(`MUST decline an offer with ${what}, and take the next one`, async (t) => {
      t.equal(serverAnswers(offer), null, offer)
      t.strictSame(serverAnswers(`${offer}, permessage-deflate; client_no_context_takeover`), {
        response: 'permessage-deflate; client_no_context_takeover',
        config: { ...DEFAULTS, clientNoContextTakeover: true },
      })
    })
  }

  t.test('the extension name is compared exactly: PerMessage-Deflate is another extension', async (t) => {
    t.equal(serverAnswers('PerMessage-Deflate'), null)
    t.equal(serverAnswers('PERMESSAGE-DEFLATE, Permessage-deflate'), null)
  })

  t.test('quoted values count as their unquoted token', async (t) => {
    t.strictSame(serverAnswers('permessage-deflate; client_max_window_bits="10"; server_max_window_bits="12"'), {
      response: 'permessage-deflate; server_max_window_bits=12; client_max_window_bits=10',
      config: { ...DEFAULTS, serverMaxWindowBits: 12, clientMaxWindowBits: 10 },
    })
  })

  t.test('7.1.1.1: an offer with server_no_context_takeover is accepted by including it', async (t) => {
    t.strictSame(serverAnswers('permessage-deflate; server_no_context_takeover'), {
      response: 'permessage-deflate; server_no_context_takeover',
      config: { ...DEFAULTS, serverNoContextTakeover: true },
    })
  })

  t.test('7.1.1.1: a server MAY include server_no_context_takeover even if the offer did not', async (t) => {
    t.strictSame(serverAnswers(FIREFOX, { serverNoContextTakeover: true }), {
      response: 'permessage-deflate; server_no_context_takeover',
      config: { ...DEFAULTS, serverNoContextTakeover: true },
    })
  })

  t.test('7.1.1.2: a server MAY include client_no_context_takeover; offered, it is said back', async (t) => {
    t.strictSame(serverAnswers(CHROMIUM, { clientNoContextTakeover: true }), {
      response: 'permessage-deflate; client_no_context_takeover',
      config: { ...DEFAULTS, clientNoContextTakeover: true },
    })
    t.strictSame(serverAnswers('permessage-deflate; client_no_context_takeover'), {
      response: 'permessage-deflate; client_no_context_takeover',
      config: { ...DEFAULTS, clientNoContextTakeover: true },
    })
  })

  t.test('7.1.2.1: server_max_window_bits offered is answered with the same or a smaller value', async (t) => {
    t.strictSame(serverAnswers('permessage-deflate; server_max_window_bits=10')?.config.serverMaxWindowBits, 10)
    t.strictSame(serverAnswers('permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 10 }), {
      response: 'permessage-deflate; server_max_window_bits=10',
      config: { ...DEFAULTS, serverMaxWindowBits: 10 },
    })
    t.strictSame(serverAnswers('permessage-deflate; server_max_window_bits=15'), {
      response: 'permessage-deflate; server_max_window_bits=15',
      config: DEFAULTS,
    }, 'answered even when it changes nothing: the offer asked')
  })

  t.test('7.1.2.1: a server MAY include server_max_window_bits even if the offer did not', async (t) => {
    t.strictSame(serverAnswers(FIREFOX, { serverMaxWindowBits: 11 }), {
      response: 'permessage-deflate; server_max_window_bits=11',
      config: { ...DEFAULTS, serverMaxWindowBits: 11 },
    })
  })

  t.test('server_max_window_bits=8 is accepted: our compressor keeps to it (see the window-bits test)', async (t) => {
    t.strictSame(serverAnswers('permessage-deflate; server_max_window_bits=8'), {
      response: 'permessage-deflate; server_max_window_bits=8',
      config: { ...DEFAULTS, serverMaxWindowBits: 8 },
    })
  })

  t.test('7.1.2.2: client_max_window_bits without a value lets the server name a window, or not', async (t) => {
    t.strictSame(serverAnswers(CHROMIUM, { clientMaxWindowBits: 10 }), {
      response: 'permessage-deflate; client_max_window_bits=10',
      config: { ...DEFAULTS, clientMaxWindowBits: 10 },
    })
    t.strictSame(serverAnswers(CHROMIUM)?.response, 'permessage-deflate', 'not named when the server needs no limit')
  })

  t.test('7.1.2.2: client_max_window_bits with a value is answered with a value equal or smaller', async (t) => {
    t.strictSame(serverAnswers('permessage-deflate; client_max_window_bits=12'), {
      response: 'permessage-deflate; client_max_window_bits=12',
      config: { ...DEFAULTS, clientMaxWindowBits: 12 },
    }, 'the client\'s own limit, said back so that both ends size their window on it')
    t.strictSame(serverAnswers('permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 9 })?.response,
      'permessage-deflate; client_max_window_bits=9')
    t.strictSame(serverAnswers('permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 14 })?.response,
      'permessage-deflate; client_max_window_bits=12')
  })

  t.test('7.1.2.2: an offer without client_max_window_bits: the answer MUST NOT include it', async (t) => {
    t.strictSame(serverAnswers(FIREFOX)?.response, 'permessage-deflate')
    t.equal(serverAnswers(FIREFOX, { clientMaxWindowBits: 10 }), null,
      'a server that needs a smaller client window declines what it cannot ask for')
    t.strictSame(serverAnswers(`${FIREFOX}, ${CHROMIUM}`, { clientMaxWindowBits: 10 })?.response,
      'permessage-deflate; client_max_window_bits=10', 'and takes a later offer that lets it ask')
  })

  t.test('every parameter together, answered in one element', async (t) => {
    const offer = 'permessage-deflate; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits'
    t.strictSame(serverAnswers(offer, { clientMaxWindowBits: 11 }), {
      response: 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=11',
      config: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 11 },
    })
  })

  t.test('a hostile list is walked in linear time', async (t) => {
    const bad = 'permessage-deflate; server_max_window_bits=16'
    const hostile: Array<[string, string]> = [
      ['4,000 invalid offers', Array(4_000).fill(bad).join(', ')],
      ['one offer with 16,000 unknown parameters', `permessage-deflate${'; a=1'.repeat(16_000)}`],
      ['one offer repeating a parameter 4,000 times', `permessage-deflate${'; client_max_window_bits'.repeat(4_000)}`],
      ['20,000 other extensions', Array(20_000).fill('x').join(',')],
    ]
    linear(t, hostile, (header) => acceptDeflateOffer(parseExtensions(header)!))
    for (const [what, header] of hostile) t.equal(serverAnswers(header), null, what)
  })
})

t.test('client: deflateOffer', async (t) => {
  t.equal(deflateOffer(), CHROMIUM, 'by default what Chromium and undici send')
  t.equal(deflateOffer({ clientMaxWindowBits: 15 }), CHROMIUM, '15 is said by leaving the value out')
  t.equal(deflateOffer({ clientMaxWindowBits: 10 }), 'permessage-deflate; client_max_window_bits=10')
  t.equal(deflateOffer({ serverMaxWindowBits: 15 }), CHROMIUM, 'no limit on the server asked for at 15')
  t.equal(deflateOffer({ serverMaxWindowBits: 8 }), 'permessage-deflate; server_max_window_bits=8; client_max_window_bits')
  t.equal(deflateOffer({ serverNoContextTakeover: true, clientNoContextTakeover: true, level: 1, threshold: 0 }),
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits')
  const offer = parseExtensions(deflateOffer({ serverNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 9 }))
  t.strictSame(offer, [{
    name: 'permessage-deflate',
    params: [['server_no_context_takeover', true], ['server_max_window_bits', '12'], ['client_max_window_bits', '9']],
  }], 'parses back as one offer')
})

t.test('client: acceptDeflateResponse', async (t) => {
  const fails = (t: Test, header: string | string[], offered: string | undefined, message: RegExp | string) =>
    t.throws(() => acceptDeflateResponse(header, offered), {
      name: 'HandshakeError',
      code: 'WS_ERR_INVALID_EXTENSION',
      status: 1002,
      message,
    }, JSON.stringify(header))

  t.test('no extension in the response: null, whatever was offered', async (t) => {
    t.equal(acceptDeflateResponse(undefined, CHROMIUM), null)
    t.equal(acceptDeflateResponse(undefined, undefined), null)
    t.equal(acceptDeflateResponse([], CHROMIUM), null)
  })

  t.test('a plain acceptance gives the RFC defaults', async (t) => {
    t.strictSame(acceptDeflateResponse('permessage-deflate', CHROMIUM), DEFAULTS)
    t.strictSame(acceptDeflateResponse(['permessage-deflate'], deflateOffer()), DEFAULTS)
  })

  t.test('the errors are HandshakeErrors', async (t) => {
    t.throws(() => acceptDeflateResponse('x', CHROMIUM), HandshakeError)
  })

  t.test('RFC 6455 9.1: a malformed header MUST fail the connection', async (t) => {
    fails(t, 'permessage-deflate;', CHROMIUM, /invalid Sec-WebSocket-Extensions header/)
    fails(t, 'permessage-deflate; client_max_window_bits="1 0"', CHROMIUM, /invalid Sec-WebSocket-Extensions header/)
    fails(t, '', CHROMIUM, /invalid Sec-WebSocket-Extensions header/)
  })

  t.test('RFC 6455 4.1: an extension not offered MUST fail the connection', async (t) => {
    fails(t, 'x-webkit-deflate-frame', CHROMIUM, 'the server chose extension "x-webkit-deflate-frame", which was not offered')
    fails(t, 'permessage-deflate', undefined, 'the server chose extension "permessage-deflate", which was not offered')
    fails(t, 'permessage-deflate, x', CHROMIUM, /extension "x", which was not offered/)
    fails(t, 'PerMessage-Deflate', CHROMIUM, /extension "PerMessage-Deflate", which was not offered/)
  })

  t.test('an extension offered (by the application\'s own header) but not implemented fails too', async (t) => {
    fails(t, 'x-custom', 'x-custom, permessage-deflate', /extension "x-custom", which this client does not implement/)
  })

  t.test('more than one permessage-deflate in the response fails', async (t) => {
    fails(t, 'permessage-deflate, permessage-deflate', CHROMIUM, /more than once/)
    fails(t, ['permessage-deflate', 'permessage-deflate'], `${CHROMIUM}, ${FIREFOX}`, /more than once/)
  })

  // RFC 7692 section 7: "A client MUST _Fail the WebSocket Connection_ if the peer server accepted an
  // extension negotiation offer for this extension with an extension negotiation response meeting any of ..."
  const failing: Array<[string, string, string, RegExp]> = [
    ['an extension parameter not defined for use in a response', 'permessage-deflate; max_window_bits=10', CHROMIUM,
      /unknown parameter "max_window_bits"/],
    ['a parameter named __proto__', 'permessage-deflate; __proto__', CHROMIUM, /unknown parameter "__proto__"/],
    ['an invalid value: server_max_window_bits=16', 'permessage-deflate; server_max_window_bits=16', CHROMIUM,
      /server_max_window_bits must be 8 to 15, not "16"/],
    ['an invalid value: a leading zero', 'permessage-deflate; server_max_window_bits=09', CHROMIUM, /not "09"/],
    ['an invalid value: client_max_window_bits without one', 'permessage-deflate; client_max_window_bits', CHROMIUM,
      /client_max_window_bits must be 8 to 15, not empty/],
    ['an invalid value: server_no_context_takeover=1', 'permessage-deflate; server_no_context_takeover=1', CHROMIUM,
      /server_no_context_takeover takes no value/],
    ['multiple extension parameters with the same name', 'permessage-deflate; client_no_context_takeover; client_no_context_takeover',
      CHROMIUM, /client_no_context_takeover is given twice/],
    ['7.1.2.2: client_max_window_bits when the offer did not include it', 'permessage-deflate; client_max_window_bits=10', FIREFOX,
      /answered client_max_window_bits, which was not offered/],
    ['7.1.2.1: server_max_window_bits above the one offered', 'permessage-deflate; server_max_window_bits=11',
      'permessage-deflate; server_max_window_bits=10', /server_max_window_bits=11 is above the 10 offered/],
    ['7.1.2.1: no server_max_window_bits when the offer had one', 'permessage-deflate',
      'permessage-deflate; server_max_window_bits=10', /left out server_max_window_bits, which was limited to 10/],
    ['7.1.1.1: no server_no_context_takeover when the offer asked for it', 'permessage-deflate; client_max_window_bits=15',
      deflateOffer({ serverNoContextTakeover: true }), /left out server_no_context_takeover, which was requested/],
  ]
  for (const [what, response, offered, message] of failing) {
    t.test(`MUST fail on ${what}`, async (t) => {
      fails(t, response, offered, message)
    })
  }

  t.test('7.1.1.1: server_no_context_takeover unasked is accepted (a server MAY add it)', async (t) => {
    t.strictSame(acceptDeflateResponse('permessage-deflate; server_no_context_takeover', CHROMIUM),
      { ...DEFAULTS, serverNoContextTakeover: true })
  })

  t.test('7.1.1.2: "A client MUST support the client_no_context_takeover extension parameter" in a response', async (t) => {
    t.strictSame(acceptDeflateResponse('permessage-deflate; client_no_context_takeover', FIREFOX),
      { ...DEFAULTS, clientNoContextTakeover: true })
  })

  t.test('7.1.1.2: client_no_context_takeover offered binds the client even if not answered', async (t) => {
    t.strictSame(acceptDeflateResponse('permessage-deflate', deflateOffer({ clientNoContextTakeover: true })),
      { ...DEFAULTS, clientNoContextTakeover: true })
  })

  t.test('7.1.2.1: server_max_window_bits answered the same, smaller, or unasked', async (t) => {
    const offered = deflateOffer({ serverMaxWindowBits: 10 })
    t.equal(acceptDeflateResponse('permessage-deflate; server_max_window_bits=10', offered)?.serverMaxWindowBits, 10)
    t.equal(acceptDeflateResponse('permessage-deflate; server_max_window_bits=8', offered)?.serverMaxWindowBits, 8)
    t.equal(acceptDeflateResponse('permessage-deflate; server_max_window_bits=12', CHROMIUM)?.serverMaxWindowBits, 12)
  })

  t.test('7.1.2.2: client_max_window_bits answered limits our window; our own limit still holds', async (t) => {
    t.equal(acceptDeflateResponse('permessage-deflate; client_max_window_bits=9', CHROMIUM)?.clientMaxWindowBits, 9)
    t.equal(acceptDeflateResponse('permessage-deflate; client_max_window_bits=8', CHROMIUM)?.clientMaxWindowBits, 8)
    const offered = deflateOffer({ clientMaxWindowBits: 10 })
    t.equal(acceptDeflateResponse('permessage-deflate', offered)?.clientMaxWindowBits, 10, 'unanswered, the offer binds')
    t.equal(acceptDeflateResponse('permessage-deflate; client_max_window_bits=12', offered)?.clientMaxWindowBits, 10,
      'a larger answer does not raise it')
  })

  t.test('quoted values and white space in the response', async (t) => {
    t.strictSame(acceptDeflateResponse(' permessage-deflate ;\tclient_max_window_bits = "9" ; server_no_context_takeover ', CHROMIUM),
      { ...DEFAULTS, serverNoContextTakeover: true, clientMaxWindowBits: 9 })
  })

  t.test('several offers: the response may answer any of them', async (t) => {
    const offered = 'permessage-deflate; server_max_window_bits=10; server_no_context_takeover, permessage-deflate'
    t.strictSame(acceptDeflateResponse('permessage-deflate; server_max_window_bits=10; server_no_context_takeover', offered),
      { ...DEFAULTS, serverNoContextTakeover: true, serverMaxWindowBits: 10 }, 'the first')
    t.strictSame(acceptDeflateResponse('permessage-deflate', offered), DEFAULTS, 'the second')
    fails(t, 'permessage-deflate; client_max_window_bits=10', offered, /left out server_no_context_takeover|was not offered/)
    t.strictSame(acceptDeflateResponse('permessage-deflate', `permessage-deflate; bogus, ${FIREFOX}`), DEFAULTS,
      'an invalid offer (the application\'s) is passed over')
  })

  t.test('our own offer, if malformed, is reported as such', async (t) => {
    fails(t, 'permessage-deflate', 'permessage-deflate;', /the request offered an invalid/)
  })

  t.test('a hostile 100 KB response fails in linear time', async (t) => {
    const hostile: Array<[string, string]> = [
      ['20,000 permessage-deflate', Array(20_000).fill('permessage-deflate').join(',')],
      ['16,000 unknown parameters', `permessage-deflate${'; a=1'.repeat(16_000)}`],
      ['an unterminated quoted value', `permessage-deflate; client_max_window_bits="${'9'.repeat(100_000)}`],
      ['one 100 KB name', 'x'.repeat(100_000)],
    ]
    linear(t, hostile, (header) => {
      try {
        acceptDeflateResponse(header, CHROMIUM)
      } catch {}
    })
    for (const [what, header] of hostile) t.throws(() => acceptDeflateResponse(header, CHROMIUM), HandshakeError, what)
    t.throws(() => acceptDeflateResponse('x'.repeat(100_000), CHROMIUM), { message: /"x{40}\.\.\."/ }, 'names are cut short in messages')
  })
})

t.test('both ends agree: every client offer against every server setting', async (t) => {
  const sides: PerMessageDeflateOptions[] = []
  for (const serverNoContextTakeover of [false, true]) {
    for (const clientNoContextTakeover of [false, true]) {
      for (const serverMaxWindowBits of [undefined, 8, 12]) {
        for (const clientMaxWindowBits of [undefined, 9, 15]) {
          sides.push({ serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits })
        }
      }
    }
  }
  let accepted = 0
  for (const client of sides) {
    const offer = deflateOffer(client)
    for (const server of sides) {
      const answer = acceptDeflateOffer(parseExtensions(offer)!, server)
      if (answer === null) {
        t.fail(`declined ${offer}`)
        continue
      }
      accepted++
      const settled = acceptDeflateResponse(answer.response, offer)
      if (JSON.stringify(settled) !== JSON.stringify(answer.config)) t.fail(`${offer} -> ${answer.response}: ends disagree`)
      const c = answer.config
      const within = (bits: number, ...limits: Array<number | undefined>) => limits.every((limit) => bits <= (limit ?? 15))
      if (!within(c.serverMaxWindowBits, client.serverMaxWindowBits, server.serverMaxWindowBits)) t.fail(`server window ${offer}`)
      if (!within(c.clientMaxWindowBits, client.clientMaxWindowBits, server.clientMaxWindowBits)) t.fail(`client window ${offer}`)
      if ((client.serverNoContextTakeover || server.serverNoContextTakeover) && !c.serverNoContextTakeover) t.fail(`snct ${offer}`)
      if ((client.clientNoContextTakeover || server.clientNoContextTakeover) && !c.clientNoContextTakeover) t.fail(`cnct ${offer}`)
    }
  }
  t.equal(accepted, sides.length ** 2, `${accepted} pairs: each accepted, both ends settled the same, within both sides' limits`)
})

t.test('window bits 8: zlib compresses at 9 but never refers back more than 256 bytes', async (t) => {
  t.equal(compressorWindowBits(8), 9, 'zlib has no 8-bit raw deflate window')
  for (let bits = 9; bits <= 15; bits++) t.equal(compressorWindowBits(bits), bits)

  let seed = 0x2545f491
  const random = () => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) & 0xff
  }
  const periodic = (period: number, length: number) => {
    const data = Buffer.alloc(length)
    for (let i = 0; i < length; i++) data[i] = i < period ? random() : data[i - period]
    return data
  }
  // Repeats planted 240 to 300 bytes back: just inside and just beyond an 8-bit window.
  const planted = Buffer.alloc(60_000)
  for (let i = 0; i < planted.length; i++) planted[i] = i < 300 || random() < 24 ? random() : planted[i - 240 - (random() % 61)]
  const text = Buffer.from(JSON.stringify({ deflate: DEFAULTS, offers: [CHROMIUM, FIREFOX] }).repeat(40))
  // Several messages through one compressor, sync-flushed, window kept: as permessage-deflate sends them.
  const messages = [planted, periodic(250, 5_000), periodic(251, 5_000), periodic(256, 5_000), periodic(257, 5_000), periodic(300, 5_000), text]

  const compress = async (windowBits: number, level: number) => {
    const deflate = zlib.createDeflateRaw({ windowBits, level, memLevel: 9 })
    const chunks: Buffer[] = []
    deflate.on('data', (chunk: Buffer) => chunks.push(chunk))
    for (const message of messages) {
      deflate.write(message)
      await new Promise<void>((resolve) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()))
    }
    deflate.end()
    await once(deflate, 'end')
    return Buffer.concat(chunks)
  }

  for (const level of [1, 6, 9]) {
    const compressed = await compress(compressorWindowBits(8), level)
    const { output, farthest } = strictInflateRaw(compressed, 8)
    t.ok(output.equals(Buffer.concat(messages)), `level ${level}: a strict 8-bit inflater restores every message`)
    t.ok(farthest > 200 && farthest <= 256, `level ${level}: farthest reference ${farthest} bytes back`)
  }
  const wider = await compress(10, 6)
  t.throws(() => strictInflateRaw(wider, 8), /beyond a 256-byte window/, 'the reader is strict: references a 10-bit window allows are refused')
  t.ok(strictInflateRaw(wider, 10).output.equals(Buffer.concat(messages)), 'and reads it with the window it needs')
})
