/**
 * The request head connect() writes itself, and the Host field in it, as
 * http.request would have written them.
 */
import t from 'tap'
import { hostField, requestHead } from '../../lib/handshake/upgrade-exchange'

t.test('the Host field names the port only when it is not the scheme\'s', async (t) => {
  t.equal(hostField('example.com', 80, false, false), 'example.com')
  t.equal(hostField('example.com', 443, true, false), 'example.com')
  t.equal(hostField('example.com', 443, false, false), 'example.com:443')
  t.equal(hostField('example.com', 80, true, false), 'example.com:80')
  t.equal(hostField('127.0.0.1', 8080, false, false), '127.0.0.1:8080')
})

t.test('an IPv6 address is put in brackets; a unix socket is localhost', async (t) => {
  t.equal(hostField('::1', 8080, false, false), '[::1]:8080')
  t.equal(hostField('::1', 443, true, false), '[::1]')
  t.equal(hostField('localhost', 0, false, true), 'localhost')
})

t.test('the request head: a GET over HTTP/1.1, the fields in order, an empty line', async (t) => {
  t.equal(requestHead('/chat?x=1', { Host: 'h', Upgrade: 'websocket' }), 'GET /chat?x=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n')
})

t.test('a name given twice in other letter cases is sent once, the later value where the first stood', async (t) => {
  t.equal(requestHead('/', { Host: 'default', Origin: 'o', host: 'given' }), 'GET / HTTP/1.1\r\nHost: given\r\nOrigin: o\r\n\r\n')
})
