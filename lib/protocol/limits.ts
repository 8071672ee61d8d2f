/** Defaults for the limits every stage enforces; each can be set per connection. */

/** Largest message (and frame) accepted: 100 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 100 * 1024 * 1024

/**
 * Most fragments in one message. Memory follows bytes, not fragments (small
 * fragments are coalesced), so this bounds work, not memory; it stays well
 * above the 65,537 fragments that conformance suites send.
 */
export const DEFAULT_MAX_FRAGMENTS = 1 << 20

/** How long to wait for the peer's side of the closing handshake. */
export const DEFAULT_CLOSE_TIMEOUT = 5_000

/** How long the opening handshake may take on the client side. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000

/**
 * The client's bound on the 101 response head, in bytes (Node's own default
 * for HTTP heads): a server whose header never ends fails here.
 */
export const DEFAULT_MAX_RESPONSE_HEADER_SIZE = 16 * 1024

/** Most header fields the client accepts in the 101 response. */
export const DEFAULT_MAX_RESPONSE_HEADERS = 128

/** Most redirects connect() follows when told to follow them. */
export const DEFAULT_MAX_REDIRECTS = 10

/** The longest delay setTimeout honours, in ms; a longer one fires after 1 ms instead. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1
