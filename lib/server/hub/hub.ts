/**
 * Hub: groups of connections (topics, rooms) and broadcasts to them, in one
 * process or, through a broker, across many.
 *
 *   publish(topic, m) ─┬─▶ members of topic in this process  (at once)
 *                      └─▶ broker ─▶ hubs of other processes ─▶ their members
 *
 * A message is prepared once per publish (PreparedMessage: framed once for
 * every receiver) and written to each member that has room for it under its
 * outbound budget (outbound-budget.ts); a member over it is dropped from that
 * message or closed, as the hub's policy says, and never makes the others
 * wait. A connection leaves its groups when it leaves them itself, when it
 * disconnects, or when it closes.
 *
 * With a broker, the hub subscribes to a topic while it has members for it
 * (one broker connection for all topics), delivers its own publishes locally
 * and skips them when the broker echoes them back. Broker delivery is at
 * most once: while the broker is unreachable, what other processes publish
 * does not arrive, and what this one publishes reaches only its own members.
 * The hub says so: 'broker-down', then, once connected and resubscribed,
 * 'broker-up' and 'loss' with the window and the count of messages not sent.
 */
import { EventEmitter } from 'node:events'
import type { WebSocketDuplex } from '../../connection/websocket-duplex'
import { PreparedMessage } from '../../protocol/prepared-message'
import { headerSize } from '../../protocol/frame'
import type { Broker } from './broker'
import { newHubId, unwrap, wrap } from './envelope'
import {
  DEFAULT_OUTBOUND_BUDGET,
  DEFAULT_SLOW_CLOSE_CODE,
  DEFAULT_SLOW_CLOSE_TIMEOUT,
  OutboundBudget,
} from './outbound-budget'
import { type HubOptions, validateHubOptions } from './options'

/** Counters since the hub was made; `hub.stats` returns a copy. */
export interface HubStats {
  /** publish() calls. */
  published: number
  /** Messages written to member connections in this process. */
  delivered: number
  /** Messages a member missed for being over its outbound budget ('drop' policy). */
  dropped: number
  /** Connections closed for being over their budget ('close' policy). */
  closedSlow: number
  /** Messages that came from other processes through the broker. */
  received: number
  /** Messages from the broker refused as malformed (see envelope.ts). */
  malformed: number
  /** Publishes the broker could not take (it was down): they reached this process's members only. */
  unsent: number
  /** Times the broker connection was lost (or could not be made at start). */
  outages: number
}

/** A broker outage that has ended: from when to when messages of other processes could not arrive, and how many of ours were not sent. */
export interface BrokerLoss {
  since: Date
  until: Date
  unsent: number
}

/** The events of a Hub and their arguments. */
export interface HubEvents {
  /** A member over its budget: it missed a message ('dropped') or is being closed ('closed'). */
  overflow: [ws: WebSocketDuplex, topic: string, action: 'dropped' | 'closed']
  /** A message from the broker was refused; the reason says why. */
  malformed: [reason: string]
  'broker-down': [error: Error]
  'broker-up': []
  /** After an outage, once the broker is back: what may have been lost (pub/sub keeps nothing for absent subscribers). */
  loss: [loss: BrokerLoss]
}

type Listener<E extends keyof HubEvents> = (...args: HubEvents[E]) => void

export interface Hub {
  on<E extends keyof HubEvents>(event: E, listener: Listener<E>): this
  once<E extends keyof HubEvents>(event: E, listener: Listener<E>): this
  off<E extends keyof HubEvents>(event: E, listener: Listener<E>): this
  emit<E extends keyof HubEvents>(event: E, ...args: HubEvents[E]): boolean
}

/** What the hub keeps per member connection. */
interface Member {
  topics: Set<string>
  dropped: number
  leaveAll: () => void
}

