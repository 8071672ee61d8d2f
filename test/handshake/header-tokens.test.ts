/**
 * Comma-separated token lists (RFC 7230 sections 3.2.6 and 7), as in
 * Sec-WebSocket-Protocol and Connection: elements are tokens, optional white
 * space around them is dropped, and anything else makes the list invalid.
 * Parsing is one pass over attacker-controlled text, so even a huge value
 * is handled; object property names are ordinary strings.
 */
import t from 'tap'
import { hasToken, isToken, isTokenChar, parseTokenList } from '../../lib/handshake/header-tokens'

t.test('isToken', async (t) => {
  const tchars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
  t.ok(isToken(tchars), 'every tchar of RFC 7230 together')
  for (let code = 0; code < 0x100; code++) {
    const char = String.fromCharCode(code)
    if (isTokenChar(code) !== tchars.includes(char)) t.fail(`character 0x${code.toString(16)} misjudged`)
  }
  t.pass('characters 0x00-0xff judged as RFC 7230 says')
  t.notOk(isToken(''), 'the empty string is not a token')
  for (const bad of ['a b', 'a,b', 'a;b', 'a/b', 'a"b', 'a=b', 'a:b', '(a)', 'é', 'a\tb', 'a\u0000b', '\u2603']) {
    t.notOk(isToken(bad), JSON.stringify(bad))
  }
})

t.test('parseTokenList', async (t) => {
  t.test('splits a list into its tokens, in order', async (t) => {
    t.strictSame(parseTokenList('chat'), ['chat'])
    t.strictSame(parseTokenList('chat,superchat'), ['chat', 'superchat'])
    t.strictSame(parseTokenList('v2.chat, v1.chat, mqtt'), ['v2.chat', 'v1.chat', 'mqtt'])
  })

  t.test('drops optional white space (spaces and tabs) around elements', async (t) => {
    t.strictSame(parseTokenList('  chat  '), ['chat'])
    t.strictSame(parseTokenList('chat ,\tsuperchat\t, mqtt '), ['chat', 'superchat', 'mqtt'])
    t.strictSame(parseTokenList('\t\tchat,superchat   '), ['chat', 'superchat'])
  })

  t.test('keeps letter case and repeated names as they are', async (t) => {
    t.strictSame(parseTokenList('Chat, chat, CHAT'), ['Chat', 'chat', 'CHAT'])
  })

  const invalid: Array<[string, string]> = [
    ['an empty value', ''],
    ['only white space', '   '],
    ['an empty element in the middle', 'chat,,superchat'],
    ['an empty element made of white space', 'chat, ,superchat'],
    ['a leading comma', ',chat'],
    ['a trailing comma', 'chat,'],
    ['only a comma', ','],
    ['white space inside an element', 'chat superchat'],
    ['a semicolon (parameters are not tokens)', 'chat;q=1'],
    ['a quoted string', '"chat"'],
    ['a slash', 'chat/1.0'],
    ['a control character', 'chat\u0001'],
    ['a NUL', 'chat\u0000'],
    ['CR LF', 'chat\r\nX-Injected: 1'],
    ['a character beyond ASCII', 'chät'],
    ['an emoji', '\u{1F600}'],
  ]
  for (const [what, value] of invalid) {
    t.test(`refuses ${what}`, async (t) => {
      t.equal(parseTokenList(value), null, JSON.stringify(value))
    })
  }

  t.test('names such as __proto__ and constructor are ordinary strings in a plain array', async (t) => {
    const list = parseTokenList('__proto__, constructor, prototype, toString, hasOwnProperty')
    t.strictSame(list, ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'])
    t.ok(Array.isArray(list))
    t.equal(Object.getPrototypeOf(list), Array.prototype)
    t.equal(({} as Record<string, unknown>).toString, Object.prototype.toString, 'Object.prototype untouched')
  })

  t.test('hostile 100 KB values are judged correctly', async (t) => {
    // Each would make a backtracking pattern over the value work hard.
    const spaces = ' '.repeat(100_000)
    t.equal(parseTokenList(`a${spaces}b`), null, 'white space between two names')
    t.strictSame(parseTokenList(`a${spaces}`), ['a'], 'trailing white space only')
    t.equal(parseTokenList(spaces), null, 'white space only')
    t.equal(parseTokenList(','.repeat(100_000)), null, 'commas only')
    t.equal(parseTokenList('a,'.repeat(50_000)), null, 'a trailing empty element after 50,000 names')
    t.equal(parseTokenList(`${'a'.repeat(100_000)};`), null, 'one long name with a bad last character')
    t.equal(parseTokenList(`${'a, '.repeat(33_000)}\u0000`), null, 'a NUL after 33,000 names')
    const many = Array.from({ length: 20_000 }, (_, i) => `p${i}`)
    t.strictSame(parseTokenList(many.join(' , ')), many, '20,000 names, all kept in order')
    const long = 'x'.repeat(100_000)
    t.strictSame(parseTokenList(` ${long} `), [long], 'one 100 KB name')
  })
})

t.test('hasToken', async (t) => {
  t.test('finds a token case-insensitively', async (t) => {
    t.ok(hasToken('Upgrade', 'upgrade'))
    t.ok(hasToken('UPGRADE', 'upgrade'))
    t.ok(hasToken('websocket', 'WebSocket'))
  })

  t.test('finds it anywhere in a list, with optional white space', async (t) => {
    t.ok(hasToken('keep-alive, Upgrade', 'upgrade'))
    t.ok(hasToken('Upgrade,keep-alive', 'upgrade'))
    t.ok(hasToken('keep-alive ,\tupgrade\t', 'upgrade'))
  })

  t.test('looks through every value of a repeated header', async (t) => {
    t.ok(hasToken(['keep-alive', 'Upgrade'], 'upgrade'))
    t.notOk(hasToken(['keep-alive', 'close'], 'upgrade'))
  })

  t.test('matches whole tokens only', async (t) => {
    t.notOk(hasToken('upgraded', 'upgrade'))
    t.notOk(hasToken('no-upgrade', 'upgrade'))
    t.notOk(hasToken('websocket2', 'websocket'))
    t.notOk(hasToken('up grade', 'upgrade'))
  })

  t.test('is false for a missing or empty header', async (t) => {
    t.notOk(hasToken(undefined, 'upgrade'))
    t.notOk(hasToken('', 'upgrade'))
    t.notOk(hasToken([], 'upgrade'))
  })

  t.test('is not fooled by object property names', async (t) => {
    t.notOk(hasToken('__proto__', 'constructor'))
    t.ok(hasToken('__proto__', '__proto__'))
  })

  t.test('judges a 100 KB value correctly', async (t) => {
    t.ok(hasToken(`${'keep-alive, '.repeat(8_000)}upgrade`, 'upgrade'), 'the token after 8,000 others')
    t.notOk(hasToken(`${' '.repeat(100_000)}x`, 'upgrade'), 'white space, then another token')
  })
})
