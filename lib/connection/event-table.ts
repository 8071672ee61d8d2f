/**
 * Listener tables with fast properties, for objects kept by the thousand.
 *
 * An EventEmitter keeps its listeners in `_events`, which it creates as
 * `{ __proto__: null }`: a dictionary, a hash table of 24 bytes a slot in
 * power-of-two sizes (about 430 bytes once seven events are listened to).
 * Node's own streams start instead with their common events' keys present
 * and undefined: an ordinary object whose shape every stream shares, 8 bytes
 * a key. readable-stream does not, nor does a plain EventEmitter; an idle
 * connection's listener tables were most of what the original API's layer
 * added to it. Keys not in the table still work (the object grows a shape).
 */
import type { EventEmitter } from 'node:events'

type Table = Record<string | symbol, unknown>
type WithTable = EventEmitter & { _events: Table; _eventsCount: number }

/**
 * Gives `emitter` the table `fresh` made (an object literal whose keys are
 * undefined: one literal, so one shape for all), keeping any listener it
 * already has.
 */
export function useEventTable(emitter: EventEmitter, fresh: Table): void {
  const own = emitter as WithTable
  for (const key of Reflect.ownKeys(own._events)) fresh[key] = own._events[key]
  own._events = fresh
}

/** The events listened to: a key left undefined is not one (as Node's streams answer). */
export function listenedEventNames(emitter: EventEmitter): (string | symbol)[] {
  const table = (emitter as WithTable)._events
  return Reflect.ownKeys(table).filter((key) => table[key] !== undefined)
}
