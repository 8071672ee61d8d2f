/**
 * What runs where. The full plan runs every case in every mode that applies
 * to it. The CI plan (the default under `tap`) keeps everything that is cheap
 * and leaves out what mostly costs time:
 *
 * - every case of sections 1-10, both roles, in 'whole', 'random' and (UTF-8 stress) 'fragments' delivery;
 * - all of section 9, both roles;
 * - 'bytes' delivery only for cases writing at most CI_BYTES_LIMIT bytes;
 * - 'no-fin' (client must give up on its own after closeTimeout) only for the
 *   first case of each family, since each run waits out the timeout;
 * - of sections 12-13 (permessage-deflate), only CI_DEFLATE_CASES, with
 *   CI_DEFLATE_ECHOES messages each.
 *
 * Sections 12-13 send 1000 messages of up to 128 KiB per case in the
 * reference suite: 216 cases, both roles, take many minutes (see
 * docs/conformance.md). The full plan (CI) runs every one of their case ids
 * in both roles with FULL_DEFLATE_ECHOES messages each; the exhaustive plan
 * is the full plan with the reference count.
 *
 * CONFORMANCE=full selects the full plan, CONFORMANCE=exhaustive the
 * exhaustive one; CONFORMANCE_CASES=<regexp> limits any plan to matching case
 * ids; CONFORMANCE_SEED sets the random seed.
 */
import type { Case } from './case'
import { ALL_CASES } from './cases/index'
import { type Mode, type Testee, modesFor, scriptBytes } from './delivery'

export const DEFAULT_SEED = 6455
export const CI_BYTES_LIMIT = 16 * 1024
/** Sections 12-13 in the default run: every data set and parameter set, at a small, a large and a fragmented row. */
export const CI_DEFLATE_CASES = /^1[23]\.\d\.(2|10|15)$/
export const CI_DEFLATE_ECHOES = 5
/** Sections 12-13 in the full plan: every case id, both roles, this many messages each (the reference sends 1000). */
export const FULL_DEFLATE_ECHOES = 50

export interface Run {
  testee: Testee
  mode: Mode
  cases: Case[]
  /** At most this many messages per case of sections 12-13; null for the reference count. */
  echoCap: number | null
}

export type Level = 'ci' | 'full' | 'exhaustive'

export function levelFromEnv(): Level {
  const level = process.env.CONFORMANCE
  return level === 'full' || level === 'exhaustive' ? level : 'ci'
}

export function seedFromEnv(): number {
  const seed = Number(process.env.CONFORMANCE_SEED ?? DEFAULT_SEED)
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`CONFORMANCE_SEED must be a non-negative integer, not ${process.env.CONFORMANCE_SEED}`)
  return seed
}

/** The first case of its family: "1.2.1", "2.1", "6.4.1", "7.13.1". */
const firstOfFamily = (c: Case) => c.id.endsWith('.1')

export const echoCapOf = (level: Level): number | null =>
  level === 'exhaustive' ? null : level === 'full' ? FULL_DEFLATE_ECHOES : CI_DEFLATE_ECHOES

export function plan(level: Level, only: RegExp | null = casesFromEnv()): Run[] {
  const cases = ALL_CASES.filter((c) => !only || only.test(c.id))
  const runs: Run[] = []
  for (const testee of ['server', 'client'] as Testee[]) {
    for (const mode of ['whole', 'bytes', 'random', 'fragments', 'no-fin'] as Mode[]) {
      const selected = cases.filter((c) => {
        if (!modesFor(c, testee).includes(mode)) return false
        if (level !== 'ci') return true
        if (c.deflate) return CI_DEFLATE_CASES.test(c.id)
        if (mode === 'bytes') return scriptBytes(c.build()) <= CI_BYTES_LIMIT
        if (mode === 'no-fin') return firstOfFamily(c)
        return true
      })
      if (selected.length > 0) runs.push({ testee, mode, cases: selected, echoCap: echoCapOf(level) })
    }
  }
  return runs
}

function casesFromEnv(): RegExp | null {
  const pattern = process.env.CONFORMANCE_CASES
  return pattern ? new RegExp(pattern) : null
}
