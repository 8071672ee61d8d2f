/** Every case of the suite, in order. */
import type { Case } from '../case'
import { section1 } from './section1-framing'
import { section2 } from './section2-ping-pong'
import { section3 } from './section3-reserved-bits'
import { section4 } from './section4-opcodes'
import { section5 } from './section5-fragmentation'
import { section6 } from './section6-utf8'
import { section7 } from './section7-closing'
import { section9 } from './section9-limits'
import { section10 } from './section10-autofragmentation'
import { section12 } from './section12-deflate-payloads'
import { section13 } from './section13-deflate-parameters'

export const ALL_CASES: Case[] = [
  ...section1, ...section2, ...section3, ...section4, ...section5, ...section6, ...section7, ...section9, ...section10,
  ...section12, ...section13,
]

export const SECTION_TITLES: Record<number, string> = {
  1: 'framing',
  2: 'ping/pong',
  3: 'reserved bits',
  4: 'reserved opcodes',
  5: 'fragmentation',
  6: 'UTF-8',
  7: 'closing',
  9: 'limits/performance',
  10: 'auto-fragmentation',
  12: 'permessage-deflate payloads',
  13: 'permessage-deflate parameters',
}
