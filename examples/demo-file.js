'use strict'
/**
 * What the upload and download demos share: a 64 MiB file of random bytes in
 * a temporary folder that is removed afterwards, the check that a copy is
 * the same file, and how a command ends.
 */
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

/** Runs `demo(dir, source)` with a fresh 64 MiB file `source` in the temporary folder `dir`. */
async function withDemoFile(demo) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'watershed-demo-'))
  try {
    const source = path.join(dir, 'source.bin')
    const block = crypto.randomBytes(1024 * 1024)
    fs.writeFileSync(source, Buffer.concat(Array(64).fill(block)))
    await demo(dir, source)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')

/** The demo's last line: whether `copy` is the same file as `original`. */
const compare = (copy, original) =>
  `[demo] the saved file is ${sha256(copy) === sha256(original) ? 'identical to' : 'DIFFERENT from'} the one sent`

/** Prints what `promise` gives, or its error (exit status 1). */
function finish(promise, print = () => {}) {
  promise.then(print, (error) => {
    console.error(error.message)
    process.exitCode = 1
  })
}

module.exports = { withDemoFile, compare, finish }
