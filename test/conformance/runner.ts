/**
 * Runs cases against the library in one role and one delivery mode, several
 * at a time (each on its own connection), and judges each run.
 */
import { performance } from 'node:perf_hooks'
import type { Case, Script } from './case'
import { type Mode, type Testee, applyFragments, capEchoes, modesFor, scriptBytes } from './delivery'
import { NO_FIN_CLOSE_TIMEOUT_MS, fuzzClient, startFuzzingServer } from './fuzzing-server'
import { fuzzServer } from './fuzzing-client'
import { judge } from './judge'
import { hashSeed, prng } from './prng'
import { startTesteeServer } from './testee'

export interface CaseResult {
  id: string
  section: number
  description: string
  testee: Testee
  mode: Mode
  ok: boolean
  reasons: string[]
  notes: string[]
  /** From the first byte sent to the last expected byte received (null if that never happened). */
  echoMs: number | null
  /** The whole run, handshake to TCP close. */
  totalMs: number
  bytes: number
}

export interface RunOptions {
  testee: Testee
  mode: Mode
  cases: Case[]
  seed: number
  /** Cases run at the same time. Section 9 is always run one at a time. */
  concurrency?: number
  /** At most this many messages per case of sections 12-13 (null: the reference count, 1000). */
  echoCap?: number | null
  onResult?: (result: CaseResult) => void
}

/** The random source of one case run: reproducible from the seed alone. */
export const caseRandom = (seed: number, testee: Testee, mode: Mode, id: string) => prng(hashSeed(`${seed}|${testee}|${mode}|${id}`))

export async function runCases(options: RunOptions): Promise<CaseResult[]> {
  const { testee, mode, seed } = options
  const server = testee === 'server' ? await startTesteeServer() : null
  const fuzzer = testee === 'client' ? await startFuzzingServer() : null
  const results: CaseResult[] = []
  const cases = options.cases.filter((c) => modesFor(c, testee).includes(mode))
  const runOne = async (c: Case): Promise<void> => {
    let script: Script = capEchoes(c.build(), options.echoCap ?? null)
    if (mode === 'fragments') script = applyFragments(script)
    const random = caseRandom(seed, testee, mode, c.id)
    const started = performance.now()
    const record = server ? await fuzzServer(server, c, script, mode, random) : await fuzzClient(fuzzer!, c, script, mode, random)
    const verdict = judge(c, script, record, { testee, mode, closeTimeout: NO_FIN_CLOSE_TIMEOUT_MS })
    const echoMs = record.echoesDone && record.firstWrite ? Math.max(0, record.echoesDone.time - record.firstWrite.time) : null
    const result: CaseResult = {
      id: c.id, section: c.section, description: c.description, testee, mode, ...verdict,
      echoMs, totalMs: performance.now() - started, bytes: scriptBytes(script),
    }
    results.push(result)
    options.onResult?.(result)
  }
  try {
    const parallel = cases.filter((c) => c.section !== 9)
    const serial = cases.filter((c) => c.section === 9)
    await pool(parallel, options.concurrency ?? 8, runOne)
    for (const c of serial) await runOne(c)
  } finally {
    await server?.close()
    await fuzzer?.close()
  }
  const order = new Map(options.cases.map((c, i) => [c.id, i]))
  return results.sort((a, b) => order.get(a.id)! - order.get(b.id)!)
}

async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const lane = async () => {
    while (next < items.length) await work(items[next++])
  }
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane))
}
