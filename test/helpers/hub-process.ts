/**
 * Server processes joined by a hub over Redis (test/server/hub/fixtures/
 * hub-process.cjs), driven from a test: each one's JSON events are collected
 * and can be waited for; a topic is reached by connecting to `/TOPIC`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { connect } from '../../lib/handshake/client'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { record, type Recording, within } from './ws-wait'
import { startRedis, type RedisServer } from './redis-server'

const FIXTURE = path.resolve(__dirname, '../server/hub/fixtures/hub-process.cjs')

export interface HubEvent {
  event: string
  name: string
  [field: string]: unknown
}

export class HubProcess {
  readonly child: ChildProcess
  readonly events: HubEvent[] = []
  port = 0
  #stderr = ''
  #lines = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>

  constructor(readonly redisUrl: string, readonly name: string) {
    // Without the test runner's loader hooks: a plain node, as a deployment runs it.
    const env = { ...process.env }
    delete env.NODE_OPTIONS
    this.child = spawn(process.execPath, [FIXTURE, redisUrl, name], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      this.#lines += text
      let newline
      while ((newline = this.#lines.indexOf('\n')) !== -1) {
        this.events.push(JSON.parse(this.#lines.slice(0, newline)))
        this.#lines = this.#lines.slice(newline + 1)
      }
    })
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => (this.#stderr += text))
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })))
  }

  /** Starts a process and waits until it listens. */
  static async start(redisUrl: string, name: string): Promise<HubProcess> {
    const process = new HubProcess(redisUrl, name)
    const listening = await process.waitFor((e) => e.event === 'listening')
    process.port = listening.port as number
    return process
  }

  get stderr(): string {
    return this.#stderr
  }

  /** The first event (from `after` on) that matches; rejects after `ms` or when the process exits first. */
  async waitFor(match: (event: HubEvent) => boolean, ms = 10_000, after = 0): Promise<HubEvent> {
    const deadline = Date.now() + ms
    for (;;) {
      const found = this.events.slice(after).find(match)
      if (found) return found
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`${this.name}: no matching event ${this.child.exitCode === null ? `within ${ms} ms` : 'before it exited'}; ` +
          `events: ${JSON.stringify(this.events)}; stderr: ${this.#stderr}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  /** The hub's counters, asked for now. */
  async stats(): Promise<Record<string, number | boolean>> {
    const after = this.events.length
    this.child.stdin!.write('stats\n')
    const answer = await this.waitFor((e) => e.event === 'stats', 5000, after)
    return { ...(answer.stats as Record<string, number>), connected: answer.connected as boolean }
  }

  /**
   * A client of ours in `topic`, without waiting for the broker: a member in
   * this process at once (the server joins it before its 101 reaches us).
   */
  async connect(topic: string): Promise<{ ws: WebSocketDuplex; rec: Recording }> {
    const ws = await within(connect(`ws://127.0.0.1:${this.port}/${encodeURIComponent(topic)}`), 5000, `connect to ${this.name}`)
    ws.on('error', () => {})
    return { ws, rec: record(ws) }
  }

  /** A client of ours in `topic`, once the process's hub has subscribed to it in the broker. */
  async join(topic: string): Promise<{ ws: WebSocketDuplex; rec: Recording }> {
    const joins = () => this.events.filter((e) => e.event === 'joined' && e.topic === topic).length
    const before = joins()
    const member = await this.connect(topic)
    await this.waitFor(() => joins() > before, 10_000)
    return member
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
  }
}

/** A redis-server and one hub process per name, all stopped in the test's teardown. */
export async function hubProcesses(t: { teardown(fn: () => unknown): void }, names: string[]): Promise<{ redis: RedisServer; processes: HubProcess[] }> {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const processes = await Promise.all(names.map((name) => HubProcess.start(redis.url, name)))
  t.teardown(() => processes.forEach((p) => p.kill()))
  return { redis, processes }
}
