/** The option checks of new Hub(), run before it starts its broker. */
import { count, delay, number, object, shown } from '../../protocol/option-checks'
import type { Broker } from './broker'
import type { SlowCloseCode, SlowConsumerPolicy } from './outbound-budget'

/** Options of a Hub. */
export interface HubOptions {
  /**
   * Reaches the hubs of other processes (a RedisBroker). Without one the
   * hub serves this process only.
   */
  broker?: Broker
  /**
   * Bytes a member connection may have queued for sending (its
   * bufferedAmount) before a message for it counts as one too many.
   * Default 1 MiB.
   */
  outboundBudget?: number
  /** What becomes of a connection over its budget: 'drop' the message (default) or 'close' the connection. */
  slowConsumer?: SlowConsumerPolicy
  /** The close code of the 'close' policy: 1013 (try again later, the default) or 1008 (policy violation). */
  slowCloseCode?: SlowCloseCode
  /** How long a connection closed for being slow has to finish the closing handshake before it is destroyed, in ms. Default 5000. */
  slowCloseTimeout?: number
}

const BROKER_METHODS = ['start', 'subscribe', 'unsubscribe', 'publish', 'close'] as const

/** Checks the options of new Hub(); throws a TypeError or RangeError naming the first bad one. */
export function validateHubOptions(options: HubOptions): void {
  const bag = object(options, 'options')
  const broker = bag.broker as Record<string, unknown> | undefined
  if (broker !== undefined) {
    const missing = BROKER_METHODS.find((name) => typeof broker?.[name] !== 'function')
    if (missing) throw new TypeError(`broker must have the Broker methods; it has no ${missing}()`)
  }
  count(bag, 'outboundBudget')
  const policy = bag.slowConsumer
  if (policy !== undefined && policy !== 'drop' && policy !== 'close') {
    throw new TypeError(`slowConsumer must be 'drop' or 'close', not ${shown(policy)}`)
  }
  const code = number(bag, 'slowCloseCode')
  if (code !== undefined && code !== 1008 && code !== 1013) {
    throw new RangeError(`slowCloseCode must be 1008 or 1013, not ${code}`)
  }
  delay(bag, 'slowCloseTimeout', false)
}
