#!/usr/bin/env node
/**
 * The `watershed` command: pipes stdin, files and programs to and from
 * WebSocket connections, as a client, a server or a proxy. Built on the
 * library's public API only.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parseCommandLine, type CliOptions } from './args'
import { runClient } from './client'
import { CliError, ExitCode } from './exit-codes'
import { HELP } from './help'
import { runProxy } from './proxy'
import { Report } from './report'
import { runServer } from './server'
import { Interrupts } from './signals'
import { runTcpFront } from './tcp-front'

function run(options: CliOptions, report: Report, interrupts: Interrupts): Promise<number> {
  const { mode } = options
  switch (mode.kind) {
    case 'client':
      return runClient(options, mode.url, report, interrupts)
    case 'server':
      return runServer(options, mode.listen, report, interrupts)
    case 'proxy':
      return runProxy(options, mode.listen, mode.target, report, interrupts)
    case 'tcp-front':
      return runTcpFront(options, mode.listen, mode.tcp, report, interrupts)
  }
}

/** Waits until what was written to `stream` has been handed to the system: exiting sooner may cut it off. */
const flushed = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => {
    if (stream.destroyed || stream.writableEnded) resolve()
    else stream.write('', () => resolve())
  })

async function main(argv: string[]): Promise<number> {
  const report = new Report(argv.includes('-v') || argv.includes('--verbose'))
  let options: CliOptions
  try {
    const command = parseCommandLine(argv)
    if ('help' in command) {
      process.stdout.write(HELP)
      return ExitCode.OK
    }
    if ('version' in command) {
      const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
      process.stdout.write(`watershed ${pkg.version}\n`)
      return ExitCode.OK
    }
    options = command.run
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    report.error(error.message)
    report.error("try 'watershed --help'")
    return error.exitCode
  }
  const interrupts = new Interrupts()
  try {
    return await run(options, new Report(options.verbose), interrupts)
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    report.error(error.message)
    return error.exitCode
  }
}

main(process.argv.slice(2)).then(
  async (code) => {
    await Promise.all([flushed(process.stdout), flushed(process.stderr)])
    process.exit(code)
  },
  (error: unknown) => {
    // Not a failure the command expects: a bug, shown in full.
    process.stderr.write(`watershed: internal error: ${(error as Error)?.stack ?? String(error)}\n`)
    process.exit(ExitCode.FAILURE)
  },
)
