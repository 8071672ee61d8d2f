/**
 * A real redis-server (the Debian package) for the hub's tests: on a free
 * local port, in a temporary directory, persisting nothing (`--save ''
 * --appendonly no`). It can be stopped and started again on the same port,
 * as a broker restart looks to its clients; stop() in teardown leaves no
 * process and no directory behind.
 *
 * Redis does not take port 0, so a port is found by letting the kernel pick
 * one for a throwaway listener; another process may take it in between, so
 * a start that finds it in use tries a new one.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'

const START_TIMEOUT = 10_000
const ATTEMPTS = 5

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

export class RedisServer {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'watershed-redis-'))
  port = 0
  #process: ChildProcess | null = null
  #output = ''

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  get running(): boolean {
    return this.#process !== null
  }

  /** Starts on a new free port, or on `port` when given (a restart). */
  async start(port?: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const tried = port ?? (await freePort())
      const outcome = await this.#launch(tried)
      if (outcome === 'ready') {
        this.port = tried
        return
      }
      // The port was taken between finding it and binding it: another one (or, for a restart, the same again).
      if (attempt === ATTEMPTS) throw new Error(`redis-server could not listen on ${tried}:\n${this.#output}`)
      if (port !== undefined) await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** Stops the server the way a crash would (SIGKILL) and waits for its exit. */
  async kill(): Promise<void> {
    await this.#stop('SIGKILL')
  }

  /** Starts it again on the port it had. */
  async restart(): Promise<void> {
    await this.start(this.port)
  }

  /** Stops the server (SIGTERM) and removes its directory. */
  async stop(): Promise<void> {
    await this.#stop('SIGTERM')
    rmSync(this.dir, { recursive: true, force: true })
  }

  async #stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.#process
    if (!child) return
    this.#process = null
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill(signal)
    await exited
  }

  #launch(port: number): Promise<'ready' | 'in use'> {
    this.#output = ''
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir]
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`redis-server did not start within ${START_TIMEOUT} ms:\n${this.#output}`))
      }, START_TIMEOUT)
      const onOutput = (text: string) => {
        this.#output += text
        if (/Ready to accept connections/.test(this.#output)) {
          clearTimeout(timer)
          this.#process = child
          resolve('ready')
        }
      }
      child.stdout!.setEncoding('utf8').on('data', onOutput)
      child.stderr!.setEncoding('utf8').on('data', onOutput)
      child.once('error', (error) => {
        clearTimeout(timer)
        reject(new Error(`redis-server could not be run (is the redis-server package installed?): ${error.message}`))
      })
      child.once('exit', (code) => {
        if (this.#process === child) this.#process = null
        clearTimeout(timer)
        if (/Address already in use/.test(this.#output)) resolve('in use')
        else reject(new Error(`redis-server exited with ${code} before it was ready:\n${this.#output}`))
      })
    })
  }
}

/** A redis-server started for one test file; stop it in teardown. */
export async function startRedis(): Promise<RedisServer> {
  const server = new RedisServer()
  try {
    await server.start()
  } catch (error) {
    rmSync(server.dir, { recursive: true, force: true })
    throw error
  }
  return server
}
