/**
 * Observability through node:diagnostics_channel (what the original library
 * did with DTrace probes). Publishing costs nothing while no one subscribes.
 *
 *   watershed:open      { connection }                       a duplex was set up
 *   watershed:close     { connection, code, reason, error }  a duplex has ended
 *   watershed:received  { connection, data }                 a message or control frame arrived
 *   watershed:sent      { connection, data }                 a message was handed to the encoder
 */
import diagnostics from 'node:diagnostics_channel'

/** The diagnostics_channel channels the library publishes on (open, close, sent, received), for tracing without listeners on each connection. */
export const channels = {
  open: diagnostics.channel('watershed:open'),
  close: diagnostics.channel('watershed:close'),
  received: diagnostics.channel('watershed:received'),
  sent: diagnostics.channel('watershed:sent'),
} as const
