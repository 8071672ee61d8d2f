/**
 * The payloads of sections 12 and 13: five deterministic stand-ins, of the
 * same character as the reference suite's files (which cannot be shipped),
 * generated from the suite's seeded PRNG, so every run sends the same bytes.
 *
 *   json    text, ~194 KB: pretty-printed JSON records, some non-ASCII names
 *   bitmap  binary, 32,830 B: a 512x512 1-bit BMP with shapes, stripes, noise
 *   german  binary, ~160 KB: German-like prose with umlauts and ß, as UTF-8
 *   html    text, ~264 KB: an HTML page of tables, lists and articles
 *   pdf     binary, ~1 MB: PDF-like objects, text content streams, and
 *           incompressible "FlateDecode" streams (about 60% of the bytes)
 *
 * Each is built on first use and kept for the process.
 */
import { hashSeed, prng } from '../prng'

export type DataSetName = 'json' | 'bitmap' | 'german' | 'html' | 'pdf'

export interface DataSet {
  name: DataSetName
  /** Sent as text messages (so the bytes are UTF-8 and every slice must be too) or binary. */
  text: boolean
  bytes: Buffer
}

const KB = 1024

/** A random source and helpers for one data set. */
function source(name: string) {
  const random = prng(hashSeed(`watershed data set ${name}`))
  const int = (n: number) => Math.floor(random() * n)
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]
  return { random, int, pick }
}

const FIRST = ['Anna', 'Jürgen', 'Zoë', 'Chloé', 'Lars', 'Ömer', 'Siobhán', 'Mateo', 'Ингрид', '陽菜', 'Kai', 'Renée', 'Björn', 'Amélie']
const LAST = ['Müller', 'Schmidt', 'García', 'Nowak', 'Øster', 'Dubois', 'Rossi', 'Kowalski', 'Åberg', 'Yılmaz', 'Smith', 'Núñez']
const CITIES = ['Zürich', 'München', 'Kraków', 'São Paulo', 'Reykjavík', 'Malmö', 'Montréal', 'Berlin', 'Łódź', 'Köln', 'Porto']
const TAGS = ['alpha', 'beta', 'gamma', 'delta', 'vip', 'new', 'legacy', 'trial', 'eu', 'us', 'apac', 'b2b', 'b2c']

function json(): Buffer {
  const { random, int, pick } = source('json')
  const records: string[] = []
  let size = 0
  for (let id = 1; size < 194 * KB; id++) {
    const first = pick(FIRST)
    const last = pick(LAST)
    const record = {
      id,
      guid: Array.from({ length: 4 }, () => int(0x10000).toString(16).padStart(4, '0')).join('-'),
      active: random() < 0.7,
      balance: Math.round(random() * 1_000_000) / 100,
      name: `${first} ${last}`,
      email: `${first.toLowerCase()}.${id}@example.org`,
      address: { street: `${pick(LAST)}straße ${1 + int(200)}`, city: pick(CITIES), zip: String(10000 + int(89999)) },
      tags: Array.from({ length: 1 + int(4) }, () => pick(TAGS)),
      registered: `20${10 + int(15)}-${String(1 + int(12)).padStart(2, '0')}-${String(1 + int(28)).padStart(2, '0')}T${String(int(24)).padStart(2, '0')}:00:00Z`,
      latitude: Math.round((random() * 180 - 90) * 1e6) / 1e6,
      longitude: Math.round((random() * 360 - 180) * 1e6) / 1e6,
    }
    const text = JSON.stringify(record, null, 2).replace(/^/gm, '  ')
    records.push(text)
    size += Buffer.byteLength(text) + 2
  }
  return Buffer.from(`[\n${records.join(',\n')}\n]\n`)
}

