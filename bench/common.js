'use strict'
/**
 * Shared by bench/run.js (the parent) and its children bench/server.js and
 * bench/client.js: message payloads and their verification, the raw-TCP
 * framing, the native-module check, and the children's side of the IPC.
 *
 * Messages: every message starts with its sequence number as 8 ASCII digits,
 * followed by the tail of a fixed base payload (pseudo-random bytes for
 * binary; mostly-ASCII text with a few 2-, 3- and 4-byte UTF-8 characters for
 * text). A receiver checks every message's type, length and sequence number
 * (so a lost, duplicated or reordered message fails at once) and compares the
 * whole content of a sample of them (every message in smoke mode).
 */
const path = require('node:path')

const REPO = path.resolve(__dirname, '..')
const SEQ_DIGITS = 8
/** Full content comparison for every CONTENT_EVERY-th message (and the last one). */
const CONTENT_EVERY = 61

const KiB = 1024
const MiB = 1024 * 1024

/** Deterministic pseudo-random bytes (xorshift32): corruption anywhere shows up. */
function pseudoRandomBytes(size, seed = 0x9e3779b9) {
  const bytes = Buffer.allocUnsafe(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    bytes[i] = x & 0xff
  }
  return bytes
}

const TEXT_SEED =
  'The quick brown fox jumps over the lazy dog; {"id":42,"name":"caf\u00e9","price":"9\u20ac",' +
  '"tags":["na\u00efve","\u6f22\u5b57"],"mood":"\ud83d\ude42"} and then some plain ASCII words to keep it mostly ASCII. '

const ASCII_SEED = 'The quick brown fox jumps over the lazy dog; {"id":42,"name":"cafe","price":"9 EUR"} and some more words. '

/**
 * A string of exactly `size` UTF-8 bytes, mostly ASCII, starting with ASCII
 * (the sequence number goes there). BENCH_TEXT=ascii: ASCII only.
 */
function textOfBytes(size) {
  const seed = process.env.BENCH_TEXT === 'ascii' ? ASCII_SEED : TEXT_SEED
  let out = ''
  let bytes = 0
  let i = 0
  while (true) {
    const cp = seed.codePointAt(i % seed.length)
    const ch = String.fromCodePoint(cp)
    const n = Buffer.byteLength(ch)
    if (bytes + n > size) break
    out += ch
    bytes += n
    i += ch.length
  }
  while (bytes < size) {
    out += '.'
    bytes++
  }
  return out
}

const JSON_VARIANTS = 64
const JSON_WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima']
const JSON_CITIES = ['Amsterdam', 'Berlin', 'Chicago', 'Dublin', 'Lisbon', 'Nairobi', 'Osaka', 'Quito']

/**
 * JSON-like ASCII text of exactly `size` bytes: an array of records with the
 * same keys and pseudo-random values (ids, names, numbers, flags, tags), as
 * an API would send; compressible the way such text is, not a repeated
 * sentence. Starts with ASCII (the sequence number goes there).
 */
function jsonOfBytes(size, seed = 0x2545f491) {
  let x = seed >>> 0 || 1
  const next = () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x
  }
  const pick = (list) => list[next() % list.length]
  let out = '[{"seq":0,'
  for (let id = 1; out.length < size; id++) {
    const record = {
      id: 100000 + (next() % 900000),
      user: `${pick(JSON_WORDS)}_${next() % 1000}`,
      city: pick(JSON_CITIES),
      active: next() % 2 === 0,
      score: (next() % 100000) / 100,
      tags: [pick(JSON_WORDS), pick(JSON_WORDS)],
      updated: `2024-0${1 + (next() % 9)}-${String(1 + (next() % 28)).padStart(2, '0')}T${String(next() % 24).padStart(2, '0')}:${String(next() % 60).padStart(2, '0')}:00Z`,
    }
    out += `${id > 1 ? ',{' : ''}${JSON.stringify(record).slice(1)}`
  }
  return out.slice(0, size)
}

/**
 * The base payload of `size` bytes; `kind` 'text', 'json' (text: JSON-like
 * records, ASCII; its `kind` is 'text') or 'binary'. `bytes` is
 * its encoding (what goes on the wire), `text` the string for text.
 */
