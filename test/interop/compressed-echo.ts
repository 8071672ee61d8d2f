/**
 * The client side of the compression interop check, written once against
 * the WHATWG WebSocket API so that the same code runs in Chromium, in Node's
 * own WebSocket (a child process) and in undici's. Self-contained: the
 * browser and the child receive it as source text.
 *
 * It opens one WebSocket, sends compressible text and binary messages of the
 * given sizes one at a time, waits for each echo and compares it with what
 * it sent, then closes with 1000.
 */

export interface CompressedEchoReport {
  extensions: string
  /** One line per message: kind, size, and whether the echo was equal. */
  echoes: string[]
  /** Payload bytes sent (and, echoed, received). */
  payload: number
  close: { code: number; wasClean: boolean }
  errors: string[]
}

/** `Socket` is the WebSocket class to use; left out, the global one (a browser's, Node's). */
export function compressedEcho(url: string, sizes: readonly number[], Socket?: unknown): Promise<CompressedEchoReport> {
  // JSON-like text: compressible, as real traffic is; binary: the same bytes.
  const text = (size: number) => {
    let out = ''
    for (let i = 0; out.length < size; i++) out += `{"id":${i},"name":"item ${i % 97}","tags":["a","b"]},`
    return out.slice(0, size)
  }
  const same = (a: unknown, b: unknown) => {
    if (typeof a === 'string' || typeof b === 'string') return a === b
    const x = new Uint8Array(a as ArrayBuffer)
    const y = b as Uint8Array
    if (x.length !== y.length) return false
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
    return true
  }
  const messages: Array<string | Uint8Array> = []
  for (const size of sizes) {
    messages.push(text(size))
    messages.push(new TextEncoder().encode(text(size)))
  }
  const errors: string[] = []
  return new Promise((resolve) => {
    const ws = new ((Socket ?? (globalThis as any).WebSocket) as any)(url)
    ws.binaryType = 'arraybuffer'
    const echoes: string[] = []
    let payload = 0
    let i = 0
    const sendNext = () => {
      const message = messages[i]
      payload += typeof message === 'string' ? message.length : message.byteLength
      ws.send(message)
    }
    ws.onopen = () => sendNext()
    ws.onmessage = (event: { data: unknown }) => {
      const sent = messages[i]
      const kind = typeof sent === 'string' ? 'text' : 'binary'
      const size = typeof sent === 'string' ? sent.length : sent.byteLength
      echoes.push(`${kind} ${size} ${same(event.data, sent) ? 'equal' : 'DIFFERENT'}`)
      if (++i < messages.length) sendNext()
      else ws.close(1000)
    }
    ws.onerror = (event: { message?: string }) => errors.push(`error: ${event.message ?? 'unknown'}`)
    ws.onclose = (event: { code: number; wasClean: boolean }) =>
      resolve({ extensions: ws.extensions, echoes, payload, close: { code: event.code, wasClean: event.wasClean }, errors })
  })
}
