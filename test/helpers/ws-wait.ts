/**
 * Bounded waiting and event recording for connection tests: every wait has a
 * deadline, so a missing event fails the test instead of hanging it.
 */
import type { EventEmitter } from 'node:events'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import type { Carrier } from '../../lib/connection/transport'

/** Rejects if `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

/** The arguments of the next `event`, or a rejection after `ms`. */
export function nextEvent<T extends unknown[] = unknown[]>(emitter: EventEmitter, event: string, ms = 5000): Promise<T> {
  return within(
    new Promise<T>((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args as T))),
    ms,
    `event '${event}'`,
  )
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Polls `condition` until it holds; rejects after `ms`. */
export async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not true within ${ms} ms`)
    await delay(5)
  }
}

export type WsError = Error & { code?: string; status?: number }

/** Everything one duplex reported, in order. */
export interface Recording {
  /** Event names in the order they fired ('data', 'error', 'closing', 'close', ...). */
  order: string[]
  messages: Array<string | Buffer>
  errors: WsError[]
  closing: Array<[number, string]>
  closes: Array<[number, string]>
  pings: Buffer[]
  pongs: Buffer[]
  /** Resolves with the first 'close' event's code and reason. */
  closed: Promise<[number, string]>
}

/**
 * Listens to every event of `ws`. With `read` (the default) it also consumes
 * the read side, so the stream can end and 'close' can fire.
 */
export function record(ws: WebSocketDuplex<string | Buffer, Carrier>, { read = true } = {}): Recording {
  const rec: Omit<Recording, 'closed'> = { order: [], messages: [], errors: [], closing: [], closes: [], pings: [], pongs: [] }
  if (read) {
    ws.on('data', (message: string | Buffer) => {
      rec.order.push('data')
      rec.messages.push(message)
    })
  }
  ws.on('error', (error: WsError) => {
    rec.order.push('error')
    rec.errors.push(error)
  })
  ws.on('closing', (code: number, reason: string) => {
    rec.order.push('closing')
    rec.closing.push([code, reason])
  })
  ws.on('ping', (payload: Buffer) => {
    rec.order.push('ping')
    rec.pings.push(payload)
  })
  ws.on('pong', (payload: Buffer) => {
    rec.order.push('pong')
    rec.pongs.push(payload)
  })
  ws.on('end', () => rec.order.push('end'))
  const closed = new Promise<[number, string]>((resolve) => {
    ws.on('close', (code: number, reason: string) => {
      rec.order.push('close')
      rec.closes.push([code, reason])
      resolve([code, reason])
    })
  })
  return Object.assign(rec, { closed })
}

/** Waits for the recorded duplex to emit 'close'. */
export const closedWithin = (rec: Recording, ms = 5000, what = 'close') => within(rec.closed, ms, what)
