'use strict'
/**
 * The original API's two examples, as its documentation gave them: a server
 * that logs the text it receives and a client that says 'Hi there!'. Only the
 * import differs, and both use one port (PORT=..., default 8080) so that the
 * client talks to the server.
 *
 *   node examples/original-api.js
 *
 * The examples themselves never close their connection; the part at the end
 * does, so that the process exits once the greeting has arrived.
 */
const http = require('node:http')
const { Watershed } = require('watershed')

const PORT = Number(process.env.PORT ?? 8080)

// ---- The server example ----
const shed = new Watershed();
const srv = http.createServer();
srv.listen(PORT);
srv.on('upgrade', (req, socket, head) => {
  let wsc;
  try {
    wsc = shed.accept(req, socket, head);
  } catch (ex) {
    console.error('error: ' + ex.message);
    return socket.end();
  }
  wsc.on('text', (text) => console.log('received text: ' + text));
  wsc.on('end', () => console.log('end!'));
});

// ---- The client example (its own Watershed, as in the documentation) ----
{
const shed = new Watershed();
const wskey = shed.generateKey();
const req = http.request({
  port: PORT, hostname: '127.0.0.1',
  headers: {
    connection: 'upgrade', upgrade: 'websocket',
    'Sec-WebSocket-Key': wskey, 'Sec-WebSocket-Version': '13',
  },
});
req.end();
req.on('upgrade', (res, socket, head) => {
  const wsc = shed.connect(res, socket, head, wskey);
  wsc.send('Hi there!');
  wsc.on('end', () => console.log('end!'));
});
}

// ---- Not part of the examples: end the exchange and exit ----
// The library publishes every connection's events on diagnostics channels
// (what the original did with DTrace probes). Watching them, the server's end
// of the connection is closed once the greeting has arrived, and the server
// stops when both ends have closed.
const diagnostics = require('node:diagnostics_channel')
diagnostics.subscribe('watershed:received', ({ connection, data }) => {
  if (connection.role === 'server' && data === 'Hi there!') setImmediate(() => connection.close(1000, 'goodbye'))
})
let closed = 0
diagnostics.subscribe('watershed:close', () => {
  if (++closed === 2) srv.close()
})
// Without a server (the port is taken, say) the client would wait in vain.
srv.on('error', (error) => {
  console.error(`server: ${error.message}`)
  process.exit(1)
})
