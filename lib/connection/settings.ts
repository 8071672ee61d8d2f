/**
 * What a connection keeps of its options: the settings its stages are built
 * from (when they are built, see inbound.ts and outbound.ts) and its own
 * timing. Connections made with the same options share one frozen settings
 * object, so that a server's many connections do not each carry a copy;
 * settings with compression are per connection (they carry what was
 * negotiated).
 */
import { DEFAULT_CLOSE_TIMEOUT } from '../protocol/limits'
import type { InboundSettings } from './inbound'
import type { OutboundSettings } from './outbound'
import type { WebSocketDuplexOptions } from './duplex-types'

export interface ConnectionSettings extends InboundSettings, OutboundSettings {
  readonly closeTimeout: number
  readonly autoPong: boolean
}

/** Distinct settings seen so far; past this many, new ones are not kept (a process rarely has more than a few). */
const MAX_SHARED = 256
const shared = new Map<string, ConnectionSettings>()
/**
 * The shared settings handed out last. A server's connections come one after
 * another with the same options: they find it by comparing the values, with
 * no key to build (a key is a JSON string: about 2 µs on every handshake).
 */
let last: ConnectionSettings | null = null

export function connectionSettings(options: WebSocketDuplexOptions): ConnectionSettings {
  if (options.compression === undefined && last !== null && sameSettings(last, options)) return last
  const settings: ConnectionSettings = {
    role: options.role ?? 'server',
    maxMessageSize: options.maxMessageSize,
    maxFrameSize: options.maxFrameSize,
    maxFragments: options.maxFragments,
    textAsBytes: options.textAsBytes,
    // A copy: the caller's object may change later, the settings may not.
    streamMessages: typeof options.streamMessages === 'object' ? { threshold: options.streamMessages.threshold } : options.streamMessages,
    maxStreamedMessageSize: options.maxStreamedMessageSize,
    fragmentSize: options.fragmentSize,
    compression: options.compression,
    closeTimeout: options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT,
    autoPong: options.autoPong ?? true,
  }
  if (settings.compression !== undefined) return settings
  // Every value is a validated number, boolean, role or { threshold }: Infinity is the only one JSON changes (to null, which no option takes).
  const key = JSON.stringify(settings)
  let known = shared.get(key)
  if (known === undefined) {
    known = Object.freeze(settings)
    if (shared.size < MAX_SHARED) shared.set(key, known)
  }
  last = known
  return known
}

/** Whether `options` make exactly `settings` (which have no compression): every field above is compared. */
function sameSettings(settings: ConnectionSettings, options: WebSocketDuplexOptions): boolean {
  const streaming = options.streamMessages
  const kept = settings.streamMessages
  return (
    settings.role === (options.role ?? 'server') &&
    settings.maxMessageSize === options.maxMessageSize &&
    settings.maxFrameSize === options.maxFrameSize &&
    settings.maxFragments === options.maxFragments &&
    settings.textAsBytes === options.textAsBytes &&
    (typeof streaming === 'object'
      ? typeof kept === 'object' && kept.threshold === streaming.threshold
      : kept === streaming) &&
    settings.maxStreamedMessageSize === options.maxStreamedMessageSize &&
    settings.fragmentSize === options.fragmentSize &&
    settings.closeTimeout === (options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT) &&
    settings.autoPong === (options.autoPong ?? true)
  )
}
