/**
 * A hub's message as it travels through the broker: one byte of kind (text
 * or binary), the 16-byte id of the hub that published it (so a hub can skip
 * its own messages, which it delivered locally already), then the payload.
 *
 *   0      1                 17
 *   ┌──────┬─────────────────┬──────────────
 *   │ kind │ publisher's id  │ payload …
 *   └──────┴─────────────────┴──────────────
 *
 * Anyone who can publish to the broker can put bytes on these channels, so
 * what arrives is checked: a wrong length or kind, or a text payload that is
 * not UTF-8, is refused here and never reaches a connection.
 */
import { isUtf8 } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import { PreparedMessage } from '../../protocol/prepared-message'
import { markText } from '../../protocol/text-bytes'

const TEXT = 0x01
const BINARY = 0x02
export const ID_SIZE = 16
const HEADER = 1 + ID_SIZE

export const newHubId = (): Buffer => randomBytes(ID_SIZE)

export function wrap(message: PreparedMessage, hubId: Buffer): Buffer {
  const envelope = Buffer.allocUnsafe(HEADER + message.byteLength)
  envelope[0] = message.text ? TEXT : BINARY
  hubId.copy(envelope, 1)
  message.payload.copy(envelope, HEADER)
  return envelope
}

export type Unwrapped = { from: Buffer; message: PreparedMessage } | { error: string }

export function unwrap(envelope: Buffer): Unwrapped {
  if (envelope.length < HEADER) return { error: `an envelope of ${envelope.length} bytes is shorter than its header` }
  const kind = envelope[0]
  if (kind !== TEXT && kind !== BINARY) return { error: `unknown message kind 0x${kind.toString(16)}` }
  const payload = envelope.subarray(HEADER)
  if (kind === TEXT && !isUtf8(payload)) return { error: 'a text message that is not valid UTF-8' }
  const message = new PreparedMessage(kind === TEXT ? markText(payload) : payload)
  return { from: envelope.subarray(1, HEADER), message }
}
