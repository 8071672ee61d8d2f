/**
 * The examples and the README's snippets, run as a user runs them: each as
 * its own `node` process from the repository root, loading the library as
 * require('watershed') (the package's self-reference, which points at dist/).
 * A demo must exit 0 by itself and print what happened.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import path from 'node:path'
import vm from 'node:vm'
import t, { type Test } from 'tap'
import { connect } from '../lib/handshake/client'
import { closedWithin, record, within } from './helpers/ws-wait'
import { WebSocket as UndiciWebSocket } from 'undici'

const ROOT = path.resolve(__dirname, '..')
const RUN_TIMEOUT = 20_000

interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** The environment of a user's shell: none of the test runner's hooks. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (name === 'NODE_OPTIONS' || name.startsWith('TAP') || name.startsWith('_TAPJS') || name.startsWith('TS_NODE')) continue
    env[name] = value
  }
  return { ...env, ...extra }
}

/** A node process running from the repository root, its output collected. */
class NodeProcess {
  readonly child: ChildProcess
  stdout = ''
  stderr = ''
  readonly exited: Promise<Finished>

  constructor(args: string[], env: Record<string, string> = {}, cwd = ROOT) {
    this.child = spawn(process.execPath, args, { cwd, env: userEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => (this.stdout += text))
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => (this.stderr += text))
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject)
      this.child.on('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }))
    })
  }

  /** Resolves with the first match of `pattern` in stdout; rejects after `ms` or if the process exits first. */
  async waitFor(pattern: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms
    let exited = false
    void this.exited.then(() => (exited = true), () => (exited = true))
    for (;;) {
      const match = this.stdout.match(pattern)
      if (match) return match
      if (exited || Date.now() > deadline) {
        throw new Error(`no ${pattern} in the output${exited ? ' before the process exited' : ` within ${ms} ms`}:\n${this.stdout}${this.stderr}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  /** Waits for the exit; a process still running after `ms` is killed and the wait rejects. */
  async finish(ms = RUN_TIMEOUT): Promise<Finished> {
    try {
      return await within(this.exited, ms, `${this.child.spawnargs.slice(1).join(' ')} to exit`)
    } catch (error) {
      this.child.kill('SIGKILL')
      throw new Error(`${(error as Error).message}; output so far:\n${this.stdout}${this.stderr}`)
    }
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
  }
}

/** Runs `node ...args` to its end. */
const runNode = (args: string[], env: Record<string, string> = {}, cwd = ROOT) => new NodeProcess(args, env, cwd).finish()

/**
 * A user's project folder, outside the repository: `watershed` installed
 * (a link to this package, so its `exports` and built dist/ are what is
 * resolved) beside `@types/node`, and a strict TypeScript configuration.
 */
async function userProject(t: Test): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'watershed-readme-'))
  t.teardown(() => rm(folder, { recursive: true, force: true }))
  await mkdir(path.join(folder, 'node_modules', '@types'), { recursive: true })
  await symlink(ROOT, path.join(folder, 'node_modules', 'watershed'), 'dir')
  await symlink(path.join(ROOT, 'node_modules', '@types', 'node'), path.join(folder, 'node_modules', '@types', 'node'), 'dir')
  await writeFile(path.join(folder, 'package.json'), JSON.stringify({ name: 'readme-user', private: true }))
  await writeFile(path.join(folder, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'ES2022', lib: ['ES2022'], types: ['node'], outDir: 'out', rootDir: '.' },
  }))
  return folder
}

/** Runs a README program as its reader would: `node -e` for CommonJS, a .mjs file, or a .ts file compiled by tsc (strict) first. */
async function runProgram(t: Test, program: Program, project: () => Promise<string>): Promise<Finished> {
  if (program.kind === 'commonjs') return runNode(['-e', program.code])
  const folder = await project()
  const name = `line-${program.line}`
  if (program.kind === 'module') {
    await writeFile(path.join(folder, `${name}.mjs`), program.code)
    return runNode([`${name}.mjs`], {}, folder)
  }
  await writeFile(path.join(folder, `${name}.ts`), program.code)
  const tsc = path.join(path.dirname(require.resolve('typescript/package.json', { paths: [ROOT] })), 'bin', 'tsc')
  const compiled = await runNode([tsc, '-p', 'tsconfig.json'], {}, folder)
  t.equal(compiled.code, 0, `the TypeScript program at README line ${program.line} type-checks (strict)`, { output: compiled.stdout + compiled.stderr })
  return runNode([path.join('out', `${name}.js`)], {}, folder)
}

/** The lines of `text`, without trailing white space. */
const linesOf = (text: string) => text.split('\n').map((line) => line.trimEnd())

/** Asserts that every expected line occurs in `output`, in the given order (other lines may come between). */
function hasLinesInOrder(t: Test, output: string, expected: string[], message: string): void {
  const lines = linesOf(output)
  let at = 0
  for (const line of expected) {
    const found = lines.indexOf(line, at)
    if (found === -1) {
      t.fail(`${message}: ${JSON.stringify(line)} missing or out of order`, { found: output })
      return
    }
    at = found + 1
  }
  t.pass(message)
}

/** Asserts a clean exit: code 0 and nothing on stderr. */
function exitedCleanly(t: Test, run: Finished, what: string): void {
  t.equal(run.code, 0, `${what} exits with code 0`, { stdout: run.stdout, stderr: run.stderr })
  t.equal(run.stderr, '', `${what} writes nothing to stderr`)
}

/** A TCP port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** An HTTP GET with the given headers; resolves to the status, headers and body. */
function httpGet(port: number, headers: Record<string, string>) {
  return within(
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, headers }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (text: string) => (body += text))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      })
      req.on('upgrade', () => reject(new Error('the server accepted the upgrade')))
      req.on('error', reject)
    }),
    5000,
    'the HTTP answer',
  )
}

// The lines the echo client prints for its messages (see examples/client.js).
const CLIENT_MESSAGES = [
  'text "Hello, server!"',
  'text "ünïcödé ✓ — any valid UTF-8"',
  'binary <de ad be ef> (4 bytes)',
  'text ""',
  'binary <62 69 6e 61 72 79 2c 20 6e 6f 74 20 74 65 78 74> (16 bytes)',
]

/** A README program: one ```js block, or several joined by `<!-- continues above -->`. */
interface Program {
  /** The README line of its first block, to name it. */
  line: number
  code: string
  /** Marked `<!-- fragment -->`: compiled, not run. */
  fragment: boolean
  /** CommonJS (a ```js block), an ES module (```js marked `<!-- module -->`) or TypeScript (```ts). */
  kind: 'commonjs' | 'module' | 'typescript'
  /** The `<!-- output -->` block after it, if any. */
  output?: { lines: string[]; ordered: boolean }
}

/**
 * The README's programs: ```js blocks (CommonJS) and ```ts blocks
 * (TypeScript). A marker comment on the line right before a fence says what
 * the block is: `<!-- continues above -->` (more of the previous program),
 * `<!-- fragment -->` (not a whole program), `<!-- module -->` (an ES
 * module), `<!-- output -->` or `<!-- output (any order) -->` (a text block:
 * what the program prints).
 */
function readmePrograms(markdown: string): Program[] {
  const lines = markdown.split('\n')
  const programs: Program[] = []
  for (let i = 0; i < lines.length; i++) {
    const fence = lines[i].match(/^```(\w*)\s*$/)
    if (!fence) continue
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i])
    const marker = (lines[start - 1] ?? '').trim()
    const code = body.join('\n')
    if (fence[1] === 'js' || fence[1] === 'ts') {
      const kind = fence[1] === 'ts' ? 'typescript' : marker === '<!-- module -->' ? 'module' : 'commonjs'
      const last = programs[programs.length - 1]
      if (marker === '<!-- continues above -->' && last && !last.fragment && !last.output && last.kind === kind) last.code += `\n${code}`
      else if (marker === '<!-- continues above -->') throw new Error(`README line ${start + 1}: nothing above to continue`)
      else programs.push({ line: start + 1, code, fragment: marker === '<!-- fragment -->', kind })
    } else if (marker.startsWith('<!-- output')) {
      const last = programs[programs.length - 1]
      if (!last || last.fragment || last.output) throw new Error(`README line ${start + 1}: output without a program`)
      last.output = { lines: body.map((line) => line.trimEnd()), ordered: marker === '<!-- output -->' }
    }
  }
  return programs
}

const distBuilt = existsSync(path.join(ROOT, 'dist', 'index.js'))
if (!distBuilt) {
  t.fail('dist/index.js is missing: the examples load the built package. Run `npm run build` first (`npm test` does).')
} else {
  t.test('package.json: `npm run example` builds, then runs the echo demo', async (t) => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
    t.equal(pkg.scripts.example, 'npm run build && node examples/echo-demo.js')
  })

  t.test("require('watershed') from the repository root is this package's dist/", async (t) => {
    const run = await runNode(['-e', "process.stdout.write(require.resolve('watershed'))"])
    exitedCleanly(t, run, 'the resolution')
    t.equal(run.stdout, path.join(ROOT, 'dist', 'index.js'))
  })

  t.test('echo-demo: the client sends, the server echoes, both close, exit 0', async (t) => {
    const run = await runNode(['examples/echo-demo.js'])
    exitedCleanly(t, run, 'echo-demo.js')
    hasLinesInOrder(t, run.stdout, CLIENT_MESSAGES.map((m) => `[client] sending ${m}`), 'the client sends every message')
    hasLinesInOrder(t, run.stdout, CLIENT_MESSAGES.map((m) => `[server #1] received ${m}`), 'the server receives each, in order')
    hasLinesInOrder(
      t,
      run.stdout,
      [...CLIENT_MESSAGES.map((m) => `[client] echo ${m}`), '[client] every echo is back: closing with 1000 "done"'],
      'every echo comes back, in order, types kept',
    )
    hasLinesInOrder(t, run.stdout, ['[server #1] peer sent CLOSE 1000 "done"', `[server #1] closed, peer's code 1000 "done"`], 'the server sees the close code and reason')
    hasLinesInOrder(t, run.stdout, [`[client] closed, server's code 1000 ""`, '[demo] 5 messages went out and came back'], 'the client sees the echoed close code')
  })

  t.test('echo-server and client as two processes; bad upgrades refused; SIGTERM closes with 1001', async (t) => {
    const server = new NodeProcess(['examples/echo-server.js', '0'])
    t.teardown(() => server.stop())
    const [, port] = await server.waitFor(/^\[server\] listening on ws:\/\/127\.0\.0\.1:(\d+)$/m)

    const client = await runNode(['examples/client.js', port])
    exitedCleanly(t, client, 'client.js')
    hasLinesInOrder(t, client.stdout, [`[client] connected to ws://127.0.0.1:${port}`, ...CLIENT_MESSAGES.map((m) => `[client] echo ${m}`), `[client] closed, server's code 1000 ""`], 'the client gets its echoes and a clean close')

    const wrongVersion = await httpGet(Number(port), {
      Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '8', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    })
    t.equal(wrongVersion.status, 426, 'an unsupported version is answered 426')
    t.equal(wrongVersion.headers['sec-websocket-version'], '13', 'with the version spoken here')
    await server.waitFor(/^\[server\] rejected an upgrade: WS_ERR_UNSUPPORTED_VERSION \(HTTP 426\)/m)
    const noKey = await httpGet(Number(port), { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13' })
    t.equal(noKey.status, 400, 'an upgrade without a key is answered 400')
    const plain = await httpGet(Number(port), {})
    t.equal(plain.status, 426, 'a plain HTTP request is told to upgrade')

    // A connection still open at shutdown is closed with 1001.
    const ws = await within(connect(`ws://127.0.0.1:${port}`), 5000, 'connect')
    const rec = record(ws)
    await server.waitFor(/^\[server #2\] connected/m)
    server.child.kill('SIGTERM')
    t.strictSame(await closedWithin(rec, 10_000), [1001, 'server shutting down'], 'the open connection is closed with 1001 and a reason')
    const stopped = await server.finish()
    exitedCleanly(t, stopped, 'echo-server.js after SIGTERM')
    hasLinesInOrder(t, stopped.stdout, ['[server] SIGTERM: closing every connection with 1001', '[server] stopped'], 'the server says it stopped')
  })

  t.test('raw-proxy demo: a client goes through the proxy to its own echo backend', async (t) => {
    const run = await runNode(['examples/raw-proxy.js'])
    exitedCleanly(t, run, 'raw-proxy.js')
    hasLinesInOrder(t, run.stdout, CLIENT_MESSAGES.map((m) => `[backend #1] received ${m}`), 'the backend receives every message')
    hasLinesInOrder(t, run.stdout, CLIENT_MESSAGES.map((m) => `[client] echo ${m}`), 'the echoes come back through the proxy')
    t.match(run.stdout, /^\[proxy #1\] joined a client to ws:\/\/127\.0\.0\.1:\d+$/m, 'the proxy joined the two sockets')
    t.match(run.stdout, /^\[backend #1\] peer sent CLOSE 1000 "done"$/m, "the client's close code and reason reach the backend untouched")
    t.match(run.stdout, /^\[proxy #1\] ended cleanly$/m, 'the joined sockets end without an error')
  })

  t.test('raw-proxy with a backend URL proxies to that backend', async (t) => {
    const backend = new NodeProcess(['examples/echo-server.js', '0'])
    t.teardown(() => backend.stop())
    const [backendUrl] = (await backend.waitFor(/ws:\/\/127\.0\.0\.1:\d+$/m))
    const proxy = new NodeProcess(['examples/raw-proxy.js', backendUrl, '0'])
    t.teardown(() => proxy.stop())
    const [, port] = await proxy.waitFor(/^\[proxy\] listening on ws:\/\/127\.0\.0\.1:(\d+), passing connections to /m)

    const client = await runNode(['examples/client.js', port])
    exitedCleanly(t, client, 'client.js through the proxy')
    hasLinesInOrder(t, client.stdout, CLIENT_MESSAGES.map((m) => `[client] echo ${m}`), 'every echo comes back')
    await backend.waitFor(/^\[server #1\] closed, peer's code 1000 "done"$/m)
  })

  t.test('text-to-file: text messages become the lines of a file, binary ones are skipped', async (t) => {
    const run = await runNode(['examples/text-to-file.js'])
    exitedCleanly(t, run, 'text-to-file.js')
    const lines = linesOf(run.stdout)
    const at = lines.findIndex((line) => /^\[demo\] .*messages\.txt now holds:$/.test(line))
    t.not(at, -1, 'the file is printed')
    t.strictSame(lines.slice(at + 1, at + 4), ['first line', 'second line, ünïcödé ✓', 'last line'], 'the file holds exactly the text lines, in order')
    t.equal(lines[at + 4], '[demo] server stopped; done', 'and nothing else')
    t.match(run.stdout, /^\[server\] skipping a binary message of 3 bytes$/m)
  })

  t.test('upload: a 64 MiB file streamed to a server that saves it while it arrives', async (t) => {
    const run = await runNode(['examples/upload.js'])
    exitedCleanly(t, run, 'upload.js')
    t.strictSame(linesOf(run.stdout).filter((line) => line !== ''), [
      '[client] the server answered: saved 67108864 bytes',
      '[demo] the saved file is identical to the one sent',
    ])
  })

  t.test('download: a 64 MiB file streamed to a client that saves it while it arrives', async (t) => {
    const run = await runNode(['examples/download.js'])
    exitedCleanly(t, run, 'download.js')
    t.strictSame(linesOf(run.stdout).filter((line) => line !== ''), ['[client] saved 67108864 bytes', '[demo] the saved file is identical to the one sent'])
  })

  t.test('text-to-sort: lines go through sort and come back sorted, then the server closes', async (t) => {
    const run = await runNode(['examples/text-to-sort.js'])
    exitedCleanly(t, run, 'text-to-sort.js')
    const lines = linesOf(run.stdout)
    const at = lines.indexOf('[client] the server closed with 1000; it sent back:')
    t.not(at, -1, 'the server closed with 1000 after its output', { found: run.stdout })
    // The server's own log lines may fall between these; the client's list is the indented lines.
    const returned = lines.slice(at + 1).filter((line) => line.startsWith('  '))
    t.strictSame(returned, ['  apple', '  banana', '  cherry', '  fig', '  pear'], 'every word came back, sorted, and nothing more')
    t.match(run.stdout, /^\[demo\] server stopped; done$/m)
    t.match(run.stdout, /^\[server\] sort exited with 0$/m)
  })

  t.test("original-api: the original documentation's server and client talk, then exit", async (t) => {
    const run = await runNode(['examples/original-api.js'], { PORT: String(await freePort()) })
    exitedCleanly(t, run, 'original-api.js')
    const lines = linesOf(run.stdout).filter((line) => line !== '')
    t.strictSame(lines, ['received text: Hi there!', 'end!', 'end!'], "the greeting arrives and both ends see 'end'")
  })

  t.test('cluster-chat: a browser-style client on worker 1 receives what a client on worker 2 published, through Redis', async (t) => {
    const run = new NodeProcess(['examples/cluster-chat.js', '0'], { WORKERS: '2' })
    t.teardown(() => run.stop())
    const [, port] = await run.waitFor(/^\[primary\] 2 workers share ws:\/\/127\.0\.0\.1:(\d+)\/chat\?room=lobby$/m, 20_000)
    t.match(run.stdout, /^\[primary\] Redis at redis:\/\/127\.0\.0\.1:\d+ \(started here\)$/m, 'it started its own Redis')

    // Connections are dealt round-robin: open some until both workers hold one (their welcome says which).
    const onWorker = new Map<string, { socket: UndiciWebSocket; messages: string[] }>()
    const opened: UndiciWebSocket[] = []
    t.teardown(() => opened.forEach((socket) => socket.close()))
    while (onWorker.size < 2 && opened.length < 10) {
      const socket = new UndiciWebSocket(`ws://127.0.0.1:${port}/chat?room=lobby`)
      opened.push(socket)
      const messages: string[] = []
      socket.onmessage = (event) => messages.push(String(event.data))
      await within(new Promise((resolve) => (socket.onopen = resolve)), 5000, 'open')
      await within((async () => { while (messages.length === 0) await new Promise((resolve) => setTimeout(resolve, 5)) })(), 5000, 'welcome')
      const worker = messages[0].match(/^welcome to lobby, on worker (\d+)$/)?.[1]
      if (worker && !onWorker.has(worker)) onWorker.set(worker, { socket, messages })
    }
    t.same([...onWorker.keys()].sort(), ['1', '2'], 'a client on each worker')
    const [one, two] = [onWorker.get('1')!, onWorker.get('2')!]
    two.socket.send('hello from the other process')
    await within((async () => { while (!one.messages.includes('[worker 2] hello from the other process')) await new Promise((resolve) => setTimeout(resolve, 5)) })(), 10_000, 'the message on worker 1')
    t.pass('the client on worker 1 has what the client on worker 2 sent')

    run.child.kill('SIGTERM')
    const stopped = await run.finish()
    exitedCleanly(t, stopped, 'cluster-chat.js after SIGTERM')
    hasLinesInOrder(t, stopped.stdout, ['[primary] stopping', '[primary] stopped'], 'it stops its workers and its Redis')
  })

  t.test('README: Install is `npm install watershed`; CONTRIBUTING starts with `npm install && npm run example`, then `npm test`', async (t) => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    const install = readme.match(/## Install\n+```sh\n([^`]*)```/)
    t.strictSame(install?.[1].trim().split('\n'), ['npm install watershed'])
    t.ok(readme.indexOf('## Install') < readme.indexOf('## A first server and client'), 'the first server and client come after it')
    const contributing = readFileSync(path.join(ROOT, 'CONTRIBUTING.md'), 'utf8')
    const start = contributing.match(/## Getting started\n+```sh\n([^`]*)```/)
    t.strictSame(start?.[1].trim().split('\n'), ['npm install && npm run example', 'npm test'])
    const scripts = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>
    for (const [, name] of contributing.matchAll(/^\| `npm run ([\w:]+)` \|/gm)) t.ok(scripts[name], `npm run ${name} exists`)
  })

  t.test('README: every error code the library declares is documented', async (t) => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    const source = readFileSync(path.join(ROOT, 'lib', 'protocol', 'errors.ts'), 'utf8')
    const codes = [...new Set(source.match(/WS_ERR_[A-Z0-9_]+/g))]
    t.ok(codes.length >= 20, `the codes are found in lib/protocol/errors.ts (${codes.length})`)
    for (const code of codes) t.match(readme, `\`${code}\``, `${code} is in the README`)
  })

  t.test('docs/coming-from-ws.md: a row for each part of ws, every snippet compiles', async (t) => {
    const guide = readFileSync(path.join(ROOT, 'docs', 'coming-from-ws.md'), 'utf8')
    const rows = ['send(data, callback)', 'bufferedAmount', 'terminate()', 'ping(data)', 'readyState', 'binaryType', 'handleProtocols',
      'perMessageDeflate', 'maxPayload', 'noServer', 'handleUpgrade', 'clients', 'verifyClient', "'unexpected-response'", "'headers'",
      'createWebSocketStream', 'followRedirects', 'ws+unix:', 'agent', 'TLS options', 'autoPong', 'skipUTF8Validation']
    const table = guide.slice(guide.indexOf('| ws | watershed |'), guide.indexOf('## Row by row'))
    for (const row of rows) t.ok(table.includes(row), `the table has ${row}`)
    const snippets = readmePrograms(guide)
    t.ok(snippets.length >= 10, `${snippets.length} snippets`)
    for (const snippet of snippets) {
      t.ok(snippet.fragment, `the snippet at line ${snippet.line} is marked a fragment`)
      t.doesNotThrow(() => new vm.Script(`(async () => {\n${snippet.code}\n})`), `the snippet at line ${snippet.line} compiles`)
    }
    t.match(readFileSync(path.join(ROOT, 'README.md'), 'utf8'), '(docs/coming-from-ws.md)', 'the README links to it')
  })

  t.test("README: every snippet runs and prints what the README says", async (t) => {
    const programs = readmePrograms(readFileSync(path.join(ROOT, 'README.md'), 'utf8'))
    t.ok(programs.filter((p) => !p.fragment).length >= 6, 'the README has runnable programs')
    for (const kind of ['commonjs', 'module', 'typescript'] as const) {
      t.ok(programs.some((p) => p.kind === kind && !p.fragment && p.output), `a ${kind} program with its output`)
    }
    let made: Promise<string> | undefined
    const project = () => (made ??= userProject(t))
    for (const program of programs) {
      if (program.fragment) {
        // Compiled as the body of an async function, so `await` may appear.
        t.doesNotThrow(() => new vm.Script(`(async () => {\n${program.code}\n})`), `the fragment at README line ${program.line} compiles`)
        continue
      }
      const run = await runProgram(t, program, project)
      exitedCleanly(t, run, `the program at README line ${program.line} (${program.kind})`)
      if (!program.output) continue
      const printed = linesOf(run.stdout).filter((line) => line !== '')
      const expected = program.output.lines.filter((line) => line !== '')
      if (program.output.ordered) t.strictSame(printed, expected, `README line ${program.line} prints its output block`)
      else t.strictSame([...printed].sort(), [...expected].sort(), `README line ${program.line} prints its output block's lines`)
    }
  })
}