/** A 512x512 black-and-white BMP (1 bit per pixel, BITMAPINFOHEADER, 2-colour palette). */
function bitmap(): Buffer {
  const { random } = source('bitmap')
  const side = 512
  const rowBytes = side / 8
  const header = Buffer.alloc(62)
  header.write('BM', 0, 'latin1')
  header.writeUInt32LE(62 + rowBytes * side, 2)
  header.writeUInt32LE(62, 10)
  header.writeUInt32LE(40, 14)
  header.writeInt32LE(side, 18)
  header.writeInt32LE(side, 22)
  header.writeUInt16LE(1, 26)
  header.writeUInt16LE(1, 28)
  header.writeUInt32LE(rowBytes * side, 34)
  header.writeUInt32LE(2835, 38)
  header.writeUInt32LE(2835, 42)
  header.writeUInt32LE(2, 46)
  header.writeUInt32LE(0x00ffffff, 58) // palette: black, then white
  const pixels = Buffer.alloc(rowBytes * side)
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let white: boolean
      if (x < 256 && y < 256) white = Math.floor(Math.hypot(x - 128, y - 128) / 12) % 2 === 0 // rings
      else if (x >= 256 && y < 256) white = ((x >> 4) + (y >> 4)) % 2 === 0 // checkerboard
      else if (x < 256) white = Math.floor((x + y) / 9) % 3 !== 0 // diagonal stripes
      else white = random() < (x - 256) / 256 // dithered gradient: noise
      if (white) pixels[y * rowBytes + (x >> 3)] |= 0x80 >> (x & 7)
    }
  }
  return Buffer.concat([header, pixels])
}

const WORDS = [
  'der', 'die', 'das', 'und', 'nicht', 'über', 'für', 'größer', 'schön', 'Mädchen', 'Straße', 'Fluß', 'heißen', 'Bäume',
  'grün', 'müde', 'Märchen', 'Brücke', 'süß', 'weiß', 'Grüße', 'Öffnung', 'Übermut', 'Schloß', 'Gefühl', 'Nacht',
  'Wald', 'Stadt', 'Zeit', 'immer', 'wieder', 'zwischen', 'hinter', 'während', 'dass', 'könnte', 'würde', 'möchte',
]

function german(): Buffer {
  const { int, pick } = source('german')
  const paragraphs: string[] = []
  let size = 0
  while (size < 160 * KB) {
    const sentences: string[] = []
    for (let s = 3 + int(6); s > 0; s--) {
      const words = Array.from({ length: 5 + int(14) }, () => pick(WORDS))
      words[0] = words[0][0].toUpperCase() + words[0].slice(1)
      if (words.length > 8) words[int(words.length - 2) + 1] += ','
      sentences.push(words.join(' ') + pick(['.', '.', '.', '!', '?', ' …']))
    }
    const paragraph = sentences.join(' ')
    paragraphs.push(paragraph)
    size += Buffer.byteLength(paragraph) + 2
  }
  return Buffer.from(paragraphs.join('\n\n') + '\n')
}

function html(): Buffer {
  const { random, int, pick } = source('html')
  const out: string[] = [
    '<!DOCTYPE html>', '<html lang="de">', '<head>', '  <meta charset="utf-8">', '  <title>Übersicht – Berichte</title>',
    '  <link rel="stylesheet" href="/static/site.css">', '</head>', '<body>',
    '  <nav class="top"><ul>' + TAGS.map((t) => `<li><a href="/${t}/">${t}</a></li>`).join('') + '</ul></nav>',
  ]
  let size = out.join('\n').length
  for (let section = 1; size < 264 * KB; section++) {
    const block: string[] = [`  <section id="s${section}" class="report">`, `    <h2>Abschnitt ${section}: ${pick(CITIES)}</h2>`]
    if (random() < 0.5) {
      block.push('    <table class="data">', '      <thead><tr><th>Name</th><th>Stadt</th><th>Betrag</th></tr></thead>', '      <tbody>')
      for (let r = 3 + int(10); r > 0; r--) {
        block.push(`        <tr><td>${pick(FIRST)} ${pick(LAST)}</td><td>${pick(CITIES)}</td><td class="num">${(random() * 1e4).toFixed(2)} €</td></tr>`)
      }
      block.push('      </tbody>', '    </table>')
    } else {
      for (let p = 1 + int(3); p > 0; p--) {
        const words = Array.from({ length: 20 + int(40) }, () => pick(WORDS)).join(' ')
        block.push(`    <p>${words} <a href="/artikel/${int(1e5)}">„mehr“</a></p>`)
      }
      block.push('    <ul>' + Array.from({ length: 2 + int(4) }, () => `<li>${pick(TAGS)}</li>`).join('') + '</ul>')
    }
    block.push('  </section>')
    const text = block.join('\n')
    out.push(text)
    size += Buffer.byteLength(text) + 1
  }
  out.push('</body>', '</html>', '')
  return Buffer.from(out.join('\n'))
}

