'use strict'
/**
 * A redis-server of our own for the examples and the hub benchmark, when no
 * REDIS_URL is given: the Debian package's binary on a free local port, in a
 * temporary directory, persisting nothing (`--save '' --appendonly no`), and
 * stopped when this process exits. Redis does not take port 0, so a free
 * port is found first; if another process takes it before redis-server
 * binds it, the next one is tried.
 */
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { mkdtempSync, rmSync } = require('node:fs')

/** Starts redis-server; resolves to its url and a stop() that also removes its directory. */
async function startRedis(label = 'watershed') {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${label}-redis-`))
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const started = await new Promise((resolve, reject) => {
      let output = ''
      child.stdout.setEncoding('utf8').on('data', (text) => {
        output += text
        if (output.includes('Ready to accept connections')) resolve(true)
      })
      child.once('error', (error) => reject(new Error(`could not run redis-server (install it, or set REDIS_URL): ${error.message}`)))
      child.once('exit', () => (output.includes('Address already in use') ? resolve(false) : reject(new Error(`redis-server exited:\n${output}`))))
    })
    if (started) {
      let stopped = false
      const stop = () => {
        if (stopped) return
        stopped = true
        child.kill('SIGTERM')
        rmSync(dir, { recursive: true, force: true })
      }
      process.once('exit', stop)
      return { url: `redis://127.0.0.1:${port}`, stop }
    }
    if (attempt === 5) throw new Error('redis-server found no free port')
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

module.exports = { startRedis }
