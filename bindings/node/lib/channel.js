'use strict';
// How every call on a connection (and on its files) reaches C: on a koffi
// worker thread, each connection call on its own per-call handle (its
// stored error, its cancel token), beside the connection's other calls.

const { fns } = require('./native');
const { connError, checkSync } = require('./errors');

/** Run a C function on a koffi worker thread; resolves with its result. */
function callAsync(fn, args) {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/**
 * How long an aborted call may take to stop through its cancel token
 * (which keeps the connection usable) before psftp_interrupt cuts the
 * connection. A healthy link stops within milliseconds; a call reading a
 * stalled link only sees the token when something arrives.
 */
const ABORT_GRACE_MS = 2000;

// Closes connections the program dropped without close(): after the calls
// still pending, and never blocking the event loop.
const connections = new FinalizationRegistry((channel) => channel.close());

/** A synchronous call whose failure is read from this thread's last error. */
async function runNow(fn, args, scope) {
  scope?.begin();
  const rc = fn(...args);
  await scope?.end();
  scope?.rethrow(rc);
  return checkSync(rc);
}

/** Channels with C calls running now: interrupted when the process exits. */
const busy = new Map(); // Channel -> number of C calls running

process.on('exit', () => {
  // Node joins its worker threads after this, with the event loop gone: a
  // call still waiting on the network (a stalled link) would hold the exit.
  for (const channel of busy.keys()) channel.interrupt();
});

const ignore = () => {};

/**
 * The error an aborted call rejects with, as Node's own APIs make it
 * (fs, stream, timers/promises): name 'AbortError', code 'ABORT_ERR',
 * and the signal's reason as `cause`.
 */
class AbortError extends Error {
  constructor(message = 'The operation was aborted', options = undefined) {
    super(message, options);
    this.name = 'AbortError';
    this.code = 'ABORT_ERR';
  }
}

function abortError(signal) {
  return new AbortError(undefined, { cause: signal.reason });
}

/**
 * A per-call handle on the connection (psftp_conn_with_cancel) and the
 * token that stops the calls made through it. Each call has its own, so
 * its stored error is its own and cancelling it stops nothing else.
 */
function newView(conn) {
  const token = [null];
  checkSync(fns.psftp_cancel_token_new(token));
  const view = [null];
  try {
    checkSync(fns.psftp_conn_with_cancel(conn, token[0], view));
  } catch (e) {
    fns.psftp_cancel_token_free(token[0]);
    throw e;
  }
  return { token: token[0], handle: view[0] };
}

function freeView(view) {
  fns.psftp_close(view.handle); // only the view: the connection stays open
  fns.psftp_cancel_token_free(view.token);
}

/**
 * The calls of one connection. psftp runs calls on one connection at the
 * same time (docs/concurrency.md), so a call does not wait for the calls
 * before it, with two exceptions that keep the order a program wrote:
 *  - calls that change what later calls see (chdir, cdPush, setTimeout,
 *    close, ...) run `exclusive`: after every call before them, and the
 *    calls after them wait for them;
 *  - the calls of open files run one at a time in order: they keep their
 *    errors in the connection handle's stored copy, which a second file
 *    call could overwrite before the first read it.
 * Every other call runs on its own handle from psftp_conn_with_cancel,
 * which stores its error and carries its cancel token.
 */
class Channel {
  #barrier = Promise.resolve(); // the last exclusive call, settled
  #since = new Set(); // calls started after it, settled
  #fileTail = Promise.resolve();
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

  /** `task` after the last exclusive call, beside the others. */
  #shared(task) {
    const result = this.#barrier.then(task);
    const settled = result.then(ignore, ignore);
    const since = this.#since;
    since.add(settled);
    settled.then(() => since.delete(settled));
    return result;
  }

  /** `task` after every call so far; later calls wait for it. */
  #exclusive(task) {
    const result = Promise.all([this.#barrier, ...this.#since]).then(task);
    this.#barrier = result.then(ignore, ignore);
    this.#since = new Set();
    return result;
  }

  /** `task` after the earlier file calls (and the last exclusive call). */
  #fileLane(task) {
    const before = this.#fileTail;
    const result = this.#shared(async () => {
      await before;
      return task();
    });
    this.#fileTail = result.then(ignore, ignore);
    return result;
  }

  /**
   * Call C: `call(handle)` gives [fn, args] for the handle the call runs
   * on (its own per-call handle; the connection's own after close(), so
   * psftp reports the closed handle). Resolves with the result code;
   * rejects with the exception a callback of `scope` threw, with an
   * AbortError, or with a PsftpError.
   *
   * With an AbortSignal: aborted before the call starts (also while it
   * waits for an exclusive call), it rejects at once and C is never
   * called. Aborted while C runs, the call's cancel token stops it: it
   * abandons its requests, closes its remote handles and leaves no part
   * file; the connection and the other calls go on. A call reading a
   * stalled link sees the token only when something arrives, so if C has
   * not returned ABORT_GRACE_MS after the abort, psftp_interrupt cuts the
   * connection (then unusable: `interrupted`). A call that did not
   * complete rejects with an AbortError (`cause`: signal.reason); one
   * that completed resolves.
   */
  run(call, { scope = null, signal = null, exclusive = false } = {}) {
    if (signal?.aborted) {
      scope?.release();
      return Promise.reject(abortError(signal));
    }
    let view = null;
    let settled = false;
    let timer = null;
    let rejectWaiting = ignore;
    const onAbort = () => {
      if (view === null) {
        rejectWaiting(abortError(signal)); // the task sees signal.aborted and skips C
        return;
      }
      fns.psftp_cancel_token_cancel(view.token);
      scope?.stop(); // a relay callback waiting for the program's data stops too
      timer = setTimeout(() => {
        if (!settled) this.interrupt();
      }, ABORT_GRACE_MS);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const task = async () => {
      try {
        if (signal?.aborted) {
          scope?.release();
          throw abortError(signal);
        }
        if (!this.#open) return await runNow(...call(this.handle), scope);
        view = newView(this.handle);
        try {
          return await this.#call(...call(view.handle), view.handle, scope);
        } catch (e) {
          // An exception of the program's own callback is not hidden.
          throw signal?.aborted && !scope?.threw ? abortError(signal) : e;
        } finally {
          settled = true;
          clearTimeout(timer);
          freeView(view);
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    };
    const result = exclusive ? this.#exclusive(task) : this.#shared(task);
    if (!signal) return result;
    const waiting = new Promise((_, reject) => {
      rejectWaiting = reject;
    });
    return Promise.race([result, waiting]);
  }

  async #call(fn, args, errorHandle, scope) {
    let rc;
    busy.set(this, (busy.get(this) ?? 0) + 1);
    scope?.begin();
    try {
      rc = await callAsync(fn, args);
    } finally {
      const n = busy.get(this) - 1;
      if (n === 0) busy.delete(this);
      else busy.set(this, n);
      await scope?.end();
    }
    scope?.rethrow(rc);
    if (rc < 0) throw connError(errorHandle, rc);
    return rc;
  }

  /**
   * A call of an open file (args start with its psftp_file), or psftp_open
   * on the connection's own handle (the file keeps the handle it was
   * opened through): one at a time, in order, errors read from the
   * connection handle's stored copy.
   */
  runFile(fn, args) {
    return this.#fileLane(() => (this.#open ? this.#call(fn, args, this.handle, null) : runNow(fn, args, null)));
  }

  /**
   * Run `task()` synchronously on the event loop thread when this
   * connection's earlier calls are done; later calls wait for it.
   * Resolves with its result.
   */
  exclusive(task) {
    return this.#exclusive(async () => task());
  }

  /**
   * psftp_interrupt: whatever runs on the connection returns promptly
   * (ECANCELED) and the connection is unusable afterwards. Synchronous:
   * it is thread-safe and does not wait for the running calls.
   */
  interrupt() {
    if (!this.#open) return; // closed: nothing runs, nothing to cut
    this.interrupted = true;
    fns.psftp_interrupt(this.handle);
  }

  /**
   * Like runFile(), for a file already closed: psftp fails at once
   * without the network, so the call is synchronous and its thread-local
   * message is read.
   */
  runDead(fn, args) {
    return this.#fileLane(async () => runNow(fn, args, null));
  }

  /** psftp_close after the calls so far; later calls fail as C reports. */
  close() {
    return this.#exclusive(async () => {
      if (!this.#open) return;
      this.#open = false;
      connections.unregister(this);
      await callAsync(fns.psftp_close, [this.handle]);
    });
  }
}

module.exports = { Channel, callAsync, AbortError, ABORT_GRACE_MS };
