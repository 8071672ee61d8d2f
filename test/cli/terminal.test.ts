/**
 * Interactive use in a real terminal (tmux): lines typed are sent, messages
 * received are shown above the line being typed without breaking it, -v
 * shows pings and the close on the terminal, Ctrl-C closes with 1001.
 */
import { execFileSync } from 'node:child_process'
import t from 'tap'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { assertBuilt, CLI } from '../helpers/cli'
import { serve } from '../helpers/ws-pair'
import { closedWithin, record, until, type Recording } from '../helpers/ws-wait'

assertBuilt()

// A tmux server of this test's own (-L), so nothing else's sessions are touched.
const SOCKET = `watershed-cli-${process.pid}`
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' })
const screen = () => tmux('capture-pane', '-p', '-t', 'cli')
const lines = () => screen().split('\n').map((line) => line.trimEnd())

async function screenShows(pattern: RegExp, what: string): Promise<void> {
  await until(() => pattern.test(screen()), 5000, `${what}; the screen:\n${screen()}`)
}

t.test('a chat from a terminal', async (t) => {
  let ws: WebSocketDuplex | undefined
  let rec: Recording | undefined
  const listening = await serve({}, (connection) => {
    ws = connection
    rec = record(connection)
  })
  t.teardown(() => listening.close())
  const env = `env -u NODE_OPTIONS TERM=xterm`
  tmux('new-session', '-d', '-s', 'cli', '-x', '80', '-y', '20', `${env} ${process.execPath} ${CLI} -v ${listening.url}; echo "[exit $?]"; sleep 60`)
  t.teardown(() => tmux('kill-server'))
  await screenShows(/watershed: connected to ws:\/\/127\.0\.0\.1:\d+\//, 'the connection is shown')

  tmux('send-keys', '-t', 'cli', 'hello there', 'Enter')
  await until(() => rec!.messages.length === 1, 5000, 'the typed line')
  t.strictSame(rec!.messages, ['hello there'], 'a typed line is one text message')

  // Half a line typed, not sent; then a message arrives.
  tmux('send-keys', '-t', 'cli', 'half a li')
  await screenShows(/half a li/, 'the typing')
  ws!.write('a message while you type')
  await screenShows(/a message while you type\n(.*\n)*half a li/, 'the message above the line being typed')
  const shown = lines()
  const message = shown.indexOf('a message while you type')
  t.not(message, -1, 'the message has a line of its own')
  t.equal(shown.slice(message + 1).find((line) => line !== ''), 'half a li', 'the typed part is redrawn below it, intact')
  tmux('send-keys', '-t', 'cli', 'ne', 'Enter')
  await until(() => rec!.messages.length === 2, 5000, 'the finished line')
  t.equal(rec!.messages[1], 'half a line', 'the line typed around the message is sent whole')

  ws!.ping('are you there')
  await screenShows(/watershed: ping received "are you there"/, '-v shows the ping')

  tmux('send-keys', '-t', 'cli', 'C-c')
  t.strictSame(await closedWithin(rec!), [1001, 'interrupted'], 'Ctrl-C closes with 1001')
  await screenShows(/\[exit 130\]/, 'the exit status')
  t.match(screen(), /watershed: closed: 1001 ""/, 'the close is shown')
})
