/**
 * The 18 rows shared by sections 12 and 13: payload size, number of messages
 * and the sender's automatic fragment size (0: one frame per message), and
 * the case builder both sections use.
 */
import { type Case, NORMAL, def } from '../case'
import type { DataSetName } from '../deflate/data-sets'
import type { Profile } from '../deflate/negotiation'

export interface Row {
  size: number
  count: number
  fragmentSize: number
}

const r = (size: number, count: number, fragmentSize: number): Row => ({ size, count, fragmentSize })

export const ROWS: Row[] = [
  r(16, 1000, 0), r(64, 1000, 0), r(256, 1000, 0), r(1024, 1000, 0), r(4096, 1000, 0), r(8192, 1000, 0),
  r(16384, 1000, 0), r(32768, 1000, 0), r(65536, 1000, 0), r(131072, 1000, 0),
  r(8192, 1000, 256), r(16384, 1000, 256), r(32768, 1000, 256), r(65536, 1000, 256), r(131072, 1000, 256),
  r(131072, 1000, 1024), r(131072, 1000, 4096), r(131072, 1000, 32768),
]

/** Long cases: up to 1000 echoes of 128 KiB each, compressed both ways. */
const SLOW = { echoTimeoutMs: 600_000 }

/** Case `id`: `row.count` slices of `data`, with permessage-deflate negotiated per `profile`, then a clean close. */
export function deflateCase(id: string, data: DataSetName, what: string, row: Row, profile: Profile): Case {
  const frames = row.fragmentSize === 0 ? 'one frame each' : `in ${row.fragmentSize}-byte frames`
  return def(id, `${what}: ${row.size}-byte messages, compressed, ${frames}, each echoed before the next`, NORMAL, () => ({
    steps: [{ kind: 'deflate-echo', data, size: row.size, count: row.count, fragmentSize: row.fragmentSize }],
    received: [],
  }), { ...SLOW, deflate: profile })
}
