/**
 * What a connection keeps of its options: connections made with the same
 * options share one frozen settings object; any one option that differs
 * gives settings of their own.
 */
import t from 'tap'
import { connectionSettings } from '../../lib/connection/settings'
import type { WebSocketDuplexOptions } from '../../lib/connection/websocket-duplex'

const base: WebSocketDuplexOptions = { role: 'server', maxMessageSize: 1 << 20, textAsBytes: false, streamMessages: { threshold: 4 } }

/** One changed value for every field the settings hold (compression aside: those are never shared). */
const changes: Record<string, WebSocketDuplexOptions> = {
  role: { role: 'client' },
  maxMessageSize: { maxMessageSize: 1234 },
  maxFrameSize: { maxFrameSize: 99 },
  maxFragments: { maxFragments: 7 },
  textAsBytes: { textAsBytes: true },
  streamMessages: { streamMessages: { threshold: 5 } },
  maxStreamedMessageSize: { maxStreamedMessageSize: 777 },
  fragmentSize: { fragmentSize: 321 },
  closeTimeout: { closeTimeout: 1111 },
  autoPong: { autoPong: false },
}

t.test('the same options give the same frozen settings', async (t) => {
  const first = connectionSettings({ ...base })
  t.ok(Object.isFrozen(first))
  t.equal(connectionSettings({ ...base }), first)
  t.equal(connectionSettings({ ...base, streamMessages: { threshold: 4 } }), first, 'a threshold compared by value')
})

t.test('every field is told apart, right after settings that differ only in it', async (t) => {
  const fields = Object.keys(connectionSettings({ ...base })).filter((key) => key !== 'compression')
  t.same(Object.keys(changes).sort(), fields.sort(), 'a change for every field')
  for (const [field, change] of Object.entries(changes)) {
    const before = connectionSettings({ ...base })
    const after = connectionSettings({ ...base, ...change })
    t.not(after, before, field)
    const expected = (change as Record<string, unknown>)[field]
    t.same((after as unknown as Record<string, unknown>)[field], expected, `${field} is the new value`)
    // And back: the settings of the base options again, the very same object.
    t.equal(connectionSettings({ ...base }), before, `${field}: back to the shared settings`)
  }
})

t.test('a stream threshold changed later does not change the settings', async (t) => {
  const streamMessages = { threshold: 10 }
  const settings = connectionSettings({ ...base, streamMessages })
  streamMessages.threshold = 20
  t.same(settings.streamMessages, { threshold: 10 })
  t.same(connectionSettings({ ...base, streamMessages }).streamMessages, { threshold: 20 })
})

t.test('settings with compression belong to their connection', async (t) => {
  const compression = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }
  const one = connectionSettings({ ...base, compression })
  const two = connectionSettings({ ...base, compression })
  t.not(one, two)
  t.equal(one.compression, compression)
})
