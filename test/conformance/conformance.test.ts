/**
 * RFC 6455 conformance of the library, in both roles, over real TCP.
 *
 * The case table (./cases) covers sections 1 framing, 2 ping/pong, 3 reserved
 * bits, 4 reserved opcodes, 5 fragmentation, 6 UTF-8, 7 closing, 9 limits
 * and 10 auto-fragmentation. The library's server is driven by the fuzzing
 * client, its client by the fuzzing server; every case run is a subtest whose
 * verdict must be strictly OK, and a failure prints why.
 *
 * What runs: `npm test` runs a fast subset by default (see ./plan.ts); CI
 * (.ci/run) sets CONFORMANCE=full and runs everything. The subset: every case in
 * whole and random delivery, the UTF-8 stress cases also one fragment per
 * byte, all of section 9, 1-byte delivery for cases of at most 16 KiB, and
 * the never-closing-server check for the first case of each family. It takes
 * about half a minute on 2 cores. CONFORMANCE=full runs everything (every
 * case of sections 1-7 and 10 also in 1-byte delivery and against a server
 * that never closes TCP), about a minute; `npm run conformance` does that and
 * writes docs/conformance.md. CONFORMANCE_CASES=<regexp> narrows to matching
 * ids, CONFORMANCE_SEED changes the random delivery.
 */
import t from 'tap'
import { levelFromEnv, plan, seedFromEnv } from './plan'
import { runCases } from './runner'

const level = levelFromEnv()
const seed = seedFromEnv()
t.setTimeout(level === 'full' ? 30 * 60_000 : 5 * 60_000)
t.comment(`conformance plan: ${level}, random delivery seed ${seed}`)

for (const run of plan(level)) {
  t.test(`${run.testee} testee, ${run.mode} delivery (${run.cases.length} case${run.cases.length === 1 ? '' : 's'})`, async (t) => {
    const results = await runCases({ ...run, seed })
    for (const r of results) {
      t.test(`${r.id} ${r.description}`, async (t) => {
        t.strictSame(r.reasons, [], r.ok ? 'strictly conformant' : `not conformant: ${r.reasons[0]}`)
        for (const note of r.notes) t.comment(note)
      })
    }
  })
}
