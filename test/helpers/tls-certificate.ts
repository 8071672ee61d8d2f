/**
 * A fresh self-signed certificate for 127.0.0.1, made with openssl at test
 * time. Under CI a missing openssl is a failure; elsewhere the fixed
 * fallback pair is used and the test says so.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Credentials {
  key: string
  cert: string
}

/** A P-256 key and self-signed certificate for 127.0.0.1 (valid until 2126). */
const FALLBACK_CREDENTIALS: Credentials = {
  key: [
    '-----BEGIN PRIVATE KEY-----',
    'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXB5nP1MsORT6DiqB',
    'VYUkD7zB0JIXoOtEz4Mdo5a6mJihRANCAATCuu1gwi6/Ki5Y1SKtw2M01HMo4fqA',
    'Us2dlAOoikktYLP9TGIcsUBPhhSMZnYwOcqDKCbkmCdKc/4fC1kBhuTV',
    '-----END PRIVATE KEY-----',
  ].join('\n'),
  cert: [
    '-----BEGIN CERTIFICATE-----',
    'MIIBkDCCATagAwIBAgIUXwUW0ASFfcMy3IJOegyQQhFnr7QwCgYIKoZIzj0EAwIw',
    'FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNDE4MTMxMVoYDzIxMjYxMDMx',
    'MTgxMzExWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO',
    'PQMBBwNCAATCuu1gwi6/Ki5Y1SKtw2M01HMo4fqAUs2dlAOoikktYLP9TGIcsUBP',
    'hhSMZnYwOcqDKCbkmCdKc/4fC1kBhuTVo2QwYjAdBgNVHQ4EFgQU3zJIjayeQMUk',
    'iW/IlPzKAQ2nMqIwHwYDVR0jBBgwFoAU3zJIjayeQMUkiW/IlPzKAQ2nMqIwDwYD',
    'VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0gAMEUC',
    'IQCY9Pjq2qNzxti76EijCQMb2IO2/PPJ76Ppw5ajJ9fIlAIgcXHXAv92uL0nz/ie',
    'itkvBKF9ua6ODvL0jNcTTJ/TeD8=',
    '-----END CERTIFICATE-----',
  ].join('\n'),
}

/** Makes the pair; `note` hears when the fallback is used instead. */
export function selfSignedCertificate(note: (message: string) => void = console.warn): Credentials {
  let openssl: string
  try {
    openssl = execFileSync('which', ['openssl'], { encoding: 'utf8' }).trim()
  } catch {
    if (process.env.CI) throw new Error('openssl is required under CI to make the test certificate')
    note('openssl not found: using the fixed test certificate')
    return FALLBACK_CREDENTIALS
  }
  const dir = mkdtempSync(join(tmpdir(), 'watershed-tls-'))
  try {
    const keyFile = join(dir, 'key.pem')
    const certFile = join(dir, 'cert.pem')
    execFileSync(openssl, [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' })
    return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
