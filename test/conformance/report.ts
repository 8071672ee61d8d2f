/**
 * Runs the full conformance plan (both roles, every mode) and writes
 * docs/conformance.md. `npm run conformance` builds the library first;
 * `npm run conformance:exhaustive` runs the exhaustive plan instead (sections
 * 12-13 with the reference suite's 1000 messages per case). CONFORMANCE_SEED
 * and CONFORMANCE_CASES work as for the tap test. Exits non-zero when any run
 * is not strictly conformant (the report is written either way).
 *
 * It runs only when given --write (as the npm scripts do): `tap
 * test/conformance/` loads every file of the folder, and must not start a
 * plan of several minutes and rewrite the report as a side effect.
 */
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { ALL_CASES } from './cases/index'
import { echoCapOf, levelFromEnv, plan, seedFromEnv } from './plan'
import { renderReport } from './report-markdown'
import { type CaseResult, runCases } from './runner'

const OUTPUT = resolve(__dirname, '../../docs/conformance.md')

async function main(): Promise<void> {
  const seed = seedFromEnv()
  const level = levelFromEnv() === 'exhaustive' ? 'exhaustive' : 'full'
  const runs = plan(level)
  const started = performance.now()
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
  const minutes = (performance.now() - started) / 60_000
  writeFileSync(OUTPUT, renderReport(ALL_CASES.filter((c) => ids.has(c.id)), results, { seed, echoes: echoCapOf(level) }))
  process.stderr.write(`${level} plan: ${minutes.toFixed(1)} min\n`)
  process.stderr.write(`wrote ${OUTPUT}\n`)
  process.exitCode = results.every((r) => r.ok) ? 0 : 1
}

if (process.argv.includes('--write')) {
  main().catch((error) => {
    console.error(error)
    process.exitCode = 2
  })
}
