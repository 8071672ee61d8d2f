/**
 * What a hub needs from a message broker to reach the other processes: one
 * subscription per channel (a hub subscribes to a topic while it has members
 * for it), publishing, and word of the connection going down and coming back.
 *
 * A broker carries opaque bytes; what they mean (the message, its type, the
 * process it came from) is the hub's business (envelope.ts). Delivery is at
 * most once: a message published while a subscriber is disconnected is not
 * kept for it. `RedisBroker` is the one this library ships; anything with
 * these methods will do.
 */

/** How a broker reports to the hub that started it. */
export interface BrokerEvents {
  /** A message published to a subscribed channel, by any process (this one included). */
  message(channel: string, payload: Buffer): void
  /** The connection to the broker is lost (or could not be made): nothing arrives until up(). */
  down(error: Error): void
  /** Connected, and every subscription is in place again. */
  up(): void
}

/** What carries a Hub's messages between processes: RedisBroker, or one of your own. */
export interface Broker {
  /** Starts connecting and reports through `events` until close(). Called once, by the hub. */
  start(events: BrokerEvents): void
  /** Resolves once the subscription is in place (after a reconnect, if the broker is down now). */
  subscribe(channel: string): Promise<void>
  /** Resolves once the subscription is gone. */
  unsubscribe(channel: string): Promise<void>
  /** Resolves true once the broker took the message, false when it could not (not connected, too much pending). Never rejects. */
  publish(channel: string, payload: Buffer): Promise<boolean>
  /** Unsubscribes, disconnects and lets go of everything it opened. */
  close(): Promise<void>
}
