'use strict';
// How every call on a connection (and on its files) reaches C: one at a
// time, on a koffi worker thread, with the error read from the
// connection's stored copy.

const { fns } = require('./native');
const { connError, checkSync } = require('./errors');

/** Run a C function on a koffi worker thread; resolves with its result. */
function callAsync(fn, args) {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

// Closes connections the program dropped without close(), through the
// queue: after the calls still pending, and never blocking the event loop.
const connections = new FinalizationRegistry((channel) => channel.close());

/** A synchronous call whose failure is read from this thread's last error. */
function runNow(fn, args, scope) {
  const rc = fn(...args);
  scope?.rethrow();
  return checkSync(rc);
}

class Channel {
  #tail = Promise.resolve();
  #open = true;

  /**
   * @param {bigint} handle a live psftp_conn
   * @param {object} owner the Connection: when it is collected, the connection is closed
   */
  constructor(handle, owner) {
    this.handle = handle;
    connections.register(owner, this, this);
  }

  /**
   * Queue `task` behind this connection's earlier calls. psftp serializes
   * calls on a connection anyway; queuing here also keeps the stored last
   * error from being overwritten before its call has read it.
   */
  #enqueue(task) {
    const result = this.#tail.then(task);
    this.#tail = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  /**
   * Call `fn(...args)` (args include the handle) after earlier calls.
   * Resolves with the result code; rejects with the exception a callback
   * of `scope` threw, or with a PsftpError.
   */
  run(fn, args, scope = null) {
    return this.#enqueue(async () => {
      // After close() the handle is dead: see runDead().
      if (!this.#open) return runNow(fn, args, scope);
      const rc = await callAsync(fn, args);
      scope?.rethrow();
      if (rc < 0) throw connError(this.handle, rc);
      return rc;
    });
  }

  /**
   * Like run(), for a handle already closed (this connection, or one of
   * its files): psftp fails at once without the network, so the call is
   * synchronous and its thread-local message is read; a closed handle has
   * no connection that keeps its error.
   */
  runDead(fn, args, scope = null) {
    return this.#enqueue(async () => runNow(fn, args, scope));
  }

  /** psftp_close after the queued calls; later calls fail as C reports. */
  close() {
    return this.#enqueue(async () => {
      if (!this.#open) return;
      this.#open = false;
      connections.unregister(this);
      await callAsync(fns.psftp_close, [this.handle]);
    });
  }
}

module.exports = { Channel, callAsync };
