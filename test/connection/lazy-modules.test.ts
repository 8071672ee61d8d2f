/**
 * Modules only some programs use, as a specification: loading the package
 * loads neither node:http2 nor node:https nor node:tls; each is loaded by
 * the first thing that needs it, and is Node's own module.
 */
import { execFileSync } from 'node:child_process'
import http2 from 'node:http2'
import https from 'node:https'
import tls from 'node:tls'
import t from 'tap'
import * as lazy from '../../lib/connection/lazy-modules'
import { ROOT, assertBuilt, userEnv } from '../helpers/cli'

/** The built-in modules a fresh Node process has loaded after running `script`. */
function builtinsAfter(script: string): string[] {
  const out = execFileSync(process.execPath, ['-e', `${script}; console.log(JSON.stringify(process.moduleLoadList))`], { cwd: ROOT, encoding: 'utf8', env: userEnv() })
  return (JSON.parse(out) as string[]).filter((entry) => entry.startsWith('NativeModule ')).map((entry) => entry.slice('NativeModule '.length))
}

t.test("require('watershed') loads neither node:http2 nor node:https nor node:tls", async (t) => {
  assertBuilt()
  const loaded = builtinsAfter("require('./')")
  t.ok(loaded.includes('http'), 'node:http is loaded (the check sees what it should)')
  for (const name of ['http2', 'https', 'tls']) t.notOk(loaded.includes(name), `${name} not loaded`)
})

t.test('each is loaded when first asked for, and is the module Node gives', async (t) => {
  t.equal(lazy.http2(), http2)
  t.equal(lazy.https(), https)
  t.equal(lazy.tls(), tls)
})
