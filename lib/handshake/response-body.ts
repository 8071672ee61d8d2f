/**
 * The start of an HTTP response's body, for reporting a refused handshake:
 * a 401's explanation, an error page. Read with bounds, since the server
 * that refuses us decides how much it sends and how fast.
 */
import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'

/** Most bytes of a refusal's body kept. */
export const REFUSAL_BODY_LIMIT = 4 * 1024

/**
 * Reads at most `limit` bytes of `res`'s body, and resolves with them at
 * the end of the body, at the limit, when the response fails or closes, or
 * after `ms`, whichever comes first. It never rejects. What is left unread
 * is the caller's to discard, by destroying the request.
 */
export function readBodyStart(res: Readable, limit: number, ms: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let length = 0
    const onData = (chunk: Buffer) => {
      const kept = chunk.subarray(0, limit - length)
      chunks.push(kept)
      length += kept.length
      if (length >= limit) finish()
    }
    const finish = () => {
      clearTimeout(timer)
      res.off('data', onData)
      res.off('end', finish)
      res.off('error', finish)
      res.off('close', finish)
      resolve(Buffer.concat(chunks, length))
    }
    const timer = setTimeout(finish, Math.max(0, ms))
    res.on('data', onData)
    res.on('end', finish)
    res.on('error', finish)
    res.on('close', finish)
  })
}

/** The response's header fields, names in lower case, repeated fields joined with ", ". */
export function headerFields(res: IncomingMessage): Record<string, string> {
  const fields: Record<string, string> = Object.create(null)
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) fields[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return fields
}
