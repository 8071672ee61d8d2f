/**
 * RFC 6455 and RFC 7692 conformance of the library, in both roles, over real TCP.
 *
 * The case table (./cases) covers sections 1 framing, 2 ping/pong, 3 reserved
 * bits, 4 reserved opcodes, 5 fragmentation, 6 UTF-8, 7 closing, 9 limits,
 * 10 auto-fragmentation, and the reference suite's sections 12-13:
 * permessage-deflate with five kinds of payload and with seven parameter
 * combinations (no context takeover, 8- and 15-bit windows, several offers),
 * the fuzzing peer compressing with its own zlib and judging every echo with
 * exactly the window and context agreed. The library's server is driven by
 * the fuzzing client, its client by the fuzzing server; every case run is a
 * subtest whose verdict must be strictly OK, and a failure prints why.
 *
 * What runs: `npm test` runs a fast subset by default (see ./plan.ts); CI
 * (.ci/run) sets CONFORMANCE=full and runs everything. The subset: every case
 * of sections 1-10 in whole and random delivery, the UTF-8 stress cases also
 * one fragment per byte, all of section 9, 1-byte delivery for cases of at
 * most 16 KiB, the never-closing-server check for the first case of each
 * family, and 36 of the 216 cases of sections 12-13 with 5 messages each. It
 * takes about 40 s on 2 cores (5 s of it sections 12-13). CONFORMANCE=full
 * runs everything (every case of sections 1-7 and 10 also in 1-byte delivery
 * and against a server that never closes TCP; every case of sections 12-13
 * with 50 messages, about 40 s of it), about two minutes; `npm run
 * conformance` does that and writes
 * docs/conformance.md. CONFORMANCE=exhaustive is the full plan with the
 * reference suite's 1000 messages per case of sections 12-13 (see
 * docs/conformance.md for its time). CONFORMANCE_CASES=<regexp> narrows to
 * matching ids, CONFORMANCE_SEED changes the random delivery.
 */
import t from 'tap'
import { levelFromEnv, plan, seedFromEnv } from './plan'
import { runCases } from './runner'

const level = levelFromEnv()
const seed = seedFromEnv()
t.setTimeout(level === 'exhaustive' ? 4 * 60 * 60_000 : level === 'full' ? 30 * 60_000 : 5 * 60_000)
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
