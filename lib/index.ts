/**
 * watershed: a streams-first RFC 6455 WebSocket library.
 *
 * socket → FrameDecoder → MessageAssembler → WebSocketDuplex (read side)
 * WebSocketDuplex (write side) → FrameEncoder → socket
 */
export { Watershed, WatershedConnection, CLOSE_CODE_NAMES, type WatershedConnectionEvents } from './watershed'
export { WebSocketDuplex, type WebSocketDuplexOptions, type WebSocketMessage, type WebSocketDuplexEvents } from './websocket-duplex'
export { FrameDecoder, type FrameDecoderOptions } from './frame-decoder'
export { MessageAssembler, type MessageAssemblerOptions, type AssembledItem } from './message-assembler'
export { FrameEncoder, type FrameEncoderOptions, type Outbound } from './frame-encoder'
export { ControlFrame, type ControlType } from './control-frame'
export { type HeartbeatOptions, type HeartbeatSetting } from './heartbeat'
export { accept, rejectUpgrade, validateUpgradeRequest, type AcceptOptions, type ProtocolSelector } from './server-handshake'
export { connect, clientFromUpgrade, type ConnectOptions, type ClientUpgradeOptions } from './client-handshake'
export { generateKey, acceptKey } from './handshake-key'
export { Opcode, type FrameSlice, type OutboundFrame, type Role } from './frame'
export { isValidCloseCode, encodeClosePayload, parseClosePayload } from './close'
export { applyMask } from './mask'
export { Utf8Validator } from './utf8'
export { asText, isText } from './text-bytes'
export { CloseStatus, WebSocketError, HandshakeError, type WebSocketErrorCode } from './errors'
export * as limits from './limits'
export { channels } from './diagnostics'
export {
  WebSocketServer,
  type WebSocketServerOptions,
  type WebSocketServerEvents,
  type VerifyUpgrade,
  type VerifyResult,
  type UpgradeRefusal,
  type PathFilter,
} from './websocket-server'
