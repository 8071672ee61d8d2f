/**
 * The package as its users get it: `npm pack`, then installed into an empty
 * folder with nothing beside it but typescript and @types/node (the versions
 * this repository uses, from npm's cache when it has them). There:
 *
 * - a strict TypeScript consumer (fixtures/consumer.ts: the streams API and
 *   the original API) type-checks with and without skipLibCheck, compiles,
 *   and runs a real echo over 127.0.0.1;
 * - a CommonJS consumer (require) and an ES module consumer (named imports)
 *   each run one too;
 * - every source map in the package points at sources that are in it;
 * - the tarball holds every file `exports` and `bin` name, and nothing of
 *   test/, bench/ or the other development folders.
 *
 * It packs dist/ as it is: `npm test` builds first; alone, run `npm run
 * build` before `npx tap test/package/consumer.test.ts`.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'

const ROOT = path.resolve(__dirname, '../..')
const FIXTURES = path.join(__dirname, 'fixtures')
const STEP_TIMEOUT = 120_000

// Installing packages takes a while; the whole file usually needs 15-30 s.
t.setTimeout(300_000)

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

/** The environment of a user's shell: none of the test runner's hooks, none of npm's per-script variables. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (name === 'NODE_OPTIONS' || name === 'INIT_CWD' || name.startsWith('TAP') || name.startsWith('_TAPJS')) continue
    if (name.startsWith('TS_NODE') || name.startsWith('npm_package_') || name.startsWith('npm_lifecycle_')) continue
    if (name === 'npm_config_local_prefix') continue
    env[name] = value
  }
  return env
}

function run(command: string, args: string[], cwd: string): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: userEnv(), timeout: STEP_TIMEOUT, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({ code, stdout, stderr: stderr + (error && typeof error.code !== 'number' ? `\n${error.message}` : '') })
    })
  })
}

function versionOf(name: string): string {
  const manifest = readFileSync(require.resolve(`${name}/package.json`, { paths: [ROOT] }), 'utf8')
  return (JSON.parse(manifest) as { version: string }).version
}

/** dist/ must hold a build of every module in lib/, no older than its source. */
function staleBuild(): string | null {
  if (!existsSync(path.join(ROOT, 'dist', 'index.js'))) return 'dist/ is missing'
  for (const name of readdirSync(path.join(ROOT, 'lib'), { recursive: true }) as string[]) {
    if (!name.endsWith('.ts')) continue
    const built = path.join(ROOT, 'dist', name.replace(/\.ts$/, '.js'))
    if (!existsSync(built)) return `dist/ has no build of lib/${name}`
    if (statSync(built).mtimeMs < statSync(path.join(ROOT, 'lib', name)).mtimeMs) return `lib/${name} is newer than its build`
  }
  return null
}

