/**
 * Backpressure through the command, measured on the real process: `yes |
 * watershed URL` against a server that never reads stays in bounded memory,
 * and a consumer that stops reading stdout stops the server's sending; once
 * it reads again, every message arrives, in order.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { assertBuilt, CLI, rssOf, userEnv } from '../helpers/cli'
import { MiB } from '../helpers/memory'
import { serve } from '../helpers/ws-pair'
import { delay, until } from '../helpers/ws-wait'

assertBuilt()

/** The RSS the command may reach: Node itself takes about 45 MiB; a buffer that follows the input would pass this in a second. */
const RSS_BOUND = 120 * MiB

t.test('yes | watershed URL, against a server that never reads: memory stays bounded', async (t) => {
  let serverSide: WebSocketDuplex | undefined
  const listening = await serve({}, (ws) => {
    serverSide = ws
    ws.on('error', () => {})
    ws.pause() // never reads: the library stops reading the socket, and TCP fills up
  })
  t.teardown(() => listening.close())
  const yes = spawn('yes', ['a line that repeats'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const cli = spawn(process.execPath, [CLI, listening.url], { stdio: [yes.stdout, 'ignore', 'pipe'], env: userEnv() })
  t.teardown(() => {
    cli.kill('SIGKILL')
    yes.kill('SIGKILL')
  })
  let stderr = ''
  cli.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text))
  await until(() => serverSide !== undefined, 5000, 'the connection')

  // Let the buffers along the way fill, then watch: nothing may keep growing.
  await delay(1500)
  const socket = serverSide!.socket
  const before = { rss: rssOf(cli.pid!), received: socket.bytesRead }
  let peak = before.rss
  for (let i = 0; i < 20; i++) {
    await delay(100)
    peak = Math.max(peak, rssOf(cli.pid!))
  }
  const after = { rss: rssOf(cli.pid!), received: socket.bytesRead }
  t.comment(`command RSS ${(before.rss / MiB).toFixed(1)} MiB, then ${(after.rss / MiB).toFixed(1)} MiB (peak ${(peak / MiB).toFixed(1)} MiB); the server took ${(after.received / MiB).toFixed(2)} MiB off its socket`)
  t.ok(peak < RSS_BOUND, `the command's RSS stays under ${RSS_BOUND / MiB} MiB`)
  t.ok(after.rss - before.rss < 16 * MiB, 'and does not grow while yes keeps writing')
  t.equal(after.received, before.received, 'the server read nothing more: the command waits on TCP, not in memory')
  t.equal(cli.exitCode, null, 'the command is still running, held back')
  t.equal(stderr, '')
})

t.test('a consumer that stops reading stdout stops the server; when it reads again, everything arrives in order', async (t) => {
  const total = 20_000
  const payload = 'x'.repeat(1000)
  let sent = 0
  let done: () => void = () => {}
  const allSent = new Promise<void>((resolve) => (done = resolve))
  const listening = await serve({}, async (ws) => {
    ws.on('error', () => {})
    ws.resume()
    for (; sent < total; sent++) {
      if (!ws.write(`${sent} ${payload}`)) await once(ws, 'drain')
    }
    ws.close(1000, 'all sent')
    done()
  })
  t.teardown(() => listening.close())
  const cli = spawn(process.execPath, [CLI, '-n', listening.url], { stdio: ['pipe', 'pipe', 'pipe'], env: userEnv() })
  t.teardown(() => cli.kill('SIGKILL'))
  cli.stdout!.pause() // nobody reads the command's output
  await until(() => sent > 0, 5000, 'the server sending')
  await delay(1500)
  const stalled = sent
  await delay(500)
  t.equal(sent, stalled, `the server is held back (${stalled} of ${total} messages sent)`)
  t.ok(stalled < total / 2, 'well before the end')
  t.ok(rssOf(cli.pid!) < RSS_BOUND, 'the command holds no more than its buffers')

  const lines: string[] = []
  let rest = ''
  cli.stdout!.setEncoding('utf8').on('data', (text: string) => {
    const parts = (rest + text).split('\n')
    rest = parts.pop()!
    lines.push(...parts)
  })
  cli.stdout!.resume()
  await allSent
  const [code] = (await once(cli, 'close')) as [number]
  t.equal(code, 0)
  t.equal(lines.length, total, 'every message arrived')
  t.ok(lines.every((line, i) => line === `${i} ${payload}`), 'in order, each whole')
})
