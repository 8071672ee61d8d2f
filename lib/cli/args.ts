/**
 * The command line, read with util.parseArgs and checked as a whole before
 * anything is connected: a wrong option, a value out of range or options
 * that do not go together are a usage error (exit status 2).
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { encodeClosePayload } from '../index'
import { DEFAULT_LISTEN_HOST, parseAddress, parseSeconds, parseSize, parseUrl, type Address } from './addresses'
import { usageError } from './exit-codes'
import { MAX_PREFIXED_LENGTH, NEWLINE, NUL, type Framing } from './framing'

export type Mode =
  | { kind: 'client'; url: URL }
  | { kind: 'server'; listen: Address }
  | { kind: 'proxy'; listen: Address; target: URL }
  | { kind: 'tcp-front'; listen: Address; tcp: Address }

export interface Tls {
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
  insecure: boolean
}

export interface CliOptions {
  mode: Mode
  framing: Framing
  /** The command and its arguments, run once per connection. */
  exec: string[] | null
  /** The input's end leaves the connection open. */
  noClose: boolean
  closeCode: number
  closeReason: string
  maxMessageSize?: number
  compress: boolean
  heartbeat?: { interval: number; timeout: number }
  closeTimeout?: number
  /** After the peer's close, how long a child has to exit before SIGTERM (and as long again before SIGKILL). */
  killAfter: number
  headers: Record<string, string>
  protocols: string[]
  origin?: string
  path?: string
  once: boolean
  tls: Tls
  verbose: boolean
}

export type Command = { help: true } | { version: true } | { run: CliOptions }

const OPTIONS = {
  listen: { type: 'string', short: 'l' },
  proxy: { type: 'string' },
  'to-tcp': { type: 'string' },
  once: { type: 'boolean' },
  path: { type: 'string' },
  binary: { type: 'boolean', short: 'b' },
  null: { type: 'boolean', short: '0' },
  'length-prefixed': { type: 'boolean' },
  whole: { type: 'boolean' },
  'no-close': { type: 'boolean', short: 'n' },
  'close-code': { type: 'string' },
  'close-reason': { type: 'string' },
  'max-message-size': { type: 'string' },
  compress: { type: 'boolean' },
  'ping-interval': { type: 'string' },
  'ping-timeout': { type: 'string' },
  'close-timeout': { type: 'string' },
  'kill-after': { type: 'string' },
  header: { type: 'string', short: 'H', multiple: true },
  protocol: { type: 'string', multiple: true },
  origin: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  insecure: { type: 'boolean', short: 'k' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values']

/** Default for --kill-after: long enough for a program to finish its output, short enough to wait for. */
const DEFAULT_KILL_AFTER = 2000

/** Reads the command line (without `node` and the script). */
export function parseCommandLine(argv: readonly string[]): Command {
  // Everything after --exec belongs to the command, whatever it looks like.
  const execAt = argv.indexOf('--exec')
  const own = execAt === -1 ? argv : argv.slice(0, execAt)
  const exec = execAt === -1 ? null : argv.slice(execAt + 1)
  let values: Values
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({ args: [...own], options: OPTIONS, allowPositionals: true, strict: true }))
  } catch (error) {
    // parseArgs explains at length how to pass positionals that start with '-'; its first sentence is the point.
    throw usageError((error as Error).message.split('\n')[0].split('. ')[0])
  }
  if (values.help) return { help: true }
  if (values.version) return { version: true }
  if (exec !== null && exec.length === 0) throw usageError('--exec needs a command (everything after --exec is the command and its arguments)')

  const mode = readMode(values, positionals)
  const framing = readFraming(values)
  const options: CliOptions = {
    mode,
    framing,
    exec,
    noClose: values['no-close'] ?? false,
    closeCode: 1000,
    closeReason: values['close-reason'] ?? '',
    compress: values.compress ?? false,
    killAfter: values['kill-after'] === undefined ? DEFAULT_KILL_AFTER : parseSeconds(values['kill-after'], '--kill-after'),
    headers: readHeaders(values.header ?? []),
    protocols: readProtocols(values.protocol ?? []),
    origin: values.origin,
    path: values.path,
    once: values.once ?? false,
    tls: readTls(values),
    verbose: values.verbose ?? false,
  }
  if (values['close-code'] !== undefined) {
    const text = values['close-code']
    options.closeCode = /^\d{1,4}$/.test(text) ? Number(text) : NaN
  }
  try {
    encodeClosePayload(options.closeCode, options.closeReason)
  } catch (error) {
    throw usageError(`--close-code/--close-reason: ${(error as Error).message}`)
  }
  if (values['max-message-size'] !== undefined) options.maxMessageSize = parseSize(values['max-message-size'], '--max-message-size')
  if (framing.lengthPrefixed && (options.maxMessageSize ?? 0) > MAX_PREFIXED_LENGTH) {
    throw usageError(`--max-message-size: a 4-byte length prefix counts at most ${MAX_PREFIXED_LENGTH} bytes`)
  }
  if (values['ping-interval'] !== undefined) {
    const interval = parseSeconds(values['ping-interval'], '--ping-interval')
    const timeout = values['ping-timeout'] === undefined ? interval : parseSeconds(values['ping-timeout'], '--ping-timeout')
    options.heartbeat = { interval, timeout }
  } else if (values['ping-timeout'] !== undefined) {
    throw usageError('--ping-timeout needs --ping-interval')
  }
  if (values['close-timeout'] !== undefined) options.closeTimeout = parseSeconds(values['close-timeout'], '--close-timeout')
  if (options.path !== undefined && !options.path.startsWith('/')) throw usageError(`--path must start with '/', not ${JSON.stringify(options.path)}`)
  checkCombinations(values, options)
  return { run: options }
}

