/**
 * The client side of the interop scenario, written once against the WHATWG
 * WebSocket API so that the same code runs in Chromium, in Node's (undici's)
 * WebSocket and in the `ws` client. It must stay self-contained: the browser
 * receives it as source text, so it may use nothing from outside its body.
 */

/** The subset of the WHATWG WebSocket that the scenario uses. */
export interface WhatwgSocket {
  binaryType: string
  readonly protocol: string
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null
  onerror: ((event: unknown) => void) | null
  send(data: string | ArrayBuffer | Uint8Array): void
  close(code?: number, reason?: string): void
}

export type SocketFactory = (url: string, protocols?: string[]) => WhatwgSocket

export interface CloseReport {
  code: number
  reason: string
  wasClean: boolean
}

export interface ClientReport {
  protocol: string
  sized: Array<{ kind: string; size: number; hash: string }>
  multibyte: string[]
  small: { count: number; inOrder: boolean }
  pong: string
  clientClose: CloseReport
  serverClose: { greeting: string } & CloseReport
  burst: { count: number; inOrder: boolean } & CloseReport
  errors: string[]
}

export interface ScenarioParams {
  /** ws:// or wss:// origin with a trailing slash. */
  base: string
  sizes: readonly number[]
  multibyte: readonly string[]
  smallCount: number
  offered: string[]
  clientClose: { code: number; reason: string }
  pingRequest: string
}

/** Runs the whole scenario against the server at params.base; never rejects, errors are reported. */
export async function runWhatwgClient(params: ScenarioParams, factory?: SocketFactory): Promise<ClientReport> {
  const make: SocketFactory =
    factory ?? ((url, protocols) => new (globalThis as any).WebSocket(url, protocols) as WhatwgSocket)
  const errors: string[] = []

  const hex = async (data: ArrayBuffer | Uint8Array) => {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data as ArrayBuffer))
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
  }
  const text = (size: number) => {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
    return alphabet.repeat(Math.ceil(size / alphabet.length)).slice(0, size)
  }
  const bytes = (size: number) => {
    const out = new Uint8Array(size)
    for (let i = 0; i < size; i++) out[i] = (i * 31 + 7) & 255
    return out
  }

  /** Opens a socket whose messages queue up for next(), and whose close is a promise. */
  const open = (path: string, protocols?: string[]) => {
    const ws = make(params.base + path, protocols)
    ws.binaryType = 'arraybuffer'
    const inbox: unknown[] = []
    let waiting: ((data: unknown) => void) | null = null
    let resolveClose!: (report: CloseReport) => void
    const closed = new Promise<CloseReport>((resolve) => (resolveClose = resolve))
    ws.onmessage = (event) => {
      if (waiting) {
        const deliver = waiting
        waiting = null
        deliver(event.data)
      } else inbox.push(event.data)
    }
    ws.onerror = () => errors.push(`error event on ${path}`)
    ws.onclose = (event) => {
      resolveClose({ code: event.code, reason: event.reason, wasClean: event.wasClean })
      if (waiting) waiting(undefined)
    }
    const next = () =>
      new Promise<unknown>((resolve) => {
        if (inbox.length > 0) resolve(inbox.shift())
        else waiting = resolve
      })
    const opened = new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve()
      closed.then((report) => reject(new Error(`${path} closed before opening: ${report.code}`)))
    })
    return { ws, next, inbox, closed, opened }
  }

  const report: ClientReport = {
    protocol: '',
    sized: [],
    multibyte: [],
    small: { count: 0, inOrder: false },
    pong: '',
    clientClose: { code: 0, reason: '', wasClean: false },
    serverClose: { greeting: '', code: 0, reason: '', wasClean: false },
    burst: { count: 0, inOrder: false, code: 0, reason: '', wasClean: false },
    errors,
  }

  try {
    const echo = open('echo', params.offered)
    await echo.opened
    report.protocol = echo.ws.protocol
    for (const size of params.sizes) {
      echo.ws.send(text(size))
      const textEcho = await echo.next()
      report.sized.push({
        kind: typeof textEcho === 'string' ? 'text' : 'other',
        size,
        hash: await hex(new TextEncoder().encode(String(textEcho))),
      })
      echo.ws.send(bytes(size))
      const binaryEcho = await echo.next()
      report.sized.push({
        kind: binaryEcho instanceof ArrayBuffer ? 'binary' : 'other',
        size,
        hash: binaryEcho instanceof ArrayBuffer ? await hex(binaryEcho) : '',
      })
    }
    for (const message of params.multibyte) {
      echo.ws.send(message)
      report.multibyte.push(String(await echo.next()))
    }
    for (let i = 0; i < params.smallCount; i++) echo.ws.send(`n:${i}`)
    let inOrder = true
    for (let i = 0; i < params.smallCount; i++) {
      const message = await echo.next()
      if (message !== `n:${i}`) inOrder = false
      report.small.count++
    }
    report.small.inOrder = inOrder
    echo.ws.send(params.pingRequest)
    report.pong = String(await echo.next())
    echo.ws.close(params.clientClose.code, params.clientClose.reason)
    report.clientClose = await echo.closed

    const greeter = open('server-closes')
    await greeter.opened
    report.serverClose = { greeting: String(await greeter.next()), ...(await greeter.closed) }

    const burst = open('burst')
    await burst.opened
    const burstClosed = await burst.closed
    report.burst = {
      count: burst.inbox.length,
      inOrder: burst.inbox.every((message, i) => message === `b:${i}`),
      ...burstClosed,
    }
  } catch (error) {
    errors.push(String(error))
  }
  return report
}
