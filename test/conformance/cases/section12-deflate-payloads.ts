/**
 * Section 12: permessage-deflate with different payloads. The default offer
 * and acceptance; five data sets (./deflate/data-sets.ts), each in the 18
 * rows of sizes and fragmentations: the fuzzing peer sends one slice at a
 * time, compressed, and each echo must come back exact, compressed when it is
 * 1024 bytes or more, and judged with the peer's own inflater.
 */
import type { Case } from '../case'
import type { DataSetName } from '../deflate/data-sets'
import { DEFAULT_PROFILE } from '../deflate/negotiation'
import { ROWS, deflateCase } from './deflate-rows'

const SETS: Array<[DataSetName, string]> = [
  ['json', 'JSON text'],
  ['bitmap', 'bitmap (binary)'],
  ['german', 'German prose (binary)'],
  ['html', 'HTML text'],
  ['pdf', 'PDF-like binary'],
]

export const section12: Case[] = SETS.flatMap(([data, what], j) =>
  ROWS.map((row, i) => deflateCase(`12.${j + 1}.${i + 1}`, data, what, row, DEFAULT_PROFILE)),
)