function basePayload(size, kind) {
  if (size < SEQ_DIGITS) throw new RangeError(`messages are at least ${SEQ_DIGITS} bytes`)
  if (kind === 'json') {
    // Messages cycle through JSON_VARIANTS different texts, so that with context takeover a message is not
    // just a back-reference to the one before (1 KiB x 64 is twice deflate's 32 KiB window).
    const variants = []
    for (let v = 0; v < JSON_VARIANTS; v++) {
      const text = jsonOfBytes(size, 0x2545f491 + v * 0x9e3779b9)
      variants.push({ text, bytes: Buffer.from(text, 'utf8') })
    }
    return { kind: 'text', size, ...variants[0], variants }
  }
  if (kind === 'text') {
    const text = textOfBytes(size)
    return { kind, size, text, bytes: Buffer.from(text, 'utf8') }
  }
  return { kind, size, text: null, bytes: pseudoRandomBytes(size) }
}

/**
 * permessage-deflate settings for workload f, by name, as each library spells
 * them (the same on its server and its client): a child given
 * `--deflate=NAME` (`--deflate` alone: `default`) uses these. Thresholds are
 * each library's default (ws: 1024 bytes; ours: 1024 bytes without context
 * takeover, every message with it): workload f's messages are all 1 KiB or
 * more, so both compress every one.
 */
const DEFLATE_SETTINGS = {
  /** Each library's defaults: context takeover both ways, 15-bit windows, memLevel 8. */
  default: { ours: true, ws: true, expect: [] },
  /** Both ends reset their window after every message. */
  'no-context-takeover': {
    ours: { serverNoContextTakeover: true, clientNoContextTakeover: true },
    ws: { serverNoContextTakeover: true, clientNoContextTakeover: true },
    expect: ['server_no_context_takeover', 'client_no_context_takeover'],
  },
  /** The least memory: 9-bit windows both ways (zlib's smallest raw window), memLevel 1 for every compressor. */
  'small-windows': {
    ours: { serverMaxWindowBits: 9, clientMaxWindowBits: 9, memLevel: 1 },
    ws: { serverMaxWindowBits: 9, clientMaxWindowBits: 9, zlibDeflateOptions: { memLevel: 1 } },
    expect: ['server_max_window_bits=9', 'client_max_window_bits=9'],
  },
}

/**
 * The setting a child's arguments ask for: `--deflate[=NAME]` after LIB, or
 * null (compression off). Throws for an unknown name or a library without it.
 */
function deflateSetting(argv, lib) {
  const arg = argv.find((a) => a === '--deflate' || a.startsWith('--deflate='))
  if (!arg) return null
  const name = arg === '--deflate' ? 'default' : arg.slice('--deflate='.length)
  if (!DEFLATE_SETTINGS[name]) throw new Error(`unknown deflate setting ${name}`)
  if (lib !== 'ours' && lib !== 'ws') throw new Error(`--deflate is for ours and ws, not ${lib}`)
  return name
}

/**
 * Whether a child's arguments ask for stream mode (`--stream` after LIB:
 * workload e's streamed row, ours only): messages are read as MessageStreams.
 */
function streamSetting(argv, lib) {
  if (!argv.includes('--stream')) return false
  if (lib !== 'ours') throw new Error(`--stream is for ours, not ${lib}`)
  return true
}

/**
 * Throws unless `extensions` (a Sec-WebSocket-Extensions response) settled permessage-deflate with setting `name`'s parameters.
 */
function checkNegotiated(name, extensions) {
  const missing = ['permessage-deflate', ...DEFLATE_SETTINGS[name].expect].filter((p) => !extensions.includes(p))
  if (missing.length > 0) throw new Error(`permessage-deflate (${name}) not negotiated as asked: ${missing.join(', ')} missing from "${extensions}"`)
}

/**
 * Throws unless `wire` (socket bytes read and written) carried at most half
 * of `payload` bytes in each direction that is given (else compression was
 * not in effect); returns wire / payload over the directions given.
 */
function checkCompressed(what, wire, payload) {
  if (!wire) throw new Error(`${what}: no socket byte counts from the client`)
  const dirs = ['written', 'read'].filter((d) => payload[d] > 0)
  for (const d of dirs) {
    if (wire[d] > payload[d] / 2) throw new Error(`${what}: ${wire[d]} bytes ${d} for ${payload[d]} bytes of payload: not compressed`)
  }
  return dirs.reduce((a, d) => a + wire[d], 0) / dirs.reduce((a, d) => a + payload[d], 0)
}

function seqDigits(seq) {
  return String(seq).padStart(SEQ_DIGITS, '0')
}

/** The text and bytes message `seq` of `base` carries after its sequence number. */
const variantOf = (base, seq) => (base.variants ? base.variants[seq % base.variants.length] : base)

