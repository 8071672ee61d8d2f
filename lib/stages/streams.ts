/**
 * The stream classes the library is built on. At run time they are
 * readable-stream's, the same implementation on every Node version the
 * package supports; their declared type is node:stream's, which they match
 * member for member. So the published declarations mention node:stream
 * only: a TypeScript consumer needs nothing beyond @types/node, and a
 * connection or a stage types as the Duplex or Transform that `pipeline()`,
 * `pipe()` and `for await` expect.
 */
import type * as NodeStream from 'node:stream'
import * as ReadableStream from 'readable-stream'

export const Duplex = ReadableStream.Duplex as unknown as typeof NodeStream.Duplex
export const Transform = ReadableStream.Transform as unknown as typeof NodeStream.Transform
export const Readable = ReadableStream.Readable as unknown as typeof NodeStream.Readable