function readMode(values: Values, positionals: string[]): Mode {
  const listen = values.listen
  const proxy = values.proxy
  if (listen !== undefined && proxy !== undefined) throw usageError('--listen and --proxy do not go together: a proxy listens by itself')
  if (values['to-tcp'] !== undefined && proxy === undefined) throw usageError('--to-tcp goes with --proxy [HOST:]PORT')
  if (proxy !== undefined) {
    const address = parseAddress(proxy, '--proxy', DEFAULT_LISTEN_HOST)
    if (values['to-tcp'] !== undefined) {
      if (positionals.length > 0) throw usageError(`--proxy with --to-tcp takes no URL (got ${JSON.stringify(positionals[0])})`)
      return { kind: 'tcp-front', listen: address, tcp: parseAddress(values['to-tcp'], '--to-tcp') }
    }
    if (positionals.length !== 1) throw usageError('--proxy [HOST:]PORT needs one TARGET_URL (or --to-tcp HOST:PORT)')
    return { kind: 'proxy', listen: address, target: parseUrl(positionals[0], 'TARGET_URL') }
  }
  if (listen !== undefined) {
    if (positionals.length > 0) throw usageError(`--listen takes no URL (got ${JSON.stringify(positionals[0])})`)
    return { kind: 'server', listen: parseAddress(listen, '--listen', DEFAULT_LISTEN_HOST) }
  }
  if (positionals.length === 0) throw usageError('no URL given (watershed URL, watershed --listen PORT, or watershed --help)')
  if (positionals.length > 1) throw usageError(`one URL only (got ${positionals.map((p) => JSON.stringify(p)).join(', ')})`)
  return { kind: 'client', url: parseUrl(positionals[0], 'URL') }
}

function readFraming(values: Values): Framing {
  const binary = values.binary ?? false
  const lengthPrefixed = values['length-prefixed'] ?? false
  const whole = values.whole ?? false
  if (lengthPrefixed && values.null) throw usageError('-0 and --length-prefixed are two ways of marking records: choose one')
  if (lengthPrefixed && whole) throw usageError('--whole sends the whole input as one message: it takes no --length-prefixed')
  // Binary without -0: bytes pass as they come, with nothing between messages.
  const delimiter = values.null ? NUL : binary || lengthPrefixed ? null : NEWLINE
  return { delimiter, lengthPrefixed, whole, binary }
}

function readHeaders(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = colon === -1 ? '' : line.slice(0, colon).trim()
    const value = line.slice(colon + 1).trim()
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw usageError(`--header: expected 'Name: value', not ${JSON.stringify(line)}`)
    if (/[\r\n\0]/.test(value)) throw usageError(`--header ${name}: a value cannot hold CR, LF or NUL`)
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value
  }
  return headers
}

function readProtocols(values: string[]): string[] {
  const protocols = values.flatMap((value) => value.split(',')).map((name) => name.trim())
  for (const name of protocols) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw usageError(`--protocol: ${JSON.stringify(name)} is not a valid subprotocol name`)
  }
  if (new Set(protocols).size !== protocols.length) throw usageError('--protocol: a subprotocol is named twice')
  return protocols
}

function readFile(path: string | undefined, option: string): Buffer | undefined {
  if (path === undefined) return undefined
  try {
    return readFileSync(path)
  } catch (error) {
    throw usageError(`${option}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}

function readTls(values: Values): Tls {
  if ((values.cert === undefined) !== (values.key === undefined)) throw usageError('--cert and --key go together')
  return {
    ca: readFile(values.ca, '--ca'),
    cert: readFile(values.cert, '--cert'),
    key: readFile(values.key, '--key'),
    insecure: values.insecure ?? false,
  }
}

/** Options that only mean something in some modes. */
function checkCombinations(values: Values, options: CliOptions): void {
  const { kind } = options.mode
  const given = (names: string[]) => names.filter((name) => values[name as keyof Values] !== undefined).map((name) => `--${name}`)
  const refuse = (names: string[], why: string) => {
    const found = given(names)
    if (found.length > 0) throw usageError(`${found.join(', ')}: ${why}`)
  }
  const messageOptions = ['binary', 'null', 'length-prefixed', 'whole', 'no-close', 'close-code', 'close-reason']
  if (kind === 'proxy') {
    if (options.exec) throw usageError('--exec does not go with --proxy')
    refuse(
      [...messageOptions, 'max-message-size', 'compress', 'ping-interval', 'close-timeout', 'kill-after', 'once'],
      'a raw proxy passes frames through untouched: it reads no messages and negotiates no extension of its own',
    )
  }
  if (kind === 'tcp-front') {
    if (options.exec) throw usageError('--exec does not go with --to-tcp')
    refuse([...messageOptions, 'kill-after', 'once'], '--to-tcp passes bytes as binary messages and back, with no framing to choose')
    options.framing = { delimiter: null, lengthPrefixed: false, whole: false, binary: true }
  }
  if (kind === 'client') refuse(['path', 'once'], 'these go with --listen')
  if (kind === 'server') {
    refuse(['ca', 'insecure'], 'a server makes no TLS connection of its own (use --cert and --key to listen with TLS)')
    if (options.framing.whole && !options.once && !options.exec) {
      throw usageError('--whole sends one message to one peer: add --once (or --exec) to --listen')
    }
  }
  if (kind === 'tcp-front') refuse(['ca', 'insecure'], 'the TCP service is reached without TLS')
  if (options.exec === null) refuse(['kill-after'], 'goes with --exec')
  if (options.exec && options.noClose) throw usageError('--no-close does not go with --exec: the command\'s exit closes the connection')
}
