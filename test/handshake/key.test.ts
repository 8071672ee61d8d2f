/**
 * The Sec-WebSocket-Key / Sec-WebSocket-Accept pair (RFC 6455 sections 4.1
 * and 4.2.2): a key is base64 of 16 random bytes, in canonical form, and the
 * accept value is base64(SHA-1(key + the RFC's GUID)).
 */
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { acceptKey, generateKey, isValidKey } from '../../lib/handshake/key'

t.test('generateKey', async (t) => {
  t.test('is base64 of 16 bytes, in canonical form', async (t) => {
    for (let i = 0; i < 50; i++) {
      const key = generateKey()
      const bytes = Buffer.from(key, 'base64')
      if (key.length !== 24 || bytes.length !== 16 || bytes.toString('base64') !== key) {
        t.fail(`not base64 of 16 bytes: ${JSON.stringify(key)}`)
        return
      }
    }
    t.pass('50 keys checked')
  })

  t.test('is accepted by isValidKey', async (t) => {
    t.ok(isValidKey(generateKey()))
  })

  t.test('is random: no repeats among a thousand keys, and every bit position varies', async (t) => {
    const keys = Array.from({ length: 1000 }, generateKey)
    t.equal(new Set(keys).size, keys.length)
    // With random keys each of the 128 bits is 0 in some key and 1 in another.
    const seenZero = Buffer.alloc(16)
    const seenOne = Buffer.alloc(16)
    for (const key of keys) {
      const bytes = Buffer.from(key, 'base64')
      for (let i = 0; i < 16; i++) {
        seenOne[i] |= bytes[i]
        seenZero[i] |= ~bytes[i] & 0xff
      }
    }
    t.strictSame(seenOne, Buffer.alloc(16, 0xff), 'every bit was 1 somewhere')
    t.strictSame(seenZero, Buffer.alloc(16, 0xff), 'every bit was 0 somewhere')
  })
})

t.test('acceptKey', async (t) => {
  t.test('answers the example key of RFC 6455 section 1.3', async (t) => {
    t.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
  })

  t.test('is base64 of the SHA-1 of the key and the GUID, for any key', async (t) => {
    for (let i = 0; i < 20; i++) {
      const key = randomBytes(16).toString('base64')
      const expected = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
      t.equal(acceptKey(key), expected, key)
    }
  })

  t.test('uses the key text as given, so different spellings give different answers', async (t) => {
    t.not(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), acceptKey('dGhlIHNhbXBsZSBub25jZR=='))
  })
})

t.test('isValidKey', async (t) => {
  t.test('accepts base64 of 16 bytes', async (t) => {
    t.ok(isValidKey('dGhlIHNhbXBsZSBub25jZQ=='), 'the RFC example')
    t.ok(isValidKey('AAAAAAAAAAAAAAAAAAAAAA=='), 'all zero bytes')
    t.ok(isValidKey('/////////////////////w=='), 'all one bits, with the standard alphabet')
    t.ok(isValidKey(randomBytes(16).toString('base64')), 'random bytes')
  })

  const invalid: Array<[string, string]> = [
    ['the empty string', ''],
    ['base64 of 15 bytes', randomBytes(15).toString('base64')],
    ['base64 of 32 bytes', randomBytes(32).toString('base64')],
    // These two are 24 characters long, like a valid key.
    ['base64 of 17 bytes', randomBytes(17).toString('base64')],
    ['base64 of 18 bytes', randomBytes(18).toString('base64')],
    ['16 bytes without padding', 'dGhlIHNhbXBsZSBub25jZQ'],
    ['16 bytes with one "=" too few', 'dGhlIHNhbXBsZSBub25jZQ='],
    ['16 bytes whose last digit has its unused bits set', 'dGhlIHNhbXBsZSBub25jZR=='],
    ['the URL-safe alphabet', '_____________________w=='],
    ['characters outside base64', '!!!!!!!!!!!!!!!!!!!!!!=='],
    ['a space inside', 'dGhlIHNhbXBs ZSBub25jZQ='],
    ['surrounding white space', ' dGhlIHNhbXBsZSBub25jZQ== '],
    ['a line break', 'dGhlIHNhbXBsZSBub25jZQ==\n'],
    ['two keys joined', 'dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ=='],
  ]
  for (const [what, key] of invalid) {
    t.test(`refuses ${what}`, async (t) => {
      t.notOk(isValidKey(key), JSON.stringify(key))
    })
  }

  t.test('agrees with decoding and encoding again, whatever the last digit', async (t) => {
    const canonical = (key: string) => {
      const bytes = Buffer.from(key, 'base64')
      return bytes.length === 16 && bytes.toString('base64') === key
    }
    const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=. '
    let disagreements = 0
    for (let round = 0; round < 50; round++) {
      const base = randomBytes(16).toString('base64')
      for (const digit of digits) {
        for (const at of [0, 10, 21]) {
          const key = base.slice(0, at) + digit + base.slice(at + 1)
          if (isValidKey(key) !== canonical(key)) disagreements++
        }
      }
    }
    t.equal(disagreements, 0)
  })
})
