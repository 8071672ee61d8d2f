/**
 * Runs the full conformance plan (both roles, every mode) and writes
 * docs/conformance.md. `npm run conformance` builds the library first.
 * CONFORMANCE_SEED and CONFORMANCE_CASES work as for the tap test. Exits
 * non-zero when any run is not strictly conformant (the report is written
 * either way).
 */
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { ALL_CASES } from './cases/index'
import { plan, seedFromEnv } from './plan'
import { renderReport } from './report-markdown'
import { type CaseResult, runCases } from './runner'

const OUTPUT = resolve(__dirname, '../../docs/conformance.md')

async function main(): Promise<void> {
  const seed = seedFromEnv()
  const runs = plan('full')
  const results: CaseResult[] = []
  for (const run of runs) {
    process.stderr.write(`${run.testee} testee, ${run.mode} delivery: ${run.cases.length} cases … `)
    const batch = await runCases({ ...run, seed })
    results.push(...batch)
    const bad = batch.filter((r) => !r.ok)
    process.stderr.write(`${batch.length - bad.length} conformant\n`)
    for (const r of bad) process.stderr.write(`  ${r.id}: ${r.reasons.join('; ')}\n`)
  }
  const ids = new Set(results.map((r) => r.id))
  writeFileSync(OUTPUT, renderReport(ALL_CASES.filter((c) => ids.has(c.id)), results, seed))
  process.stderr.write(`wrote ${OUTPUT}\n`)
  process.exitCode = results.every((r) => r.ok) ? 0 : 1
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 2
})
