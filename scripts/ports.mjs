// Free loopback ports for the servers and proxies the tests and the demo start.
import { once } from 'node:events'
import * as net from 'node:net'

/** A TCP port on 127.0.0.1 nothing listens on right now (the OS picks it). */
export async function freePort() {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  await once(server, 'close')
  return port
}
