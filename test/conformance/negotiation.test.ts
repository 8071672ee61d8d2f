/**
 * The fuzzing peers' own permessage-deflate negotiation (./deflate/negotiation.ts),
 * on its own: the offers it makes, the answers it refuses, and the answers it
 * gives, so that a case of sections 12-13 starts from what RFC 7692 section 7 says.
 */
import t from 'tap'
import { PROFILES, answerOffer, checkAnswer, offerHeader } from './deflate/negotiation'

const profile = (id: number) => PROFILES[id - 1]

t.test('the client offers each profile in order, always allowing client_no_context_takeover and client_max_window_bits', async (t) => {
  t.equal(offerHeader(profile(1)), 'permessage-deflate; client_no_context_takeover; client_max_window_bits')
  t.equal(
    offerHeader(profile(7)),
    'permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=8, ' +
      'permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover, ' +
      'permessage-deflate; client_no_context_takeover; client_max_window_bits',
  )
})

t.test('a legal answer settles the parameters both ends hold to', async (t) => {
  t.strictSame(checkAnswer('permessage-deflate; server_no_context_takeover; server_max_window_bits=8', profile(7)), {
    serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 15,
  })
  t.strictSame(checkAnswer('permessage-deflate; server_no_context_takeover', profile(7)), {
    serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15,
  }, 'the second offer of three')
  t.strictSame(checkAnswer('permessage-deflate; client_max_window_bits=9', profile(1)), {
    serverNoContextTakeover: false, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 9,
  })
})

t.test('an illegal answer is refused, saying why', async (t) => {
  t.match(checkAnswer(undefined, profile(1)), /did not accept/)
  t.match(checkAnswer('permessage-deflate, permessage-deflate', profile(1)), /not one permessage-deflate/)
  t.match(checkAnswer('x-webkit-deflate-frame', profile(1)), /not one permessage-deflate/)
  t.match(checkAnswer('permessage-deflate; mystery', profile(1)), /parameter mystery is not defined for a response/)
  t.match(checkAnswer('permessage-deflate; server_max_window_bits=8; server_max_window_bits=8', profile(3)), /given twice/)
  t.match(checkAnswer('permessage-deflate; client_max_window_bits', profile(1)), /client_max_window_bits=\(none\) is not 8..15/)
  t.match(checkAnswer('permessage-deflate; server_max_window_bits=16', profile(1)), /is not 8..15/)
  t.match(checkAnswer('permessage-deflate; server_no_context_takeover=1', profile(2)), /with a value/)
  t.match(checkAnswer('permessage-deflate; server_max_window_bits=9', profile(3)), /server_max_window_bits=8 was asked for; the answer was 9/)
  t.match(checkAnswer('permessage-deflate', profile(2)), /server_no_context_takeover was asked for and not answered/)
})

t.test('the server answers a client as each profile says, asking a window only where the offer allows it', async (t) => {
  const browserLike = 'permessage-deflate; client_max_window_bits'
  const answer = (header: string | undefined, id: number) => {
    const a = answerOffer(header, profile(id))
    return typeof a === 'string' ? a : a.response
  }
  t.equal(answer(browserLike, 1), 'permessage-deflate')
  t.equal(answer(browserLike, 2), 'permessage-deflate; server_no_context_takeover; client_no_context_takeover')
  t.equal(answer(browserLike, 3), 'permessage-deflate; server_max_window_bits=8; client_max_window_bits=8')
  t.equal(answer(browserLike, 7), 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=8')
  t.equal(answer('permessage-deflate', 3), 'permessage-deflate; server_max_window_bits=8', 'no client_max_window_bits offered: none answered (section 7.1.2.2)')
  t.equal(answer('permessage-deflate; server_max_window_bits=10', 1), 'permessage-deflate; server_max_window_bits=10', "the client's limit on our window is met")
  t.equal(answer('foo, permessage-deflate; bogus, permessage-deflate; client_max_window_bits=12', 3),
    'permessage-deflate; server_max_window_bits=8; client_max_window_bits=8', 'the first valid permessage-deflate offer')
  t.match(answer(undefined, 1), /offered no extension/)
  t.match(answer('permessage-deflate; client_max_window_bits=7', 1), /no valid permessage-deflate/)
})
