/**
 * RedisBroker: a hub's messages between processes through Redis pub/sub,
 * with the `redis` package (node-redis), an optional peer dependency loaded
 * only when a broker is made from a URL.
 *
 * Two connections per process, however many topics and sockets: the client
 * that publishes (yours, or one made from `url`), and its duplicate(), which
 * holds every subscription (a connection in subscribe mode can do nothing
 * else). node-redis reconnects each with backoff and subscribes again by
 * itself, then says 'ready': the broker is up once both are, and down as
 * soon as either is not.
 *
 * With `sharded`, SSUBSCRIBE/SPUBLISH (Redis 7): on Redis Cluster a sharded
 * channel lives on the shard that owns its key slot, so each message goes to
 * one shard instead of to every node of the cluster; pass a client made with
 * createCluster().
 *
 * Publishing is never queued without bound: while the publishing connection
 * is not ready a publish is refused (the hub counts it as unsent), and at
 * most `maxPendingBytes` may wait for Redis's answer.
 */
import type { Broker, BrokerEvents } from './broker'
import { count, object, shown } from '../../protocol/option-checks'

type BufferListener = (message: Buffer, channel: Buffer) => unknown

/** The part of a node-redis client (createClient() or createCluster()) that the broker uses. */
export interface RedisClientLike {
  readonly isOpen: boolean
  readonly isReady: boolean
  connect(): Promise<unknown>
  duplicate(): RedisClientLike
  publish(channel: string, message: Buffer): Promise<unknown>
  sPublish(channel: string, message: Buffer): Promise<unknown>
  subscribe(channels: string, listener: BufferListener, bufferMode: true): Promise<unknown>
  unsubscribe(channels: string, listener: BufferListener, bufferMode: true): Promise<unknown>
  sSubscribe(channels: string, listener: BufferListener, bufferMode: true): Promise<unknown>
  sUnsubscribe(channels: string, listener: BufferListener, bufferMode: true): Promise<unknown>
  close(): Promise<unknown>
  destroy(): unknown
  on(event: string, listener: (...args: any[]) => void): unknown
  off(event: string, listener: (...args: any[]) => void): unknown
}

/** Options of a RedisBroker. */
export interface RedisBrokerOptions {
  /**
   * A client made with the redis package's createClient() (createCluster()
   * for Redis Cluster), connected or not. It publishes; its duplicate()
   * subscribes. The broker connects it if it is not open, and never closes
   * it: it stays yours.
   */
  client?: RedisClientLike
  /** Or where Redis is (`redis://host:port`): the broker makes its own client, and closes it in close(). */
  url?: string
  /** Put in front of every topic to name its channel, so the hub's channels keep to themselves. Default 'watershed:'. */
  prefix?: string
  /** Sharded pub/sub (SSUBSCRIBE/SPUBLISH, Redis 7), for Redis Cluster. Default false. */
  sharded?: boolean
  /** Bytes of publishes that may wait for Redis's answer; more are refused. Default 16 MiB. */
  maxPendingBytes?: number
}

interface RedisModule {
  createClient(options: { url: string }): RedisClientLike
}

/** The redis package, required only now: the rest of the library never needs it. */
function loadRedis(): RedisModule {
  try {
    return require('redis') as RedisModule
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error
    throw new Error("a RedisBroker made from a url needs the optional package 'redis' (npm install redis), or pass a client")
  }
}

/** A Broker over Redis pub/sub (sharded pub/sub on a cluster), using a client of the optional `redis` package. */
export class RedisBroker implements Broker {
  readonly #publisher: RedisClientLike
  readonly #ownsPublisher: boolean
  readonly #prefix: string
  readonly #sharded: boolean
  readonly #maxPending: number
  #subscriber: RedisClientLike | null = null
  #events: BrokerEvents | null = null
  #pending = 0

