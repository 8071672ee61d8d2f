/** The scenario's parameters, and a run of it against both schemes of our server. */
import type { Test } from 'tap'
import { selfSignedCertificate, type Credentials } from '../helpers/tls-certificate'
import { CLIENT_CLOSE, MULTIBYTE, OFFERED_PROTOCOLS, PING_REQUEST, SIZES, SMALL_COUNT } from './fixtures'
import { startOurServer, type OurServer, type OurServerOptions } from './our-server'
import type { ScenarioParams } from './whatwg-client'

export const scenarioParams = (base: string): ScenarioParams => ({
  base,
  sizes: SIZES,
  multibyte: MULTIBYTE,
  smallCount: SMALL_COUNT,
  offered: OFFERED_PROTOCOLS,
  clientClose: CLIENT_CLOSE,
  pingRequest: PING_REQUEST,
})

export const SCHEMES = ['ws', 'wss'] as const
export type Scheme = (typeof SCHEMES)[number]

let credentials: Credentials | null = null
/** One certificate per test process, made on first use. */
export function testCredentials(t: Test): Credentials {
  credentials ??= selfSignedCertificate((message) => t.comment(message))
  return credentials
}

/** Our server over `scheme`, closed when `t` ends. */
export async function ourServerFor(t: Test, scheme: Scheme, options: OurServerOptions = {}): Promise<OurServer> {
  const server = await startOurServer({ ...options, tls: scheme === 'wss' ? testCredentials(t) : undefined })
  t.teardown(() => server.close())
  return server
}
