/**
 * The original API used exactly as its documentation shows it: an http
 * server whose 'upgrade' handler calls `shed.accept()` inside try/catch and
 * ends the socket on an error, and a client that sends the upgrade request
 * by hand and calls `shed.connect()` from the request's 'upgrade' event.
 * Every event of each connection is logged in order, together with the
 * socket's own 'close' (listened to before the library's listeners, as an
 * application that set it up first would), so tests can tell which came first.
 */
import http, { type IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Test } from 'tap'
import { Watershed, type WatershedConnection, type WatershedOptions } from '../../lib/compat/watershed'
import { nextEvent, until } from './ws-wait'

type WsError = Error & { code?: string; status?: number }

/** One connection's events in order ('text', 'end', 'socket close', ...) and their arguments. */
export interface EventLog {
  order: string[]
  texts: string[]
  binaries: Buffer[]
  pongs: Buffer[]
  errors: WsError[]
  ends: unknown[][]
  socketClosed: Promise<void>
}

/** Logs every event of `wsc`, and the socket's 'close' (registered first by the caller's order). */
export function logEvents(wsc: WatershedConnection, socket: Duplex, log: EventLog = newLog(socket)): EventLog {
  wsc.on('text', (text: string) => {
    log.order.push('text')
    log.texts.push(text)
  })
  wsc.on('binary', (data: Buffer) => {
    log.order.push('binary')
    log.binaries.push(data)
  })
  wsc.on('ping', () => log.order.push('ping'))
  wsc.on('pong', (data: Buffer) => {
    log.order.push('pong')
    log.pongs.push(data)
  })
  wsc.on('connectionReset', () => log.order.push('connectionReset'))
  wsc.on('error', (error: WsError) => {
    log.order.push('error')
    log.errors.push(error)
  })
  wsc.on('end', (...args: unknown[]) => {
    log.order.push('end')
    log.ends.push(args)
  })
  return log
}

/** A log that has already started listening for the socket's 'close'. */
export function newLog(socket: Duplex): EventLog {
  const order: string[] = []
  const socketClosed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      order.push('socket close')
      resolve()
    }),
  )
  return { order, texts: [], binaries: [], pongs: [], errors: [], ends: [], socketClosed }
}

/** Resolves once the socket has closed and 'end' has had every chance to come. */
export async function settled(log: EventLog, ms = 5000): Promise<void> {
  await until(() => log.order.includes('socket close'), ms, "the socket's 'close'")
  await new Promise((resolve) => setTimeout(resolve, 20))
}

export interface DocumentedServer {
  port: number
  shed: Watershed
  /** The connections accepted so far, each with its log. */
  connections: Array<{ wsc: WatershedConnection; socket: Socket; log: EventLog }>
  /** What the catch block logged (the documented `console.error('error: ' + ex.message)`). */
  caught: string[]
  next(): Promise<{ wsc: WatershedConnection; socket: Socket; log: EventLog }>
}

export type AfterCatch = 'end' | 'destroy' | 'nothing'

/**
 * The server example from the documentation. `afterCatch` is what the catch
 * block does with the socket (the documentation ends it); `onConnection`
 * adds handlers, as the example's "etc." does.
 */
export async function documentedServer(
  t: Test,
  {
    options,
    protocols,
    afterCatch = 'end',
    onConnection,
  }: {
    options?: WatershedOptions
    protocols?: string[]
    afterCatch?: AfterCatch
    onConnection?: (wsc: WatershedConnection) => void
  } = {},
): Promise<DocumentedServer> {
  const shed = options ? new Watershed(options) : new Watershed()
  // Plain requests get an empty page: a browser peer loads it to open its WebSocket from this origin.
  const srv = http.createServer((_req, res) => res.end('<!doctype html>'))
  const connections: DocumentedServer['connections'] = []
  const caught: string[] = []
  let taken = 0
  const waiting: Array<(c: DocumentedServer['connections'][number]) => void> = []
  srv.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const log = newLog(socket)
    let wsc: WatershedConnection
    try {
      wsc = shed.accept(req, socket, head, false, protocols)
    } catch (ex) {
      caught.push('error: ' + (ex as Error).message)
      if (afterCatch === 'end') return socket.end()
      if (afterCatch === 'destroy') return socket.destroy()
      return
    }
    logEvents(wsc, socket, log)
    onConnection?.(wsc)
    const connection = { wsc, socket, log }
    connections.push(connection)
    waiting.shift()?.(connection)
  })
  srv.listen(0, '127.0.0.1')
  await nextEvent(srv, 'listening')
  t.teardown(() => {
    for (const { socket } of connections) socket.destroy()
    // A browser keeps its page's HTTP connection open: close it too.
    srv.closeAllConnections()
    return new Promise<void>((resolve) => srv.close(() => resolve()))
  })
  return {
    port: (srv.address() as AddressInfo).port,
    shed,
    connections,
    caught,
    next: () => {
      const ready = connections[taken]
      if (ready) {
        taken++
        return Promise.resolve(ready)
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no connection accepted within 5000 ms')), 5000)
        waiting.push((c) => {
          clearTimeout(timer)
          taken++
          resolve(c)
        })
      })
    },
  }
}

/**
 * The client example from the documentation, against 127.0.0.1:`port`.
 * Resolves with the connection and its log (the socket's 'close' is listened
 * to before `shed.connect()` is called).
 */
export async function documentedClient(
  t: Test,
  port: number,
  { options, headers = {} }: { options?: WatershedOptions; headers?: Record<string, string> } = {},
): Promise<{ wsc: WatershedConnection; socket: Socket; log: EventLog }> {
  const shed = options ? new Watershed(options) : new Watershed()
  const wskey = shed.generateKey()
  const req = http.request({
    port,
    hostname: '127.0.0.1',
    headers: {
      connection: 'upgrade',
      upgrade: 'websocket',
      'Sec-WebSocket-Key': wskey,
      'Sec-WebSocket-Version': '13',
      ...headers,
    },
  })
  req.end()
  const [res, socket, head] = await nextEvent<[IncomingMessage, Socket, Buffer]>(req, 'upgrade')
  t.teardown(() => socket.destroy())
  const log = newLog(socket)
  const wsc = shed.connect(res, socket, head, wskey)
  logEvents(wsc, socket, log)
  return { wsc, socket, log }
}
