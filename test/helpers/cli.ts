/**
 * The `watershed` command as a user runs it: `node dist/cli/main.js ...` in
 * a process of its own (the build must exist: `npm test` builds first), its
 * stdin, stdout and stderr in the test's hands, every wait bounded.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { within } from './ws-wait'

export const ROOT = path.resolve(__dirname, '..', '..')
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js')

/** Fails at once, with the reason, when the command has not been built. */
export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (\`npm test\` does)`)
}

/** The environment of a user's shell: none of the test runner's hooks (its loader would slow every start). */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (name === 'NODE_OPTIONS' || name.startsWith('TAP') || name.startsWith('_TAPJS') || name.startsWith('TS_NODE')) continue
    env[name] = value
  }
  return { ...env, ...extra }
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: Buffer
  stderr: string
}

export class Cli {
  readonly child: ChildProcessWithoutNullStreams
  readonly #stdout: Buffer[] = []
  stderr = ''
  readonly exited: Promise<Exit>

  constructor(args: string[], options: { cwd?: string; command?: string[] } = {}) {
    const [command, ...prefix] = options.command ?? [process.execPath, CLI]
    this.child = spawn(command, [...prefix, ...args], { cwd: options.cwd ?? ROOT, env: userEnv() })
    this.child.stdout.on('data', (chunk: Buffer) => this.#stdout.push(chunk))
    this.child.stderr.setEncoding('utf8').on('data', (text: string) => (this.stderr += text))
    this.child.stdin.on('error', () => {}) // a command that exits before reading all of its stdin
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject)
      this.child.on('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }))
    })
  }

  get stdout(): Buffer {
    return Buffer.concat(this.#stdout)
  }

  get text(): string {
    return this.stdout.toString('utf8')
  }

  /** Resolves with the first match of `pattern` in stderr (where the command reports). */
  waitForStderr(pattern: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
    return this.#waitFor(() => this.stderr.match(pattern), `${pattern} on stderr`, ms)
  }

  /** Resolves once stdout holds `pattern`. */
  waitForStdout(pattern: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
    return this.#waitFor(() => this.text.match(pattern), `${pattern} on stdout`, ms)
  }

  async #waitFor(find: () => RegExpMatchArray | null, what: string, ms: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms
    let exited = false
    void this.exited.then(() => (exited = true), () => (exited = true))
    for (;;) {
      const match = find()
      if (match) return match
      if (exited || Date.now() > deadline) {
        throw new Error(`no ${what}${exited ? ' before the command exited' : ` within ${ms} ms`}; stdout:\n${this.text}\nstderr:\n${this.stderr}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  /** For a server: the port it announced on stderr. */
  async port(): Promise<number> {
    const [, port] = await this.waitForStderr(/^watershed: listening on wss?:\/\/[^\s]*:(\d+)\//m)
    return Number(port)
  }

  /** Waits for the exit; a command still running after `ms` is killed and the wait rejects. */
  async finish(ms = 15_000): Promise<Exit> {
    try {
      return await within(this.exited, ms, `watershed ${this.child.spawnargs.slice(2).join(' ')} to exit`)
    } catch (error) {
      this.stop()
      throw new Error(`${(error as Error).message}; stdout:\n${this.text}\nstderr:\n${this.stderr}`)
    }
  }

  /** Sends `input` to stdin and ends it. */
  send(input: string | Buffer): this {
    this.child.stdin.end(input)
    return this
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
  }
}

/** Runs the command to its end with `input` on stdin. */
export const runCli = (args: string[], input: string | Buffer = '') => new Cli(args).send(input).finish()

/** A server command, stopped when the test ends; resolves once it listens, with its port. */
export async function startServer(t: { teardown(fn: () => void): void }, args: string[]): Promise<{ cli: Cli; port: number; url: string }> {
  const cli = new Cli(args)
  t.teardown(() => cli.stop())
  const port = await cli.port()
  return { cli, port, url: `ws://127.0.0.1:${port}/` }
}

/** The package's version, as `--version` should print it. */
export const packageVersion = () => (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

/** A process's resident memory in bytes, from /proc (Linux). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status)
  if (!match) throw new Error(`no VmRSS for process ${pid}`)
  return Number(match[1]) * 1024
}
