/**
 * The strict verdict of one case run. OK only when the testee sent exactly
 * the expected messages and control frames in order, sent nothing invalid,
 * closed with a code the RFC requires, with the right side closing first,
 * in time for fail-fast cases, and, where a clean close is required, with
 * both CLOSE frames exchanged and TCP closed in the RFC's order, unreset.
 * For cases that end in a failure the RFC does not require a clean close:
 * TCP findings there are notes, not reasons.
 */
import type { Case, Received, Script } from './case'
import type { Mode, Testee } from './delivery'
import type { CaseRecord } from './record'

export interface Verdict {
  ok: boolean
  reasons: string[]
  notes: string[]
}

export interface JudgeContext {
  testee: Testee
  mode: Mode
  /** The testee client's closeTimeout in 'no-fin' mode. */
  closeTimeout?: number
}

const preview = (data: Buffer) => {
  const shown = data.subarray(0, 24)
  const printable = /^[\x20-\x7e]*$/.test(shown.toString('latin1'))
  const text = printable ? JSON.stringify(shown.toString('latin1')) : shown.toString('hex')
  return `${text}${data.length > shown.length ? '…' : ''}`
}
export const describeItem = (r: Received) => `${r.type}(${r.data.length} B${r.data.length > 0 ? ' ' + preview(r.data) : ''})`
const same = (a: Received, b: Received) => a.type === b.type && a.data.equals(b.data)

/** Why `got` is not `want`, or null when it is. */
function compare(want: Received[], got: Received[]): string | null {
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    if (i >= got.length) return `expected ${describeItem(want[i])} as item ${i + 1}, but only ${got.length} came`
    if (i >= want.length) return `unexpected ${describeItem(got[i])} after the ${want.length} expected`
    if (!same(want[i], got[i])) return `item ${i + 1}: expected ${describeItem(want[i])}, got ${describeItem(got[i])}`
  }
  return null
}

export function judge(c: Case, script: Script, rec: CaseRecord, ctx: JudgeContext): Verdict {
  const reasons: string[] = []
  const notes: string[] = []
  if (rec.handshakeError) return { ok: false, reasons: [`handshake: ${rec.handshakeError}`], notes }

  // What came back.
  const options = 'anyOf' in script.received ? script.received.anyOf : [script.received]
  const mismatches = options.map((want) => compare(want, rec.received))
  if (!mismatches.includes(null)) reasons.push(mismatches[0]!)
  for (const point of rec.checkpoints) {
    const step = script.steps[point.step]
    const want = step.kind === 'wait' ? step.received ?? 0 : 0
    if (point.received < want) reasons.push(`only ${point.received} of the ${want} items due had come back by the end of the pause at step ${point.step + 1}`)
  }
  for (const v of rec.violations) reasons.push(`protocol violation: ${v}`)
  if (rec.afterClose.length > 0) reasons.push(`sent ${rec.afterClose.join(', ')} after its CLOSE`)

  // The closing handshake.
  const tc = rec.testeeClose
  const fc = rec.fuzzerClose
  if (!tc) {
    reasons.push(`no CLOSE from the testee; ${tcpStory(rec)}`)
  } else {
    const testeeFirst = !fc || tc.seq < fc.seq
    if (c.close.first === 'fuzzer' && testeeFirst) reasons.push(`the testee sent CLOSE ${tc.code} on its own; expected it to answer ours`)
    if (c.close.first === 'testee' && !testeeFirst) reasons.push('the testee did not fail the connection; it only answered our closing CLOSE')
    if (!c.close.codes.includes(tc.code)) {
      const shown = tc.code === 1005 ? 'an empty CLOSE' : `close code ${tc.code}`
      reasons.push(`${shown}${tc.reason ? ` (reason ${JSON.stringify(tc.reason)})` : ''}; expected ${c.close.codes.join(' or ')}`)
    }
  }
  const deadline = script.steps.findIndex((s) => s.kind === 'wait' && s.failFast)
  if (deadline >= 0 && tc) {
    if (tc.step > deadline) reasons.push('not fail-fast: the CLOSE came only after the rest of the message had been sent')
    else if (tc.step < deadline - 1) reasons.push(`the CLOSE came at step ${tc.step + 1}, before the invalid bytes were sent`)
  }

  // TCP.
  const tcp = tcpIssues(rec, ctx)
  if (c.close.clean) {
    if (!fc) reasons.push('our CLOSE was never sent')
    reasons.push(...tcp.issues)
  } else {
    notes.push(...tcp.issues)
  }
  reasons.push(...tcp.hangs)
  for (const p of rec.problems) if (!reasons.includes(p)) reasons.push(p)

  notes.push(...rec.notes)
  if (reasons.length > 0 && (rec.testee.errors.length > 0 || rec.testee.closeCode !== null)) {
    notes.push(`testee reported: errors [${rec.testee.errors.join(', ')}], 'close' code ${rec.testee.closeCode ?? 'none'}`)
  }
  return { ok: reasons.length === 0, reasons, notes }
}

/** How the TCP connection ended, in words. */
export function tcpStory(rec: CaseRecord): string {
  if (rec.reset) return `the connection was reset (${rec.reset.code})`
  if (!rec.testeeFin) return 'the testee never closed TCP'
  if (rec.fuzzerFin && rec.fuzzerFin.seq < rec.testeeFin.seq) return 'TCP closed, the fuzzer first'
  return 'TCP closed, the testee first'
}

function tcpIssues(rec: CaseRecord, ctx: JudgeContext): { issues: string[]; hangs: string[] } {
  const issues: string[] = []
  const hangs: string[] = []
  if (rec.reset) issues.push(`the connection was reset (${rec.reset.code})`)
  const testeeFin = rec.testeeFin
  const fuzzerFin = rec.fuzzerFin
  if (!testeeFin && !rec.reset) hangs.push('the testee never closed its side of TCP')
  if (ctx.testee === 'server') {
    if (testeeFin && fuzzerFin && fuzzerFin.seq < testeeFin.seq) issues.push('the server did not close TCP first')
  } else if (ctx.mode !== 'no-fin') {
    if (testeeFin && (!fuzzerFin || testeeFin.seq < fuzzerFin.seq)) issues.push('the client closed TCP before the server did')
  } else {
    const timeout = ctx.closeTimeout ?? 0
    const closes = [rec.testeeClose?.time, rec.fuzzerClose?.time].filter((t): t is number => t !== undefined)
    const ended = testeeFin ?? rec.reset
    if (ended && closes.length > 0) {
      const waited = Math.round(ended.time - Math.min(...closes))
      if (waited < timeout * 0.8) issues.push(`the client closed TCP ${waited} ms after the first CLOSE, not waiting for the server (closeTimeout ${timeout} ms)`)
      if (waited > timeout + 2500) hangs.push(`the client took ${waited} ms to give up waiting for the server (closeTimeout ${timeout} ms)`)
    }
  }
  return { issues, hangs }
}
