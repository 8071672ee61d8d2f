/**
 * The API reference (typedoc, configured in typedoc.json) builds without a
 * single warning: every public export of `watershed` and `watershed/hub` has
 * a doc comment, every type a public signature names is exported, and every
 * link resolves. `npm run docs:api` writes the pages to docs/api/.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'

const ROOT = path.resolve(__dirname, '..')

t.test('typedoc validates the public API with warnings treated as errors', async (t) => {
  const config = JSON.parse(readFileSync(path.join(ROOT, 'typedoc.json'), 'utf8'))
  t.equal(config.treatWarningsAsErrors, true, 'a warning fails the build')
  t.match(config.validation, { notDocumented: true, notExported: true, invalidLink: true }, 'the checks are on')
  t.strictSame(config.entryPoints, ['lib/index.ts', 'lib/server/hub/index.ts'], "both of the package's entry points")

  const typedoc = path.join(path.dirname(require.resolve('typedoc/package.json', { paths: [ROOT] })), 'bin', 'typedoc')
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, [typedoc, '--emit', 'none'], { cwd: ROOT, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout + stderr })
    })
  })
  t.equal(code, 0, 'typedoc exits 0', { output })
  t.notMatch(output, /warning|error/i, 'and reports nothing', { output })
})