/** Message number `seq`: a fresh string, or a fresh Buffer (or `into`, stamped in place). */
function stamp(base, seq, into) {
  const digits = seqDigits(seq)
  if (base.kind === 'text') return digits + variantOf(base, seq).text.slice(SEQ_DIGITS)
  const out = into ?? Buffer.from(base.bytes)
  out.latin1Write(digits, 0, SEQ_DIGITS)
  return out
}

/** The sequence number at the start of a message (string or bytes), or -1. */
function readSeq(message) {
  let n = 0
  if (typeof message === 'string') {
    for (let i = 0; i < SEQ_DIGITS; i++) {
      const d = message.charCodeAt(i) - 48
      if (!(d >= 0 && d <= 9)) return -1
      n = n * 10 + d
    }
  } else {
    for (let i = 0; i < SEQ_DIGITS; i++) {
      const d = message[i] - 48
      if (!(d >= 0 && d <= 9)) return -1
      n = n * 10 + d
    }
  }
  return n
}

/**
 * Throws unless `message` is message `seq` of `base`. `asText`: whether it
 * arrived as a text message (for ws: !isBinary; for ours: a string; raw: false).
 * `full`: compare every byte.
 */
function verify(base, message, asText, seq, full) {
  const what = () => `message ${seq} (${base.size} B ${base.kind})`
  const wantText = base.kind === 'text'
  if (asText !== wantText) throw new Error(`${what()}: arrived as ${asText ? 'text' : 'binary'}`)
  if (typeof message === 'string') {
    if (message.length !== base.text.length) throw new Error(`${what()}: ${message.length} characters, expected ${base.text.length}`)
  } else if (message.length !== base.size) {
    throw new Error(`${what()}: ${message.length} bytes, expected ${base.size}`)
  }
  const got = readSeq(message)
  if (got !== seq) throw new Error(`${what()}: got sequence number ${got} (lost, duplicated or reordered message)`)
  if (!full) return
  const same =
    typeof message === 'string'
      ? message.slice(SEQ_DIGITS) === variantOf(base, seq).text.slice(SEQ_DIGITS)
      : message.subarray(SEQ_DIGITS).equals(variantOf(base, seq).bytes.subarray(SEQ_DIGITS))
  if (!same) throw new Error(`${what()}: content differs`)
}

/** The block workload e's messages repeat: pseudo-random, so a lost, extra or shifted byte anywhere shows. */
const BIG_BLOCK_SIZE = 64 * KiB

/**
 * Throws unless `chunk`, found at byte `offset` of a message, equals
 * `block` repeated from there: a streamed echo is checked piece by piece
 * as it arrives (a comparison in place, no copy and no hash).
 */
function checkRepeated(block, chunk, offset) {
  let at = offset % block.length
  for (let i = 0; i < chunk.length; ) {
    const n = Math.min(block.length - at, chunk.length - i)
    if (block.compare(chunk, i, i + n, at, at + n) !== 0) throw new Error(`the echo differs from the message sent within bytes ${offset + i}-${offset + i + n}`)
    i += n
    at = 0
  }
}

/** Whether message `seq` of `count` gets a full content comparison. */
function fullCheck(seq, count, all) {
  return all || seq % CONTENT_EVERY === 0 || seq === count - 1
}

/**
 * Raw TCP framing: a 4-byte big-endian length, then the payload. Collects
 * chunks and calls `onMessage(payload)` for each complete message.
 */
class FrameReader {
  constructor(onMessage) {
    this.onMessage = onMessage
    this.chunks = []
    this.buffered = 0
    this.need = -1 // payload length of the message in progress, -1 while reading its header
  }