/** Groups of connections that a message is broadcast to, in this process and, through a Broker, in every process that shares it. */
export class Hub extends EventEmitter {
  readonly #broker: Broker | null
  readonly #budget: OutboundBudget
  readonly #id = newHubId()
  readonly #topics = new Map<string, Set<WebSocketDuplex>>()
  readonly #members = new Map<WebSocketDuplex, Member>()
  /** Subscriptions in the broker, by topic: resolved once in place. */
  readonly #subscriptions = new Map<string, Promise<void>>()
  readonly #stats: HubStats = { published: 0, delivered: 0, dropped: 0, closedSlow: 0, received: 0, malformed: 0, unsent: 0, outages: 0 }
  #brokerUp = false
  /** When the current outage began (or the hub started, until the first connection), null while connected. */
  #downSince: Date | null = null
  #unsentAtDown = 0
  #readyWaiters: Array<() => void> = []
  #closed = false

  constructor(options: HubOptions = {}) {
    validateHubOptions(options)
    super()
    this.#budget = new OutboundBudget(
      options.outboundBudget ?? DEFAULT_OUTBOUND_BUDGET,
      options.slowConsumer ?? 'drop',
      options.slowCloseCode ?? DEFAULT_SLOW_CLOSE_CODE,
      options.slowCloseTimeout ?? DEFAULT_SLOW_CLOSE_TIMEOUT,
    )
    this.#broker = options.broker ?? null
    if (this.#broker) {
      this.#downSince = new Date()
      this.#broker.start({
        message: (channel, payload) => this.#fromBroker(channel, payload),
        down: (error) => this.#onBrokerDown(error),
        up: () => this.#onBrokerUp(),
      })
    }
  }

  get stats(): HubStats {
    return { ...this.#stats }
  }

  /** Whether a broker is connected (false without one). */
  get brokerConnected(): boolean {
    return this.#brokerUp
  }

  /** Resolves once the broker is connected; at once without a broker. */
  ready(): Promise<void> {
    if (!this.#broker || this.#brokerUp) return Promise.resolve()
    return new Promise((resolve) => this.#readyWaiters.push(resolve))
  }

  /**
   * Adds `ws` to `topic`. Membership is immediate; the promise resolves once
   * messages published to the topic in other processes will arrive (the
   * broker's subscription is in place; at once without a broker).
   */
  join(ws: WebSocketDuplex, topic: string): Promise<void> {
    checkTopic(topic)
    if (typeof (ws as Partial<WebSocketDuplex> | null)?.write !== 'function' || !('bufferedAmount' in ws)) {
      throw new TypeError('join() takes a WebSocketDuplex')
    }
    if (this.#closed) throw new Error('the hub is closed')
    // A connection on its way out joins nothing (and subscribes to nothing).
    if (ws.destroyed || ws.writableEnded) return Promise.resolve()
    let member = this.#members.get(ws)
    if (!member) {
      const leaveAll = () => this.leave(ws)
      member = { topics: new Set(), dropped: 0, leaveAll }
      this.#members.set(ws, member)
      ws.once('disconnect', leaveAll)
      ws.once('close', leaveAll)
    }
    member.topics.add(topic)
    let group = this.#topics.get(topic)
    if (!group) {
      group = new Set()
      this.#topics.set(topic, group)
    }
    group.add(ws)
    return this.#subscription(topic)
  }

  /** Takes `ws` out of `topic`, or out of every topic when none is given. */
  leave(ws: WebSocketDuplex, topic?: string): void {
    if (topic !== undefined) checkTopic(topic)
    const member = this.#members.get(ws)
    if (!member) return
    for (const name of topic === undefined ? [...member.topics] : [topic]) {
      if (!member.topics.delete(name)) continue
      const group = this.#topics.get(name)!
      group.delete(ws)
      if (group.size === 0) {
        this.#topics.delete(name)
        this.#unsubscribe(name)
      }
    }
    if (member.topics.size === 0) {
      this.#members.delete(ws)
      ws.off('disconnect', member.leaveAll)
      ws.off('close', member.leaveAll)
    }
  }

  /** The topics `ws` is in. */
  topicsOf(ws: WebSocketDuplex): string[] {
    return [...(this.#members.get(ws)?.topics ?? [])]
  }

  /** How many connections of this process are in `topic`. */
  size(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0
  }

  /** Messages `ws` has missed for being over its budget. */
  droppedFor(ws: WebSocketDuplex): number {
    return this.#members.get(ws)?.dropped ?? 0
  }

  /**
   * Sends `message` (a string is text, bytes are binary unless marked by
   * asText()) to every member of `topic`, here and, with a broker, in every
   * other process. Returns how many connections of this process it was
   * written to.
   */
  publish(topic: string, message: string | Uint8Array | PreparedMessage): number {
    checkTopic(topic)
    if (this.#closed) throw new Error('the hub is closed')
    const prepared = message instanceof PreparedMessage ? message : new PreparedMessage(message)
    this.#stats.published++
    const delivered = this.#deliver(topic, prepared)
    if (this.#broker) {
      if (!this.#brokerUp) this.#stats.unsent++
      else {
        this.#broker.publish(topic, wrap(prepared, this.#id)).then((taken) => {
          if (!taken) this.#stats.unsent++
        })
      }
    }
    return delivered
  }

  /** Leaves every group and closes the broker; the connections themselves stay open. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const ws of [...this.#members.keys()]) this.leave(ws)
    await this.#broker?.close()
  }

  #deliver(topic: string, message: PreparedMessage): number {
    const group = this.#topics.get(topic)
    if (!group) return 0
    let delivered = 0
    // Counted as it will be queued: with its frame header.
    const size = message.byteLength + headerSize(message.byteLength, false)
    // A copy: a connection closed for being slow leaves the group while we go through it.
    for (const ws of [...group]) {
      if (ws.destroyed || ws.writableEnded) continue
      if (this.#budget.admits(ws, size)) {
        ws.write(message)
        delivered++
      } else {
        this.#overflow(ws, topic)
      }
    }
    this.#stats.delivered += delivered
    return delivered
  }

  #overflow(ws: WebSocketDuplex, topic: string): void {
    if (this.#budget.policy === 'drop') {
      this.#stats.dropped++
      this.#members.get(ws)!.dropped++
      this.emit('overflow', ws, topic, 'dropped')
      return
    }
    this.#stats.closedSlow++
    this.leave(ws)
    this.emit('overflow', ws, topic, 'closed')
    this.#budget.closeSlow(ws)
  }

  #subscription(topic: string): Promise<void> {
    if (!this.#broker) return Promise.resolve()
    let subscribed = this.#subscriptions.get(topic)
    if (!subscribed) {
      subscribed = this.#broker.subscribe(topic)
      // Whoever awaits join() still sees a failure; one who does not gets no unhandled rejection.
      subscribed.catch(() => {})
      this.#subscriptions.set(topic, subscribed)
    }
    return subscribed
  }

  #unsubscribe(topic: string): void {
    if (!this.#broker || !this.#subscriptions.delete(topic)) return
    void this.#broker.unsubscribe(topic)
  }

  #fromBroker(topic: string, envelope: Buffer): void {
    const unwrapped = unwrap(envelope)
    if ('error' in unwrapped) {
      this.#stats.malformed++
      this.emit('malformed', unwrapped.error)
      return
    }
    // Our own publish, delivered here already.
    if (unwrapped.from.equals(this.#id)) return
    this.#stats.received++
    this.#deliver(topic, unwrapped.message)
  }

  #onBrokerDown(error: Error): void {
    if (this.#brokerUp) {
      this.#brokerUp = false
      this.#downSince = new Date()
      this.#unsentAtDown = this.#stats.unsent
      this.#stats.outages++
    } else if (this.#stats.outages === 0) {
      // Unreachable from the start: that is an outage too.
      this.#stats.outages++
    } else {
      return
    }
    this.emit('broker-down', error)
  }

  #onBrokerUp(): void {
    if (this.#brokerUp || this.#closed) return
    this.#brokerUp = true
    const since = this.#downSince
    this.#downSince = null
    this.emit('broker-up')
    if (since && this.#stats.outages > 0) {
      this.emit('loss', { since, until: new Date(), unsent: this.#stats.unsent - this.#unsentAtDown })
    }
    const waiters = this.#readyWaiters
    this.#readyWaiters = []
    for (const resolve of waiters) resolve()
  }
}

function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) throw new TypeError(`a topic must be a non-empty string, not ${String(topic)}`)
}
