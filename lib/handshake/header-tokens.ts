/**
 * Comma-separated header token lists (RFC 7230 section 7), parsed in one
 * linear pass: no regular expression over attacker-controlled text, and
 * names such as `__proto__` stay ordinary strings in an array.
 */

/** RFC 7230 tchar: the characters a token may hold. */
export function isTokenChar(code: number): boolean {
  if (code >= 0x30 && code <= 0x39) return true // 0-9
  if ((code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a) return true // A-Z a-z
  return "!#$%&'*+-.^_`|~".includes(String.fromCharCode(code))
}

export function isToken(value: string): boolean {
  if (value.length === 0) return false
  for (let i = 0; i < value.length; i++) if (!isTokenChar(value.charCodeAt(i))) return false
  return true
}

/**
 * Splits a header value into its tokens, trimming optional white space.
 * Returns null if an element is empty or not a token.
 */
export function parseTokenList(value: string): string[] | null {
  const tokens: string[] = []
  let start = -1
  let end = -1
  let spaceAfter = false
  for (let i = 0; i <= value.length; i++) {
    const code = i < value.length ? value.charCodeAt(i) : 0x2c
    if (code === 0x2c) {
      if (start === -1) return null
      tokens.push(value.slice(start, end + 1))
      start = -1
      spaceAfter = false
    } else if (code === 0x20 || code === 0x09) {
      if (start !== -1) spaceAfter = true
    } else if (isTokenChar(code)) {
      if (start === -1) start = i
      else if (spaceAfter) return null // white space inside a token
      end = i
    } else {
      return null
    }
  }
  return tokens
}

/** Whether a list header (possibly repeated) holds `token`, compared case-insensitively. */
export function hasToken(value: string | string[] | undefined, token: string): boolean {
  if (value === undefined) return false
  const wanted = token.toLowerCase()
  // The usual header is the token alone: no list to split.
  if (typeof value === 'string' && value.length === wanted.length) return value.toLowerCase() === wanted
  const values = Array.isArray(value) ? value : [value]
  for (const v of values) {
    for (const item of v.split(',')) if (item.trim().toLowerCase() === wanted) return true
  }
  return false
}
