'use strict';
// A TCP relay between psftp and the test sshd that can freeze: it then
// stops forwarding in both directions (a stalled link, as when a NAT or a
// firewall silently drops a connection), so a call waits on the network.

const net = require('node:net');

class Relay {
  #server;
  #pairs = new Set();
  #frozen = false;
  /** How many client connections it has accepted. */
  accepted = 0;

  constructor(targetPort, targetHost = '127.0.0.1') {
    this.#server = net.createServer((client) => {
      this.accepted++;
      const upstream = net.connect(targetPort, targetHost);
      const pair = [client, upstream];
      this.#pairs.add(pair);
      for (const [from, to] of [pair, [upstream, client]]) {
        from.on('data', (chunk) => to.write(chunk));
        from.on('end', () => to.end());
        from.on('error', () => to.destroy());
        from.on('close', () => {
          to.destroy();
          this.#pairs.delete(pair);
        });
      }
      if (this.#frozen) pair.forEach((s) => s.pause());
    });
  }

  /** Listen on a free loopback port; resolves with it. */
  listen() {
    return new Promise((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve(this.port)));
  }

  get port() {
    return this.#server.address().port;
  }

  /** Stop forwarding: nothing more is read from either side. */
  freeze() {
    this.#frozen = true;
    for (const pair of this.#pairs) pair.forEach((s) => s.pause());
  }

  /** Drop every connection and stop listening. */
  close() {
    for (const pair of this.#pairs) pair.forEach((s) => s.destroy());
    return new Promise((resolve) => this.#server.close(resolve));
  }
}

module.exports = { Relay };
