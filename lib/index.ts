/**
 * watershed: a streams-first RFC 6455 WebSocket library.
 *
 * socket → FrameDecoder → [Inflate] → MessageAssembler → WebSocketDuplex (read side)
 * WebSocketDuplex (write side) → [Deflate] → FrameEncoder → socket
 * (the bracketed stages only when permessage-deflate was negotiated)
 */
export { Watershed, WatershedConnection, CLOSE_CODE_NAMES, type WatershedConnectionEvents, type WatershedOptions } from './compat/watershed'
export { WebSocketDuplex } from './connection/websocket-duplex'
export {
  type WebSocketDuplexOptions,
  type WebSocketMessage,
  type InboundMessage,
  type StreamMode,
  type WebSocketDuplexEvents,
} from './connection/duplex-types'
export { type MessageSource } from './connection/message-source'
export { type WriteOptions } from './connection/write-options'
export { FrameDecoder, type FrameDecoderOptions } from './stages/frame-decoder'
export { MessageAssembler, type MessageAssemblerOptions, type AssembledItem } from './stages/message-assembler'
export { MessageStream, isMessageStream } from './stages/message-stream'
export { FrameEncoder, type FrameEncoderOptions, type Outbound } from './stages/frame-encoder'
export { Inflate, type InflateOptions } from './stages/inflate'
export { Deflate, type DeflateOptions, type DeflateMessage } from './stages/deflate'
export { ZlibQueue, setZlibConcurrency, zlibConcurrency } from './stages/zlib-queue'
export { IdleSweeper, type IdleSweeperOptions } from './stages/idle-contexts'
export {
  type PerMessageDeflate,
  type PerMessageDeflateOptions,
  type PerMessageDeflateParams,
} from './protocol/permessage-deflate'
export { parseExtensions, acceptDeflateOffer, deflateOffer, acceptDeflateResponse, type ExtensionOffer, type DeflateAcceptance } from './handshake/extensions'
export { ControlFrame, type ControlType } from './protocol/control-frame'
export { type HeartbeatOptions, type HeartbeatSetting } from './connection/heartbeat'
export { accept, rejectUpgrade, validateUpgradeRequest, type AcceptOptions, type ProtocolSelector, type UpgradeRequest, type WebSocketRequest } from './handshake/server'
export { acceptHttp2, rejectHttp2, validateExtendedConnect } from './handshake/h2-server'
export { type Carrier } from './connection/transport'
export { connect, clientFromUpgrade, type ConnectOptions, type ClientUpgradeOptions, type OverHttp2 } from './handshake/client'
export { ReadyState } from './connection/ready-state'
export { type HandshakeResponse } from './connection/handshake-response'
export { generateKey, acceptKey } from './handshake/key'
export { Opcode, type FrameSlice, type OutboundFrame, type Role } from './protocol/frame'
export { isValidCloseCode, encodeClosePayload, parseClosePayload, type ClosePayload } from './protocol/close'
export { applyMask } from './protocol/mask'
export { Utf8Validator } from './protocol/utf8'
export { asText, isText } from './protocol/text-bytes'
export { CloseStatus, WebSocketError, HandshakeError, type WebSocketErrorCode } from './protocol/errors'
/** The default limits and timeouts, as numbers. */
export * as limits from './protocol/limits'
export { channels } from './connection/diagnostics'
export {
  WebSocketServer,
  type WebSocketServerOptions,
  type WebSocketServerEvents,
  type AnyServer,
  type AnyHttp2Server,
  type CarrierOf,
  type RequestOf,
  type VerifyUpgrade,
  type VerifyResult,
  type UpgradeRefusal,
  type PathFilter,
} from './server/websocket-server'
export {
  Hub,
  RedisBroker,
  type HubOptions,
  type HubStats,
  type HubEvents,
  type BrokerLoss,
  type SlowConsumerPolicy,
  type SlowCloseCode,
  type Broker,
  type BrokerEvents,
  type RedisBrokerOptions,
  type RedisClientLike,
} from './server/hub'
export { PreparedMessage } from './protocol/prepared-message'
