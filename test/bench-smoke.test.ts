/**
 * The benchmark suite (bench/run.js) in smoke mode: every workload with tiny
 * counts and one round, server and client in their own processes, every
 * message verified, for the streams API (and its stream mode, workload e),
 * the original API, ws and raw TCP. It
 * must exit 0 and print every workload's table, and the original API's table
 * after it. No figure is judged here: timings on a loaded test machine mean nothing.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'

const ROOT = path.resolve(__dirname, '..')
// About 40 s alone; several times that while the full plans run beside it on two cores.
const RUN_TIMEOUT = 240_000
t.setTimeout(300_000)

interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** The environment of a user's shell: none of the test runner's hooks. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (name === 'NODE_OPTIONS' || name.startsWith('TAP') || name.startsWith('_TAPJS') || name.startsWith('TS_NODE')) continue
    if (name.startsWith('BENCH_')) continue
    env[name] = value
  }
  return env
}

/** Runs `node bench/run.js --smoke` from the repository root; kills it after RUN_TIMEOUT. */
function runSmoke(): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/run.js', '--smoke'], { cwd: ROOT, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/**
 * Each workload's title line starts so, and its table's first column header
 * is given; `orig`: rows of the original API's table that follows it (smoke
 * mode runs the original API wherever it can), null where it does not run.
 */
const WORKLOADS = [
  {
    title: 'a. Sequential roundtrip echo',
    header: 'message',
    rows: ['64 B × 50 text', '64 B × 50 binary', '64 B × 50 text as strings', '1 MiB × 20 text', '1 MiB × 20 binary', '1 MiB × 20 text as strings'],
    orig: ['64 B × 50 binary', '64 B × 50 text as strings', '1 MiB × 20 binary', '1 MiB × 20 text as strings'],
  },
  { title: 'b. Pipelined echo', header: 'message', rows: ['2,000 × 64 B', '500 × 1 KiB'], orig: ['2,000 × 64 B', '500 × 1 KiB'] },
  { title: 'c. Fan-out', header: 'workload', rows: ['20 clients × 20 × 1 KiB'], orig: ['20 clients × 20 × 1 KiB'] },
  {
    title: 'd. Idle connections',
    header: 'metric',
    rows: ['handshakes/s while opening', 'server RSS per connection (bytes)'],
    orig: ['handshakes/s while opening', 'server RSS per connection (bytes)'],
  },
  {
    title: 'e. One 4 MiB binary message echoed',
    header: 'metric',
    rows: ['wall time, send to echo (ms)', 'server peak RSS (MiB)', 'server peak RSS growth (MiB)', 'client peak RSS growth (MiB)'],
    orig: ['wall time, send to echo (ms)', 'server peak RSS (MiB)'],
    // The streamed run (ours in stream mode at both ends): its figure and streamed/ws after ours/ws.
    streamed: true,
  },
  // ours and ws only: no original API table. The memory rows have a table of their own in the same block.
  {
    title: 'f. Compressed (permessage-deflate on at both ends)',
    header: 'message',
    rows: [
      '1 KiB × 50 sequential',
      '64 KiB × 20 sequential',
      '500 × 1 KiB pipelined',
      'fan-out 20 clients × 20 × 4 KiB',
      '20 connections, uncompressed (reference)',
      '20 connections, defaults',
      '20 connections, no context takeover',
      '20 connections, 9-bit windows, memLevel 1',
    ],
    orig: null,
    // Rows whose last two cells (ws and ours wire/payload) must show compression (the run fails above 0.5).
    compressed: /sequential|pipelined|fan-out|defaults|takeover|windows/,
  },
]

/** The original API's table: its title line starts so. */
const ORIG_TITLE = 'Original API (orig)'

