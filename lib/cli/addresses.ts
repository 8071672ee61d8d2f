/** The addresses, sizes and durations the command line takes, each checked with a message that names the option. */
import { usageError } from './exit-codes'

export interface Address {
  host: string
  port: number
}

/** Where a server listens when only a port is given: this machine alone. */
export const DEFAULT_LISTEN_HOST = '127.0.0.1'

function port(text: string, option: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw usageError(`${option}: ${JSON.stringify(text)} is not a port (0-65535)`)
  return Number(text)
}

/** `PORT`, `HOST:PORT` or `[IPv6]:PORT`; the host defaults to `defaultHost` (required when it is undefined). */
export function parseAddress(text: string, option: string, defaultHost?: string): Address {
  const colon = text.lastIndexOf(':')
  if (colon === -1) {
    if (defaultHost === undefined) throw usageError(`${option}: expected HOST:PORT, not ${JSON.stringify(text)}`)
    return { host: defaultHost, port: port(text, option) }
  }
  let host = text.slice(0, colon)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  if (host === '' || host.includes('[') || host.includes(']')) throw usageError(`${option}: no host in ${JSON.stringify(text)}`)
  return { host, port: port(text.slice(colon + 1), option) }
}

/** A URL host part: IPv6 addresses in brackets. */
export const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host)

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }

/** A byte count: digits with an optional K, M or G suffix (powers of 1024). */
export function parseSize(text: string, option: string): number {
  const match = /^(\d+)([KMG]?)(i?B)?$/i.exec(text)
  const value = match ? Number(match[1]) * UNITS[match[2].toUpperCase()] : NaN
  if (!(value > 0) || !Number.isSafeInteger(value)) {
    throw usageError(`${option}: expected a positive number of bytes such as 65536, 64K or 1M, not ${JSON.stringify(text)}`)
  }
  return value
}

/** Longest delay a Node timer takes (about 24.8 days). */
const MAX_DELAY_MS = 2 ** 31 - 1

/** Seconds (decimals allowed) as milliseconds. */
export function parseSeconds(text: string, option: string): number {
  const seconds = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN
  const ms = Math.round(seconds * 1000)
  if (!(ms > 0 && ms <= MAX_DELAY_MS)) throw usageError(`${option}: expected a positive number of seconds such as 30 or 0.5, not ${JSON.stringify(text)}`)
  return ms
}

/** A ws:// or wss:// URL (http:// and https:// are taken as their WebSocket counterparts). */
export function parseUrl(text: string, option: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw usageError(`${option}: ${JSON.stringify(text)} is not a URL (expected ws://HOST[:PORT]/PATH or wss://...)`)
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) {
    throw usageError(`${option}: unsupported scheme ${url.protocol} in ${JSON.stringify(text)}: expected ws: or wss:`)
  }
  return url
}
