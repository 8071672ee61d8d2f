/**
 * The command line: --help and --version, and every wrong command line is
 * one clear line on stderr and exit status 2, before anything is connected.
 */
import t from 'tap'
import { assertBuilt, packageVersion, runCli } from '../helpers/cli'

assertBuilt()

t.test('--help prints the usage, the exit statuses and examples, and exits 0', async (t) => {
  const run = await runCli(['--help'])
  t.equal(run.code, 0)
  const help = run.stdout.toString()
  for (const part of ['Usage:', '--listen [HOST:]PORT', '--exec CMD', '--proxy [HOST:]PORT TARGET_URL', '--to-tcp', 'Exit status:', 'Examples:']) {
    t.match(help, part, `the help mentions ${part}`)
  }
  for (const status of ['0 ', '1 ', '2 ', '3 ', '4 ', '5 ', '130 ']) t.match(help, new RegExp(`^  ${status}`, 'm'), `exit status ${status.trim()} is explained`)
  t.equal(run.stderr, '')
})

t.test('--version prints the package version', async (t) => {
  const run = await runCli(['--version'])
  t.equal(run.code, 0)
  t.equal(run.stdout.toString(), `watershed ${packageVersion()}\n`)
})

const USAGE_ERRORS: Array<[string[], RegExp]> = [
  [[], /no URL given/],
  [['--bogus', 'ws://127.0.0.1:1/'], /Unknown option '--bogus'/],
  [['ftp://127.0.0.1/'], /unsupported scheme ftp:/],
  [['not a url'], /is not a URL/],
  [['ws://a/', 'ws://b/'], /one URL only/],
  [['--listen', '70000'], /--listen: "70000" is not a port/],
  [['--listen', '8080', 'ws://127.0.0.1:1/'], /--listen takes no URL/],
  [['--listen', '8080', '--proxy', '8081', 'ws://x/'], /do not go together/],
  [['--proxy', '8080'], /needs one TARGET_URL/],
  [['--to-tcp', '127.0.0.1:6379', 'ws://x/'], /--to-tcp goes with --proxy/],
  [['--proxy', '8080', '--to-tcp', '6379'], /--to-tcp: expected HOST:PORT/],
  [['--proxy', '8080', 'ws://x/', '--compress'], /--compress: a raw proxy passes frames through untouched/],
  [['-0', '--length-prefixed', 'ws://x/'], /choose one/],
  [['--whole', '--length-prefixed', 'ws://x/'], /takes no --length-prefixed/],
  [['--listen', '8080', '--whole'], /add --once/],
  [['--close-code', '1005', 'ws://x/'], /--close-code\/--close-reason: .*1005/],
  [['--close-code', 'abc', 'ws://x/'], /--close-code\/--close-reason/],
  [['--close-reason', 'x'.repeat(124), 'ws://x/'], /--close-code\/--close-reason: close reason is 124 bytes; at most 123/],
  [['--max-message-size', '0', 'ws://x/'], /--max-message-size: expected a positive number of bytes/],
  [['--max-message-size', '-5', 'ws://x/'], /Option '--max-message-size' argument is ambiguous/],
  [['--max-message-size', '12X', 'ws://x/'], /--max-message-size/],
  [['--ping-interval', '0', 'ws://x/'], /--ping-interval: expected a positive number of seconds/],
  [['--ping-timeout', '3', 'ws://x/'], /--ping-timeout needs --ping-interval/],
  [['--header', 'no colon', 'ws://x/'], /--header: expected 'Name: value'/],
  [['--protocol', 'a b', 'ws://x/'], /--protocol: "a b" is not a valid subprotocol name/],
  [['--protocol', 'a,a', 'ws://x/'], /named twice/],
  [['--cert', '/etc/hostname', 'ws://x/'], /--cert and --key go together/],
  [['--ca', '/nonexistent/ca.pem', 'ws://x/'], /--ca: cannot read \/nonexistent\/ca.pem: ENOENT/],
  [['--listen', '8080', '--insecure'], /a server makes no TLS connection of its own/],
  [['--path', 'chat', '--listen', '8080'], /--path must start with '\/'/],
  [['--path', '/chat', 'ws://x/'], /these go with --listen/],
  [['--kill-after', '1', 'ws://x/'], /--kill-after: goes with --exec/],
  [['--listen', '8080', '--exec'], /--exec needs a command/],
  [['-n', '--listen', '8080', '--exec', 'cat'], /--no-close does not go with --exec/],
]

t.test('a wrong command line is one line on stderr (and a hint), exit status 2, nothing connected', async (t) => {
  for (const [args, message] of USAGE_ERRORS) {
    const run = await runCli(args)
    t.equal(run.code, 2, `watershed ${args.join(' ')} exits 2`)
    const lines = run.stderr.trimEnd().split('\n')
    t.match(lines[0], message, `watershed ${args.join(' ')}: ${message}`)
    t.match(lines[0], /^watershed: /)
    t.strictSame(lines.slice(1), ["watershed: try 'watershed --help'"], 'then the hint, and no stack trace')
    t.equal(run.stdout.length, 0, 'nothing on stdout')
  }
})

t.test('everything after --exec is the command, options included', async (t) => {
  // `sort -r` would be an unknown option -r if it were read as ours; here it only fails to listen on a bad port.
  const run = await runCli(['--listen', '99999', '--exec', 'sort', '-r'])
  t.equal(run.code, 2)
  t.match(run.stderr, /--listen: "99999" is not a port/)
})
