import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import t from 'tap'
import { applyMask, nativeMasking, wordMask } from '../../lib/protocol/mask'

function byteMask(data: Uint8Array, key: Uint8Array, offset: number): Buffer {
  const out = Buffer.alloc(data.length)
  for (let i = 0; i < data.length; i++) out[i] = data[i] ^ key[(offset + i) & 3]
  return out
}

for (const [name, mask] of [['applyMask', applyMask], ['the portable word loop', wordMask]] as const) {
t.test(`${name} matches a byte-by-byte XOR for every length, offset and alignment`, async (t) => {
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d])
  const base = Buffer.alloc(300)
  for (let i = 0; i < base.length; i++) base[i] = (i * 131 + 7) & 0xff
  let checked = 0
  for (const length of [0, 1, 3, 4, 31, 32, 33, 63, 64, 100, 257]) {
    for (let start = 0; start < 4; start++) {
      for (let offset = 0; offset < 4; offset++) {
        for (let targetShift = 0; targetShift < 4; targetShift++) {
          const source = base.subarray(start, start + length)
          const target = Buffer.alloc(length + 8).subarray(targetShift, targetShift + length)
          mask(source, key, offset, target)
          if (!target.equals(byteMask(source, key, offset))) t.fail(`len ${length} start ${start} off ${offset}`)
          checked++
        }
      }
    }
  }
  t.equal(checked, 704)
})
}

t.test('uses the native mask exactly when its build loads, unless told not to', async (t) => {
  let nativeBuild = false
  try {
    nativeBuild = require('bufferutil').mask !== require('bufferutil/fallback').mask
  } catch {
    nativeBuild = false
  }
  t.equal(nativeMasking, nativeBuild && !process.env.WATERSHED_NO_BUFFERUTIL)
  // A fresh process with the switch set must take the word loop.
  const probe = "require('./lib/protocol/mask').nativeMasking"
  const out = execFileSync(process.execPath, [...process.execArgv, '-p', probe], {
    cwd: resolve(__dirname, '../..'),
    env: { ...process.env, WATERSHED_NO_BUFFERUTIL: '1' },
  })
  t.equal(String(out).trim(), 'false')
})

t.test('masks in place when source and target are the same buffer', async (t) => {
  const key = Buffer.from([1, 2, 3, 4])
  for (const mask of [applyMask, wordMask]) {
    const data = Buffer.alloc(1000, 0xaa)
    const expected = byteMask(data, key, 2)
    mask(data, key, 2, data)
    t.same(data, expected)
  }
})
