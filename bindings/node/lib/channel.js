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

/**
 * How long an aborted call may take to stop through its callbacks (which
 * keeps the connection usable) before psftp_interrupt cuts the connection.
 * A healthy link stops well within it; a stalled one never calls back.
 */
const ABORT_GRACE_MS = 1000;

// Closes connections the program dropped without close(), through the
// queue: after the calls still pending, and never blocking the event loop.
const connections = new FinalizationRegistry((channel) => channel.close());

/** A synchronous call whose failure is read from this thread's last error. */
async function runNow(fn, args, scope) {
  scope?.begin();
  const rc = fn(...args);
  await scope?.end();
  scope?.rethrow(rc);
  return checkSync(rc);
}

/** Channels with a C call running now: interrupted when the process exits. */
const busy = new Set();

process.on('exit', () => {
  // Node joins its worker threads after this, with the event loop gone: a
  // call still waiting on the network (a stalled link) would hold the exit.
  for (const channel of busy) channel.interrupt();
});

class Channel {
  #tail = Promise.resolve();
  #open = true;

  /**
   * @param {bigint} handle a live psftp_conn
   * @param {object} owner the Connection: when it is collected, the connection is closed
   */
  constructor(handle, owner) {
    this.handle = handle;
    this.interrupted = false;
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
   *
   * With an AbortSignal: aborted before the call starts (also while it
   * waits in the queue), it rejects at once with signal.reason and C is
   * never called. Aborted while C runs, every callback of `scope` tells C
   * to stop (the connection stays usable); if C has not returned after
   * ABORT_GRACE_MS (a stalled link calls nothing back), psftp_interrupt
   * cuts the connection, which makes it unusable. Either way a failed
   * call then rejects with signal.reason; one that completed resolves.
   */
  run(fn, args, scope = null, signal = null) {
    if (!signal) return this.#enqueue(() => this.#call(fn, args, scope));
    if (signal.aborted) return Promise.reject(signal.reason);
    let started = false;
    let settled = false;
    let timer = null;
    let rejectQueued;
    const queuedAbort = new Promise((_, reject) => {
      rejectQueued = reject;
    });
    const onAbort = () => {
      if (!started) {
        rejectQueued(signal.reason); // the task sees signal.aborted and skips C
        return;
      }
      scope.stop();
      timer = setTimeout(() => {
        if (settled) return;
        this.interrupt();
      }, ABORT_GRACE_MS);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const task = this.#enqueue(async () => {
      if (signal.aborted) {
        done();
        scope?.release();
        throw signal.reason;
      }
      started = true;
      try {
        return await this.#call(fn, args, scope);
      } catch (e) {
        // An exception of the program's own callback is not hidden.
        throw signal.aborted && !scope?.threw ? signal.reason : e;
      } finally {
        done();
      }
    });
    return Promise.race([task, queuedAbort]);
  }

  async #call(fn, args, scope) {
    // After close() the handle is dead: see runDead().
    if (!this.#open) return runNow(fn, args, scope);
    let rc;
    busy.add(this);
    scope?.begin();
    try {
      rc = await callAsync(fn, args);
    } finally {
      busy.delete(this);
      await scope?.end();
    }
    scope?.rethrow(rc);
    if (rc < 0) throw connError(this.handle, rc);
    return rc;
  }

  /**
   * Run `task()` synchronously on the event loop thread when this
   * connection's earlier calls are done (nothing of this binding runs on
   * it meanwhile). Resolves with its result.
   */
  exclusive(task) {
    return this.#enqueue(async () => task());
  }

  /**
   * psftp_interrupt: whatever runs on the connection returns promptly
   * (ECANCELED) and the connection is unusable afterwards. Synchronous:
   * it is thread-safe and does not wait for the running call.
   */
  interrupt() {
    if (!this.#open) return; // closed: nothing runs, nothing to cut
    this.interrupted = true;
    fns.psftp_interrupt(this.handle);
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

module.exports = { Channel, callAsync, ABORT_GRACE_MS };