  constructor(options: RedisBrokerOptions) {
    const bag = object(options, 'options')
    if ((bag.client === undefined) === (bag.url === undefined)) throw new TypeError('a RedisBroker takes either a client or a url')
    if (bag.url !== undefined && typeof bag.url !== 'string') throw new TypeError(`url must be a string, not ${shown(bag.url)}`)
    if (bag.client !== undefined && typeof (bag.client as { duplicate?: unknown } | null)?.duplicate !== 'function') {
      throw new TypeError('client must be a client made with createClient() or createCluster()')
    }
    if (bag.prefix !== undefined && typeof bag.prefix !== 'string') throw new TypeError(`prefix must be a string, not ${shown(bag.prefix)}`)
    if (bag.sharded !== undefined && typeof bag.sharded !== 'boolean') throw new TypeError(`sharded must be a boolean, not ${shown(bag.sharded)}`)
    count(bag, 'maxPendingBytes')
    this.#ownsPublisher = options.client === undefined
    this.#publisher = options.client ?? loadRedis().createClient({ url: options.url! })
    this.#prefix = options.prefix ?? 'watershed:'
    this.#sharded = options.sharded ?? false
    this.#maxPending = options.maxPendingBytes ?? 16 * 1024 * 1024
  }

  start(events: BrokerEvents): void {
    if (this.#events) throw new Error('a RedisBroker serves one hub')
    this.#events = events
    const subscriber = this.#publisher.duplicate()
    this.#subscriber = subscriber
    for (const client of [subscriber, this.#publisher]) {
      // Also what keeps node-redis from throwing its 'error' events.
      client.on('error', this.#onError)
      client.on('ready', this.#onReady)
    }
    subscriber.connect().catch(this.#onError)
    if (!this.#publisher.isOpen) this.#publisher.connect().catch(this.#onError)
  }

  subscribe(channel: string): Promise<void> {
    const subscriber = this.#started()
    const name = this.#prefix + channel
    const done = this.#sharded
      ? subscriber.sSubscribe(name, this.#onMessage, true)
      : subscriber.subscribe(name, this.#onMessage, true)
    return done.then(() => {})
  }

  /** Resolves once Redis has dropped the subscription. */
  async unsubscribe(channel: string): Promise<void> {
    const subscriber = this.#started()
    const name = this.#prefix + channel
    try {
      if (this.#sharded) await subscriber.sUnsubscribe(name, this.#onMessage, true)
      else await subscriber.unsubscribe(name, this.#onMessage, true)
    } catch {
      // Disconnected: node-redis has forgotten the channel and will not subscribe to it again.
    }
  }

  async publish(channel: string, payload: Buffer): Promise<boolean> {
    if (!this.#publisher.isReady || this.#pending + payload.length > this.#maxPending) return false
    this.#pending += payload.length
    const name = this.#prefix + channel
    try {
      await (this.#sharded ? this.#publisher.sPublish(name, payload) : this.#publisher.publish(name, payload))
      return true
    } catch {
      return false
    } finally {
      this.#pending -= payload.length
    }
  }

  async close(): Promise<void> {
    const subscriber = this.#subscriber
    this.#events = null
    if (subscriber) {
      subscriber.off('ready', this.#onReady)
      // Nothing it holds is worth waiting for, and a client still reconnecting would make close() wait.
      if (subscriber.isOpen) subscriber.destroy()
      subscriber.off('error', this.#onError)
    }
    this.#publisher.off('ready', this.#onReady)
    if (this.#ownsPublisher && this.#publisher.isOpen) {
      if (this.#publisher.isReady) await this.#publisher.close().catch(this.#ignore)
      else this.#publisher.destroy()
    }
    this.#publisher.off('error', this.#onError)
  }

  #started(): RedisClientLike {
    if (!this.#subscriber) throw new Error('the broker has not been started by a hub')
    return this.#subscriber
  }

  readonly #onMessage = (message: Buffer, channel: Buffer): void => {
    this.#events?.message(channel.toString('utf8').slice(this.#prefix.length), message)
  }

  readonly #onError = (error: Error): void => {
    // An error on a connection that is still ready (a refused command) is no outage.
    if (this.#publisher.isReady && this.#subscriber?.isReady) return
    this.#events?.down(error)
  }

  readonly #onReady = (): void => {
    if (this.#publisher.isReady && this.#subscriber?.isReady) this.#events?.up()
  }

  readonly #ignore = (): void => {}
}
