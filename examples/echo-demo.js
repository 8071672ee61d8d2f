'use strict'
/**
 * The quick-start demo (`npm run example`): the echo server and its client in
 * one process. The server listens on 127.0.0.1 on a free port, the client
 * sends text and binary messages and reads the echoes, both ends log what
 * they see, then everything closes and the process exits 0.
 */
const { createEchoServer } = require('./echo-server')
const { runClient, OUTGOING } = require('./client')

const server = createEchoServer()
server.on('error', (error) => {
  console.error(`[demo] server error: ${error.message}`)
  process.exitCode = 1
})

server.listen(0, '127.0.0.1', async () => {
  const url = `ws://127.0.0.1:${server.address().port}`
  console.log(`[demo] echo server listening on ${url}`)
  try {
    const echoes = await runClient(url)
    if (echoes.length !== OUTGOING.length) throw new Error(`${echoes.length} of ${OUTGOING.length} echoes came back`)
    console.log(`[demo] ${echoes.length} messages went out and came back`)
  } catch (error) {
    console.error(`[demo] failed: ${error.message}`)
    process.exitCode = 1
  }
  server.close(() => console.log('[demo] server stopped listening; done'))
})
