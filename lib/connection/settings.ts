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

export function connectionSettings(options: WebSocketDuplexOptions): ConnectionSettings {
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
  const known = shared.get(key)
  if (known !== undefined) return known
  if (shared.size < MAX_SHARED) shared.set(key, Object.freeze(settings))
  return settings
}
