/** The text of `watershed --help`. */
export const HELP = `Usage:
  watershed [options] URL                         a client: stdin to messages, messages to stdout
  watershed --listen [HOST:]PORT [options]        a server: stdin to every client, their messages to stdout
  watershed --listen [HOST:]PORT --exec CMD ARGS  a server running CMD for each connection
  watershed --proxy [HOST:]PORT TARGET_URL        a WebSocket proxy (frames pass through untouched)
  watershed --proxy [HOST:]PORT --to-tcp HOST:PORT
                                                  a WebSocket front for a TCP service

Messages (default: each line is a text message; each message received is written with a newline):
  -b, --binary               send binary messages: stdin as it comes, one message per chunk;
                             received messages are written as raw bytes, with nothing between them
  -0, --null                 records end with NUL instead of a newline (both ways)
      --length-prefixed      records are a 4-byte big-endian length, then the bytes (both ways)
      --whole                all of the input is one message, sent as it is read
  -n, --no-close             the input's end leaves the connection open
      --close-code CODE      the close code sent when the input ends (default 1000)
      --close-reason TEXT    the close reason sent with it
      --max-message-size N   largest message received or sent, in bytes (K, M, G: 1024s; default 100M)
      --compress             permessage-deflate: offer it (client) or accept it (server)
      --ping-interval SECS   ping every SECS seconds; drop the connection if nothing comes back
      --ping-timeout SECS    how long to wait after a ping (default: the interval)
      --close-timeout SECS   how long to wait for the peer's part of the closing handshake (default 5)

Handshake:
  -H, --header 'NAME: VALUE' an extra request header (client) or 101 response header (server)
      --protocol NAME        a subprotocol to offer (client) or to accept (server); repeat or use commas
      --origin ORIGIN        the Origin to send (client), or the only one accepted (server)
      --path PATH            the server's (or proxy's) only path; other paths are answered 404
      --ca FILE              trust the certificates in FILE (PEM) for wss:// URLs
  -k, --insecure             do not check the server's certificate
      --cert FILE, --key FILE
                             listen with TLS (wss://), or present a client certificate

Servers:
      --once                 take one connection, then stop listening; exit when it closes
      --exec CMD [ARGS...]   run CMD for each connection (must come last): messages go to its stdin,
                             its stdout lines become messages, its exit closes the connection
                             (1000 for status 0, 1011 otherwise); it also works with a URL
      --kill-after SECS      after the peer's close, CMD's stdin ends and it has SECS to exit before
                             SIGTERM, then SECS more before SIGKILL (default 2)

Other:
  -v, --verbose              show connections, pings, pongs and closes on stderr
  -h, --help                 this text
      --version              the version

Exit status:
  0    the connection closed cleanly
  1    it closed with an error: the peer's close code, a protocol error, input that cannot be sent
  2    the command line is wrong
  3    no connection: the address was unreachable or could not be listened on, TLS failed, timeout
  4    the server refused the handshake (an HTTP answer other than 101, or a wrong 101)
  5    the connection was lost without a closing handshake (1006)
  130  interrupted by Ctrl-C (SIGINT) after closing with 1001; a second Ctrl-C exits at once
  143  stopped by SIGTERM (closed as for SIGINT)

Examples:
  watershed ws://127.0.0.1:8080/chat                  chat from a terminal
  watershed --listen 8080                             the other end of that chat
  watershed --listen 8080 --exec sort                 each connection's lines come back sorted
  watershed --listen 0.0.0.0:8080 --exec sh -c 'wc -l'
  watershed ws://127.0.0.1:8080 > messages.txt        received messages into a file, one per line
  printf 'b\\na\\n' | watershed ws://127.0.0.1:8080     send two lines, print the answers, close
  watershed -b --whole wss://example.net/upload < photo.jpg
  watershed --proxy 9000 ws://127.0.0.1:8080          a proxy in front of a WebSocket server
  watershed --proxy 9000 --to-tcp 127.0.0.1:6379      a WebSocket front for a TCP service
`
