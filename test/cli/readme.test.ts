/**
 * The README's "Command line" section: every command in its recipes is a
 * valid command line, and its exit status table is the command's own.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parseCommandLine } from '../../lib/cli/args'
import { ExitCode } from '../../lib/cli/exit-codes'
import { HELP } from '../../lib/cli/help'
import { ROOT } from '../helpers/cli'

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
const section = readme.slice(readme.indexOf('## Command line'), readme.indexOf('\n## ', readme.indexOf('## Command line') + 1))

/** Words of a shell command line: single and double quotes, no expansion; stops at a redirection, `&`, `|` or `#`. */
function words(line: string): string[] {
  const result: string[] = []
  const pattern = /'([^']*)'|"([^"]*)"|(\S+)/g
  for (let match = pattern.exec(line); match; match = pattern.exec(line)) {
    const word = match[1] ?? match[2] ?? match[3]
    if (match[3] && /^(<|>|>>|&|\||#)/.test(match[3])) break
    result.push(word)
  }
  return result
}

t.test('the README has a Command line section, followed by another', async (t) => {
  t.ok(readme.indexOf('## Command line') > 0 && section.length > 0 && section.length < readme.length / 4)
})

t.test('every watershed command in the recipes is a valid command line', async (t) => {
  const commands = [...section.matchAll(/```sh\n([^`]*)```/g)]
    .flatMap((block) => block[1].split('\n'))
    .map((line) => line.slice(line.indexOf('watershed ')))
    .filter((line) => line.startsWith('watershed '))
  t.ok(commands.length >= 10, `the recipes hold commands (${commands.length})`)
  for (const command of commands) {
    const args = words(command).slice(1)
    t.doesNotThrow(() => {
      const parsed = parseCommandLine(args)
      if (!('run' in parsed)) throw new Error('not a command that runs')
    }, command)
  }
})

t.test('the exit status table is the command\'s own, and the help says the same', async (t) => {
  const table = [...section.matchAll(/^\| (\d+) \| /gm)].map((match) => Number(match[1]))
  t.strictSame(table, Object.values(ExitCode), 'one row per exit status, in order')
  for (const status of table) t.match(HELP, new RegExp(`^  ${status} `, 'm'), `--help explains ${status}`)
})
