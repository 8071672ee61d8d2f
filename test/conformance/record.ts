/**
 * What one case run leaves behind for the judge: what came back, the
 * closing handshake, how TCP ended, and anything that went wrong on the way.
 */
import type { Received } from './case'

/** When something happened: a global order (seq) and milliseconds since the session began. */
export interface Mark {
  seq: number
  time: number
}

export interface CaseRecord {
  /** Messages and control frames the testee sent before its CLOSE, in order. */
  received: Received[]
  /** Frames the testee sent after its CLOSE. */
  afterClose: string[]
  /** Ways in which the testee's frames broke RFC 6455. */
  violations: string[]
  /** Our CLOSE (initiated, or sent in answer). */
  fuzzerClose: Mark | null
  /** The testee's CLOSE; code 1005 stands for an empty payload; step is the script step running when it came. */
  testeeClose: (Mark & { code: number; reason: string; step: number }) | null
  testeeFin: Mark | null
  fuzzerFin: Mark | null
  reset: (Mark & { code: string }) | null
  closed: Mark | null
  firstWrite: Mark | null
  /** For each pause that expects answers by its end: how many items had come back. */
  checkpoints: Array<{ step: number; received: number }>
  /** When everything expected had come back. */
  echoesDone: Mark | null
  /** Things that went wrong on the way: missing echoes, no answer to CLOSE, a connection left open. */
  problems: string[]
  /** Testee-side observations (its error codes and close event), filled in by the runner. */
  testee: { errors: string[]; closeCode: number | null }
  handshakeError: string | null
  /** Findings that are not faults, for the report (sections 12-13: how many short echoes came compressed). */
  notes: string[]
}

export function emptyRecord(): CaseRecord {
  return {
    received: [], afterClose: [], violations: [], fuzzerClose: null, testeeClose: null, testeeFin: null,
    fuzzerFin: null, reset: null, closed: null, firstWrite: null, checkpoints: [], echoesDone: null, problems: [],
    testee: { errors: [], closeCode: null }, handshakeError: null, notes: [],
  }
}
