/**
 * The start of an HTTP response's body, for reporting a refused handshake:
 * a 401's explanation, an error page. Read with bounds, since the server
 * that refuses us decides how much it sends and how fast.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'

/** Most bytes of a refusal's body kept. */
export const REFUSAL_BODY_LIMIT = 4 * 1024

/**
 * The start of the body of a response whose head was read off `socket`
 * (lib/handshake/upgrade-exchange.ts), `rest` being what came after the
 * head: framed by Content-Length or chunked coding, or running to the
 * connection's end (RFC 9112 section 6.3). Bounded like readBodyStart().
 */
export function socketBodyStart(socket: Readable, res: { readonly headers: IncomingHttpHeaders }, rest: Buffer, limit: number, ms: number): Promise<Buffer> {
  const chunked = /(?:^|,)\s*chunked\s*$/i.test(String(res.headers['transfer-encoding'] ?? ''))
  const declared = Number(res.headers['content-length'])
  const length = !chunked && Number.isSafeInteger(declared) && declared >= 0 ? declared : Infinity
  // The raw bytes are kept to a few times the limit: chunk-size lines cannot make a 4 KiB start need more.
  const rawLimit = 4 * limit + 1024
  let raw = rest
  const body = (): { bytes: Buffer; complete: boolean } => {
    if (!chunked) {
      const bytes = raw.subarray(0, Math.min(length, limit))
      return { bytes, complete: bytes.length === limit || raw.length >= length }
    }
    const decoded = dechunked(raw)
    const bytes = decoded.bytes.subarray(0, limit)
    return { bytes, complete: decoded.last || bytes.length === limit }
  }
  if (body().complete) return Promise.resolve(body().bytes)
  return readBounded(socket, ms, (chunk) => {
    raw = Buffer.concat([raw, chunk.subarray(0, rawLimit - raw.length)])
    return raw.length >= rawLimit || body().complete
  }, () => Buffer.from(body().bytes))
}

/** The data of the complete chunks in `raw` (RFC 9112 section 7.1), and whether the last chunk came. */
function dechunked(raw: Buffer): { bytes: Buffer; last: boolean } {
  const parts: Buffer[] = []
  let pos = 0
  for (;;) {
    const lineEnd = raw.indexOf(10, pos)
    if (lineEnd === -1) break
    // chunk-size [; extensions] CRLF
    const size = parseInt(raw.toString('latin1', pos, lineEnd), 16)
    if (!Number.isSafeInteger(size) || size < 0) break
    if (size === 0) return { bytes: Buffer.concat(parts), last: true }
    const start = lineEnd + 1
    parts.push(raw.subarray(start, Math.min(start + size, raw.length)))
    if (start + size > raw.length) break
    pos = start + size
    // The CRLF after the chunk's data.
    if (raw[pos] === 13) pos++
    if (raw[pos] === 10) pos++
  }
  return { bytes: Buffer.concat(parts), last: false }
}

/**
 * Reads at most `limit` bytes of `res`'s body, and resolves with them at
 * the end of the body, at the limit, when the response fails or closes, or
 * after `ms`, whichever comes first. It never rejects. What is left unread
 * is the caller's to discard, by destroying the request.
 */
export function readBodyStart(res: Readable, limit: number, ms: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let length = 0
  return readBounded(res, ms, (chunk) => {
    const kept = chunk.subarray(0, limit - length)
    chunks.push(kept)
    length += kept.length
    return length >= limit
  }, () => Buffer.concat(chunks, length))
}

/**
 * Hands `stream`'s chunks to `take` until it says it has enough, or the
 * stream ends, fails or closes, or `ms` pass; then resolves with `result()`.
 * Never rejects, and leaves no listener behind.
 */
function readBounded(stream: Readable, ms: number, take: (chunk: Buffer) => boolean, result: () => Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      if (take(chunk)) finish()
    }
    const finish = () => {
      clearTimeout(timer)
      stream.off('data', onData)
      stream.off('end', finish)
      stream.off('error', finish)
      stream.off('close', finish)
      resolve(result())
    }
    const timer = setTimeout(finish, Math.max(0, ms))
    stream.on('data', onData)
    stream.on('end', finish)
    stream.on('error', finish)
    stream.on('close', finish)
    // A socket handed on paused (by the head's reader) flows only when told to.
    stream.resume()
  })
}

/** The response's header fields, names in lower case, repeated fields joined with ", ". */
export function headerFields(res: { readonly headers: IncomingHttpHeaders }): Record<string, string> {
  const fields: Record<string, string> = Object.create(null)
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) fields[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return fields
}
