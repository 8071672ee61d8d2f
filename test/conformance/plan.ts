/**
 * What runs where. The full plan runs every case in every mode that applies
 * to it. The CI plan (the default under `tap`) keeps everything that is cheap
 * and leaves out what mostly costs time:
 *
 * - every case, both roles, in 'whole', 'random' and (UTF-8 stress) 'fragments' delivery;
 * - all of section 9, both roles;
 * - 'bytes' delivery only for cases writing at most CI_BYTES_LIMIT bytes;
 * - 'no-fin' (client must give up on its own after closeTimeout) only for the
 *   first case of each family, since each run waits out the timeout.
 *
 * CONFORMANCE=full selects the full plan; CONFORMANCE_CASES=<regexp> limits
 * either plan to matching case ids; CONFORMANCE_SEED sets the random seed.
 */
import type { Case } from './case'
import { ALL_CASES } from './cases/index'
import { type Mode, type Testee, modesFor, scriptBytes } from './delivery'

export const DEFAULT_SEED = 6455
export const CI_BYTES_LIMIT = 16 * 1024

export interface Run {
  testee: Testee
  mode: Mode
  cases: Case[]
}

export type Level = 'ci' | 'full'

export const levelFromEnv = (): Level => (process.env.CONFORMANCE === 'full' ? 'full' : 'ci')

export function seedFromEnv(): number {
  const seed = Number(process.env.CONFORMANCE_SEED ?? DEFAULT_SEED)
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`CONFORMANCE_SEED must be a non-negative integer, not ${process.env.CONFORMANCE_SEED}`)
  return seed
}

/** The first case of its family: "1.2.1", "2.1", "6.4.1", "7.13.1". */
const firstOfFamily = (c: Case) => c.id.endsWith('.1')

export function plan(level: Level, only: RegExp | null = casesFromEnv()): Run[] {
  const cases = ALL_CASES.filter((c) => !only || only.test(c.id))
  const runs: Run[] = []
  for (const testee of ['server', 'client'] as Testee[]) {
    for (const mode of ['whole', 'bytes', 'random', 'fragments', 'no-fin'] as Mode[]) {
      const selected = cases.filter((c) => {
        if (!modesFor(c, testee).includes(mode)) return false
        if (level === 'full') return true
        if (mode === 'bytes') return scriptBytes(c.build()) <= CI_BYTES_LIMIT
        if (mode === 'no-fin') return firstOfFamily(c)
        return true
      })
      if (selected.length > 0) runs.push({ testee, mode, cases: selected })
    }
  }
  return runs
}

function casesFromEnv(): RegExp | null {
  const pattern = process.env.CONFORMANCE_CASES
  return pattern ? new RegExp(pattern) : null
}