t.test('the packed package, installed into an empty folder', async (t) => {
  const stale = staleBuild()
  if (stale) {
    t.fail(`${stale}: run npm run build first (npm test does)`)
    return
  }
  const started = Date.now()
  const lap = (what: string) => t.comment(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  const work = await mkdtemp(path.join(os.tmpdir(), 'watershed-consumer-'))
  t.teardown(() => rm(work, { recursive: true, force: true }))
  const packDir = path.join(work, 'pack')
  const app = path.join(work, 'app')
  await mkdir(packDir)
  await cp(FIXTURES, app, { recursive: true })
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }, null, 2))

  // --ignore-scripts: pack dist/ as built; a rebuild here would race the tests running beside this one.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], ROOT)
  if (!t.equal(packed.code, 0, 'npm pack', { stderr: packed.stderr })) return
  const [pack] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
  const files = new Set(pack.files.map((file) => file.path))
  lap('packed')

  t.test('the tarball holds what exports and bin point to, and nothing of test/ or bench/', async (t) => {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>
      bin: Record<string, string>
      files: string[]
    }
    const targets = new Set<string>()
    const collect = (entry: unknown): void => {
      if (typeof entry === 'string') targets.add(path.posix.normalize(entry))
      else if (entry && typeof entry === 'object') Object.values(entry).forEach(collect)
    }
    collect(manifest.exports)
    collect(manifest.bin)
    t.ok(targets.size >= 9, `exports and bin name ${targets.size} files`)
    for (const target of targets) t.ok(files.has(target), `${target} is packed`)
    for (const subpath of ['.', './hub']) {
      t.match(manifest.exports[subpath], { import: { types: /\.d\.mts$/, default: /\.mjs$/ }, require: { types: /\.d\.ts$/, default: /\.js$/ } },
        `${subpath} has types, import and require conditions`)
    }
    const stray = [...files].filter((file) => /^(test|bench|examples|docs|\.ci)\//.test(file) || file.endsWith('.tgz'))
    t.same(stray, [], 'no tests, benchmarks, examples, docs or CI scripts')
    for (const file of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']) t.ok(files.has(file), `${file} is packed`)
    t.ok([...files].every((file) => /^(dist|lib)\//.test(file) || !file.includes('/')), 'otherwise only dist/ and lib/')
  })

  const installed = await run('npm', [
    'install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', '--loglevel=error',
    path.join(packDir, path.basename(pack.filename)),
    `typescript@${versionOf('typescript')}`,
    `@types/node@${versionOf('@types/node')}`,
  ], app)
  if (!t.equal(installed.code, 0, 'npm install of the tarball, typescript and @types/node', { stderr: installed.stderr })) return
  const types = await readdir(path.join(app, 'node_modules', '@types'))
  t.same(types, ['node'], 'no types but @types/node are installed')
  lap('installed')

  t.test('every source map points at sources in the package', async (t) => {
    const maps = [...files].filter((file) => file.endsWith('.map'))
    t.ok(maps.length > 0, `${maps.length} source maps`)
    const missing: string[] = []
    for (const map of maps) {
      const { sources, sourceRoot = '' } = JSON.parse(await readFile(path.join(app, 'node_modules', 'watershed', map), 'utf8')) as {
        sources: string[]
        sourceRoot?: string
      }
      for (const source of sources) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(map), sourceRoot, source))
        if (!files.has(target)) missing.push(`${map} -> ${target}`)
      }
    }
    t.same(missing, [], 'no map points outside the package')
  })

  const tsc = path.join('node_modules', 'typescript', 'bin', 'tsc')
  t.test('a strict TypeScript consumer type-checks, with and without skipLibCheck', async (t) => {
    const full = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], app)
    t.equal(full.code, 0, 'tsc (emitting out/consumer.js), skipLibCheck false', { output: full.stdout + full.stderr })
    const skipping = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit', '--skipLibCheck'], app)
    t.equal(skipping.code, 0, 'tsc --noEmit --skipLibCheck', { output: skipping.stdout + skipping.stderr })
    lap('type-checked')
    if (full.code !== 0) return
    const ran = await run(process.execPath, [path.join('out', 'consumer.js')], app)
    t.equal(ran.code, 0, 'the compiled consumer exits 0', { stdout: ran.stdout, stderr: ran.stderr })
    t.match(ran.stdout, /consumer\.ts: ok/)
  })

  for (const consumer of ['consumer.cjs', 'consumer.mjs']) {
    t.test(`${consumer} runs an echo`, async (t) => {
      // The CommonJS one also checks that stack traces lead to the shipped sources.
      const args = consumer === 'consumer.cjs' ? ['--enable-source-maps', consumer] : [consumer]
      const ran = await run(process.execPath, args, app)
      t.equal(ran.code, 0, `${consumer} exits 0`, { stdout: ran.stdout, stderr: ran.stderr })
      t.match(ran.stdout, new RegExp(`${consumer.replace('.', '\\.')}: ok`))
    })
  }
  t.teardown(() => lap('done'))
})
