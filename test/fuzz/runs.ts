/**
 * How many cases each property tries, and how a failure is replayed.
 *
 * The defaults keep the three fuzz files together at about ten seconds on a
 * two-core machine, so they run with every `npm test`. The long run is
 *
 *     FUZZ_RUNS=20000 npx tap test/fuzz
 *
 * which gives every property the same, larger count, the TCP ones too: it
 * takes several minutes, so give tap a longer per-file timeout than its
 * default (`--timeout=3600`). The helper modules here show up in that run
 * as files with no tests; `test/fuzz/*.test.ts` leaves them out.
 *
 * A failing property prints its seed and path; replay exactly that case,
 * in that property alone, with
 *
 *     FUZZ_SEED=<seed> FUZZ_PATH=<path> npx tap test/fuzz/<file>.test.ts --grep='<its test name>'
 *
 * FUZZ_END_ON_FAILURE=1 stops at the first counterexample instead of
 * shrinking it (shrinking a stream property can take a while).
 */
import type { Parameters as FcParameters } from 'fast-check'

const fromEnv = (name: string): number | undefined => {
  const value = process.env[name]
  if (value === undefined || value.trim() === '') return undefined
  const number = Number(value)
  if (!Number.isSafeInteger(number)) throw new Error(`${name} must be an integer, got ${JSON.stringify(value)}`)
  return number
}

/** The number of runs for one property: FUZZ_RUNS when set, else `defaultCount`. */
export function runs(defaultCount: number): number {
  const count = fromEnv('FUZZ_RUNS')
  if (count !== undefined && count < 1) throw new Error('FUZZ_RUNS must be at least 1')
  return count ?? defaultCount
}

/** The fc.assert parameters of one property: its run count, and the replay settings from the environment. */
export function fuzzParameters<T>(defaultCount: number): FcParameters<T> {
  const seed = fromEnv('FUZZ_SEED')
  const path = process.env.FUZZ_PATH
  return {
    numRuns: runs(defaultCount),
    ...(seed === undefined ? {} : { seed }),
    ...(path ? { path } : {}),
    endOnFailure: process.env.FUZZ_END_ON_FAILURE === '1',
  }
}
