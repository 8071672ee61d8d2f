/**
 * The checks every option goes through, whatever it configures: each throws
 * a TypeError (wrong kind of value) or a RangeError (out of range) that
 * names the option. `undefined` always means the default.
 */
import { MAX_TIMER_DELAY } from './limits'

export type Bag = Record<string, unknown>

export const shown = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value) : value === null || typeof value !== 'object' ? String(value) : typeof value

export function object(value: unknown, name: string): Bag {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object, not ${shown(value)}`)
  }
  return value as Bag
}

export function number(options: Bag, name: string): number | undefined {
  const value = options[name]
  if (value === undefined) return undefined
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, not ${shown(value)}`)
  return value
}

/** A limit on bytes or frames: a positive integer, or Infinity for none. */
export function limit(options: Bag, name: string): void {
  const value = number(options, name)
  if (value !== undefined && value !== Infinity && !(Number.isSafeInteger(value) && value >= 1)) {
    throw new RangeError(`${name} must be a positive integer or Infinity, not ${value}`)
  }
}

/** A positive integer, with no "unlimited". */
export function count(options: Bag, name: string): void {
  const value = number(options, name)
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1)) {
    throw new RangeError(`${name} must be a positive integer, not ${value}`)
  }
}

/** Streams take whole, non-negative high-water marks only. */
export function highWaterMark(options: Bag, name: string): void {
  const value = number(options, name)
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
    throw new RangeError(`${name} must be a non-negative integer, not ${value}`)
  }
}

/** A timer delay in ms; beyond MAX_TIMER_DELAY setTimeout would fire after 1 ms. */
export function delay(options: Bag, name: string, allowZero: boolean): void {
  const value = number(options, name)
  if (value !== undefined && !((allowZero ? value >= 0 : value > 0) && value <= MAX_TIMER_DELAY)) {
    const least = allowZero ? 'a non-negative' : 'a positive'
    throw new RangeError(`${name} must be ${least} number of ms up to ${MAX_TIMER_DELAY}, not ${value}`)
  }
}

export function boolean(options: Bag, name: string): void {
  const value = options[name]
  if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, not ${shown(value)}`)
}

export function fn(options: Bag, name: string): void {
  const value = options[name]
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`${name} must be a function, not ${shown(value)}`)
}

export function strings(value: unknown, name: string): void {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new TypeError(`${name} must be an array of strings`)
  }
}

/**
 * Names other WebSocket libraries use, each with the option meant here:
 * quietly ignored, they would drop a limit or a check the caller asked for.
 */
export function renamed(options: Bag, names: Readonly<Record<string, string>>): void {
  for (const name in names) {
    if (options[name] !== undefined) throw new TypeError(`${name} is not an option here; use ${names[name]}`)
  }
}