  push(chunk) {
    this.chunks.push(chunk)
    this.buffered += chunk.length
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) return
        this.need = this.take(4).readUInt32BE(0)
      }
      if (this.buffered < this.need) return
      const payload = this.take(this.need)
      this.need = -1
      this.onMessage(payload)
    }
  }

  take(n) {
    const first = this.chunks[0]
    if (first.length >= n) {
      this.buffered -= n
      if (first.length === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const out = Buffer.allocUnsafe(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.chunks[0]
      const k = Math.min(chunk.length, n - filled)
      chunk.copy(out, filled, 0, k)
      filled += k
      if (k === chunk.length) this.chunks.shift()
      else this.chunks[0] = chunk.subarray(k)
    }
    this.buffered -= n
    return out
  }
}

/**
 * Counts length-prefixed messages in a byte stream without keeping their
 * payloads (the raw echo server forwards the bytes as they come).
 */
class FrameCounter {
  constructor() {
    this.count = 0
    this.header = 0 // header bytes seen of the message in progress
    this.length = 0
    this.remaining = 0 // payload bytes still to come
  }

  push(chunk) {
    let i = 0
    const n = chunk.length
    while (i < n) {
      if (this.remaining > 0) {
        const k = Math.min(this.remaining, n - i)
        this.remaining -= k
        i += k
        if (this.remaining === 0) this.count++
        continue
      }
      this.length = this.length * 256 + chunk[i++]
      if (++this.header === 4) {
        this.remaining = this.length
        this.header = 0
        this.length = 0
        if (this.remaining === 0) this.count++
      }
    }
  }
}

function packageVersion(name) {
  try {
    return require(`${name}/package.json`).version
  } catch {
    return null
  }
}

/**
 * What this process loaded: bufferutil and utf-8-validate (required here,
 * each checked to be its native build), what ws itself uses for masking and
 * UTF-8 validation, and whether our library masks natively.
 */
function nativeReport() {
  const report = { pid: process.pid, node: process.version }
  const probe = (name, fn) => {
    try {
      const mod = require(name)
      const fallback = require(`${name}/fallback`)
      report[fn] = { version: packageVersion(name), native: fn === 'bufferutil' ? mod.mask !== fallback.mask : mod !== fallback }
    } catch (error) {
      report[fn] = { version: packageVersion(name), native: false, error: error.message }
    }
  }
  probe('bufferutil', 'bufferutil')
  probe('utf-8-validate', 'utf8validate')
  require('ws')
  const loaded = (name) => {
    try {
      return require.cache[require.resolve(name)] !== undefined
    } catch {
      return false
    }
  }
  report.ws = {
    version: packageVersion('ws'),
    // ws 8 prefers Node's own http.websocketMask and buffer.isUtf8 where Node has them.
    masking: typeof require('node:http').websocketMask === 'function' ? 'http.websocketMask' : loaded('bufferutil') ? 'bufferutil' : 'js',
    utf8: typeof require('node:buffer').isUtf8 === 'function' ? 'buffer.isUtf8' : loaded('utf-8-validate') ? 'utf-8-validate' : 'js',
  }
  report.oursNativeMasking = require(path.join(REPO, 'dist/protocol/mask.js')).nativeMasking
  return report
}

/** The problems with a nativeReport(): what would make ws (or the modules) run JavaScript fallbacks. */
function nativeProblems(report) {
  const problems = []
  if (!report.bufferutil.native) problems.push(`bufferutil is not its native build (${report.bufferutil.error ?? 'fallback'})`)
  if (!report.utf8validate.native) problems.push(`utf-8-validate is not its native build (${report.utf8validate.error ?? 'fallback'})`)
  if (report.ws.masking === 'js') problems.push('ws masks in JavaScript (bufferutil not loaded)')
  if (report.ws.utf8 === 'js') problems.push('ws validates UTF-8 in JavaScript')
  return problems
}

/**
 * The child side of the IPC: `handlers[cmd](args)` may return a value or a
 * promise; the parent gets `{ id, ok, result | error }`. The child dies with
 * its parent.
 */
function serveCommands(handlers) {
  process.on('disconnect', () => process.exit(0))
  process.on('message', async (message) => {
    if (!message || typeof message.id !== 'number') return
    const { id, cmd, args } = message
    try {
      const handler = handlers[cmd]
      if (!handler) throw new Error(`unknown command ${cmd}`)
      const result = await handler(args ?? {})
      process.send({ id, ok: true, result: result ?? null })
    } catch (error) {
      process.send({ id, ok: false, error: error && error.stack ? error.stack : String(error) })
    }
  })
}

/** The CPU time (user + system, µs) since `start` (a process.cpuUsage() value). */
function cpuSince(start) {
  const d = process.cpuUsage(start)
  return { user: d.user, system: d.system, total: d.user + d.system }
}

/** Rejects if `promise` has not settled within `ms`. */
function withTimeout(promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

module.exports = {
  DEFLATE_SETTINGS,
  deflateSetting,
  streamSetting,
  checkNegotiated,
  checkCompressed,
  withTimeout,
  pseudoRandomBytes,
  REPO,
  KiB,
  MiB,
  SEQ_DIGITS,
  basePayload,
  stamp,
  readSeq,
  verify,
  fullCheck,
  BIG_BLOCK_SIZE,
  checkRepeated,
  FrameReader,
  FrameCounter,
  nativeReport,
  nativeProblems,
  packageVersion,
  serveCommands,
  cpuSince,
}
