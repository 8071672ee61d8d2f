'use strict'
/**
 * The 1 MiB block that the gigabyte tests send again and again, the same in
 * this process and in test/helpers/stream-peer.cjs: JSON-like records, so
 * that with permessage-deflate it compresses as ordinary traffic does (about
 * 5.6:1) rather than to nothing.
 */
const MiB = 1024 * 1024

function streamBlock() {
  const records = []
  let length = 0
  for (let i = 0; length < MiB; i++) {
    const record = `{"id":${i},"name":"item ${(i * 7919) % 1009}","price":${(i * 31) % 997}.${i % 100},"tags":["t${i % 13}","u${i % 29}"]},`
    records.push(record)
    length += record.length
  }
  return Buffer.from(records.join('')).subarray(0, MiB)
}

module.exports = { streamBlock, MiB }