function pdf(): Buffer {
  const { random, int, pick } = source('pdf')
  const parts: Buffer[] = [Buffer.from('%PDF-1.5\n%\xe2\xe3\xcf\xd3\n', 'latin1')]
  const offsets: number[] = []
  let size = parts[0].length
  const add = (part: Buffer) => {
    parts.push(part)
    size += part.length
  }
  for (let n = 1; size < 1024 * KB; n++) {
    offsets.push(size)
    const kind = random()
    if (kind < 0.35) {
      // Already compressed data: image or font streams.
      const body = Buffer.alloc(2 * KB + int(14 * KB))
      for (let i = 0; i < body.length; i++) body[i] = int(256)
      add(Buffer.from(`${n} 0 obj\n<< /Length ${body.length} /Filter /FlateDecode >>\nstream\n`, 'latin1'))
      add(body)
      add(Buffer.from('\nendstream\nendobj\n', 'latin1'))
    } else if (kind < 0.7) {
      const lines = Array.from({ length: 10 + int(40) }, (_, i) => `BT /F${1 + int(3)} ${9 + int(4)} Tf 72 ${760 - i * 14} Td (${Array.from({ length: 4 + int(10) }, () => pick(WORDS)).join(' ')}) Tj ET`)
      const body = Buffer.from(lines.join('\n'), 'latin1')
      add(Buffer.from(`${n} 0 obj\n<< /Length ${body.length} >>\nstream\n`, 'latin1'))
      add(body)
      add(Buffer.from('\nendstream\nendobj\n', 'latin1'))
    } else {
      add(Buffer.from(`${n} 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${n + 1} 0 R >> >> /Contents ${n + 2} 0 R >>\nendobj\n`, 'latin1'))
    }
  }
  const xref = ['xref', `0 ${offsets.length + 1}`, '0000000000 65535 f ', ...offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n `)]
  add(Buffer.from(`${xref.join('\n')}\ntrailer\n<< /Size ${offsets.length + 1} /Root 1 0 R >>\nstartxref\n${size}\n%%EOF\n`, 'latin1'))
  return Buffer.concat(parts)
}

const BUILDERS: Record<DataSetName, { text: boolean; build: () => Buffer }> = {
  json: { text: true, build: json },
  bitmap: { text: false, build: bitmap },
  german: { text: false, build: german },
  html: { text: true, build: html },
  pdf: { text: false, build: pdf },
}

const built = new Map<DataSetName, DataSet>()

export function dataSet(name: DataSetName): DataSet {
  let set = built.get(name)
  if (!set) built.set(name, (set = { name, text: BUILDERS[name].text, bytes: BUILDERS[name].build() }))
  return set
}

/** A UTF-8 continuation byte: never the first byte of a character. */
const inside = (byte: number) => (byte & 0xc0) === 0x80

/**
 * Slices a data set cyclically: each slice starts where the previous one
 * ended, wrapping to the start (several times, if the slice is longer than
 * the data set). A text slice ends on a character boundary at or before the
 * nominal size (at most 3 bytes short), so every text message is valid
 * UTF-8: the data set is, and starts and ends on a boundary.
 */
export class Slicer {
  readonly #set: DataSet
  #at = 0

  constructor(set: DataSet) {
    this.#set = set
  }

  next(size: number): Buffer {
    const data = this.#set.bytes
    let length = size
    if (this.#set.text) while (length > 0 && inside(data[(this.#at + length) % data.length])) length--
    const out = Buffer.allocUnsafe(length)
    for (let filled = 0; filled < length;) {
      const n = data.copy(out, filled, this.#at, Math.min(data.length, this.#at + length - filled))
      filled += n
      this.#at = (this.#at + n) % data.length
    }
    return out
  }
}