if (!existsSync(path.join(ROOT, 'dist', 'index.js'))) {
  t.fail('dist/index.js is missing: the benchmark loads the built package. Run `npm run build` first (`npm test` does).')
} else {
  t.test('bench/run.js --smoke: every workload runs, every message is verified, exit 0', async (t) => {
    const run = await runSmoke()
    t.equal(run.code, 0, 'exits with code 0', { stdout: run.stdout, stderr: run.stderr })
    t.equal(run.signal, null, 'was not killed')
    t.match(run.stdout, /^OK: every workload completed, every message verified\.$/m, 'says every message was verified')
    t.notMatch(run.stdout, /FAILED/, 'no workload failed')

    const lines = run.stdout.split('\n')
    for (const workload of WORKLOADS) {
      const at = lines.findIndex((line) => line.startsWith(workload.title))
      if (at === -1) {
        t.fail(`no table for ${workload.title}`, { stdout: run.stdout })
        continue
      }
      // The title, the header row, its rule, the rows, then the target line.
      const end = lines.findIndex((line, i) => i > at && line.startsWith('Target: '))
      t.ok(end > at + 2, `${workload.title}: a table and its target line`)
      // (A warning about other processes' load may stand between the title and the table.)
      const block = lines.slice(at + 1, end).filter((line) => !line.startsWith('Warning: '))
      t.ok(block[0]?.startsWith(workload.header), `${workload.title}: the header row`, { block })
      t.match(block[1] ?? '', /^-+( +-+)+$/, `${workload.title}: the rule under the header`)
      for (const row of workload.rows) {
        const line = block.find((l) => l.startsWith(row))
        t.ok(line, `${workload.title}: a row for ${row}`, { block })
        // Both libraries were measured: no empty cell in the ws and ours columns.
        const cells = (line ?? '').slice(row.length).trim().split(/\s{2,}/)
        t.ok(cells.length >= 3 && cells[0] !== '–' && cells[1] !== '–', `${workload.title}, ${row}: figures for ws and ours`, { line })
        if (workload.streamed) {
          t.ok(cells.length >= 6 && cells[3] !== '–' && cells[4] !== '–', `${workload.title}, ${row}: figures for ours streamed and streamed/ws`, { line })
        }
        if (workload.compressed?.test(row)) {
          const wire = cells.slice(-2).map(Number)
          t.ok(wire.every((x) => x > 0 && x <= 0.5), `${workload.title}, ${row}: compressed on the wire for ws and ours (${wire.join(', ')})`, { line })
        }
      }

      if (workload.orig === null) {
        t.notOk(lines[end + 2]?.startsWith(ORIG_TITLE), `${workload.title}: no original API table`)
        continue
      }
      // The original API's table: right after the target line, up to the next blank line.
      t.ok(lines[end + 1] === '' && lines[end + 2]?.startsWith(ORIG_TITLE), `${workload.title}: the original API's table follows`, { found: lines.slice(end, end + 3) })
      const origEnd = lines.findIndex((line, i) => i > end + 2 && line === '')
      const orig = lines.slice(end + 3, origEnd === -1 ? undefined : origEnd)
      t.ok(orig[0]?.startsWith(workload.header), `${workload.title}, original API: the header row`, { orig })
      t.match(orig[1] ?? '', /^-+( +-+)+$/, `${workload.title}, original API: the rule under the header`)
      for (const row of workload.orig) {
        const line = orig.find((l) => l.startsWith(row))
        t.ok(line, `${workload.title}, original API: a row for ${row}`, { orig })
        // Columns: orig, ours, orig/ours, orig/ours by round, ws, ...: all three libraries measured.
        const cells = (line ?? '').slice(row.length).trim().split(/\s{2,}/)
        // (The ratio may be '–': a smoke run's RSS growth per connection can round to 0.)
        t.ok(cells.length >= 5 && cells[0] !== '–' && cells[1] !== '–' && cells[4] !== '–', `${workload.title}, original API, ${row}: figures for orig, ours and ws`, { line })
      }
    }
  })
}
