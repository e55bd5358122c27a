'use strict';
// JS callbacks handed to C. psftp calls them during the C call (from a
// koffi worker thread; koffi runs them on the event loop thread while the
// worker waits). An exception must never cross into C: it is stored, C is
// told to stop, and the call's Promise rejects with that same exception.

const { koffi, fns, types, nameOf } = require('./native');
const { checkSync } = require('./errors');
const { Attributes } = require('./attrs');

/** Return from a walktree directory callback to skip that directory's contents. */
const WALK_SKIP = 'skip';

// C's return values: 0 continues; PSFTP_WALK_SKIP (1) skips a directory;
// any other value stops the operation with PSFTP_E_USER (EUSER).
const C_CONTINUE = 0;
const C_WALK_SKIP = 1;
const C_STOP = -1;

function notAPromise(result) {
  if (result && typeof result.then === 'function') {
    throw new TypeError(
      'A psftp callback returned a Promise: callbacks run while the C call waits, ' +
        'so they must be synchronous functions',
    );
  }
  return result;
}

/** Callbacks of one C call and the first exception any of them threw. */
class CallbackScope {
  #thrown = false;
  #error;
  #stopped = false;

  /**
   * Wrap `fn` for C: `toC` turns its result into C's return value; an
   * exception is kept and `stop` returned. After an exception, or after
   * stop(), every later call also returns `stop` without running `fn`.
   */
  wrap(fn, toC, stop = C_STOP, handlesStop = false) {
    return (...args) => {
      if (this.#thrown || (this.#stopped && !handlesStop)) return stop;
      try {
        const result = toC(notAPromise(fn(...args)));
        // The callback itself may have aborted.
        return this.#stopped && !handlesStop ? stop : result;
      } catch (e) {
        this.#thrown = true;
        this.#error = e;
        return stop;
      }
    };
  }

  /** Make every callback of this call tell C to stop (an AbortSignal fired). */
  stop() {
    this.#stopped = true;
  }

  get stopped() {
    return this.#stopped;
  }

  /** Whether a callback threw. */
  get threw() {
    return this.#thrown;
  }

  /** Re-throw the stored exception, if a callback threw one. */
  rethrow() {
    if (this.#thrown) throw this.#error;
  }

  /** progress(bytesDone, bytesTotal); returning false stops (EUSER). */
  progress(fn) {
    if (!fn) return null;
    return this.wrap((done, total) => fn(done, total), (r) => (r === false ? C_STOP : C_CONTINUE));
  }

  /**
   * progress(bytesDone, bytesTotal), or a callback that only lets stop()
   * reach C when there is no function but a signal: C needs a callback to
   * be told to stop.
   */
  progressOrStop(fn, signal) {
    return fn || signal ? this.progress(fn ?? (() => {})) : null;
  }

  /**
   * A tree operation's progress: `last` keeps the latest figures (the
   * result reports them) and `fn({ filesDone, filesTotal, bytesDone,
   * bytesTotal, currentPath })`, if given, sees them (currentPath a Name:
   * a Buffer when not UTF-8); false stops (EUSER).
   * Always installed, so an abort can stop the operation through it (psftp
   * calls it every 100 ms, also on a stalled link).
   */
  treeProgress(fn, last) {
    return this.wrap(
      (ptr) => {
        const p = koffi.decode(ptr, types.treeProgress);
        last.filesDone = p.files_done;
        last.filesTotal = p.files_total;
        last.bytesDone = p.bytes_done;
        last.bytesTotal = p.bytes_total;
        if (this.#stopped) return false;
        const result = fn ? fn({ ...last, currentPath: nameOf(p.current_path) }) : undefined;
        return this.#stopped ? false : result; // fn itself may have aborted
      },
      (r) => (r === false ? C_STOP : C_CONTINUE),
      C_STOP,
      true,
    );
  }

  /** walk(path, attrs), path a Name; false stops the walk, WALK_SKIP skips a directory. */
  walk(fn) {
    if (!fn) return null;
    return this.wrap(
      (path, attrs) => fn(nameOf(path), new Attributes(koffi.decode(attrs, types.attrs))),
      (r) => (r === false ? C_STOP : r === WALK_SKIP ? C_WALK_SKIP : C_CONTINUE),
    );
  }

  /** getfo's sink: each chunk is copied, since C's memory is only lent. */
  write(sink) {
    return this.wrap(
      (data, len) => sink(Buffer.copyBytesFrom(new Uint8Array(koffi.view(data, Number(len))))),
      (r) => (r === false ? C_STOP : C_CONTINUE),
    );
  }

  /** putfo's source: `source(max)` gives up to max bytes, or an empty/null chunk at the end. */
  read(source) {
    return this.wrap(
      (buf, len) => {
        const max = Number(len);
        const chunk = source(max);
        if (chunk === null || chunk === undefined || chunk.length === 0) return 0;
        if (chunk.length > max) {
          throw new RangeError(`putfo's reader returned ${chunk.length} bytes, more than the ${max} asked for`);
        }
        new Uint8Array(koffi.view(buf, max)).set(chunk);
        return chunk.length;
      },
      (n) => n,
    );
  }
}

/**
 * A JS function psftp calls during one connect (host key, keyboard-
 * interactive): what it throws is kept, C gets `refusal`, and rethrow()
 * throws it again once the connect is over.
 */
class ConnectCallback {
  #thrown = false;
  #error;

  /**
   * Register `call` as the C callback type `type` and give it to the
   * setter `fnName(handle, callback, NULL, NULL)`; returns the unregister
   * function. No user_data, so no finalizer: the JS function lives in the
   * registered callback, which the caller owns through that function.
   */
  register(call, type, refusal, fnName, handle) {
    const callback = koffi.register((...cArgs) => {
      if (this.#thrown) return refusal;
      try {
        return call(...cArgs);
      } catch (e) {
        this.#thrown = true;
        this.#error = e;
        return refusal;
      }
    }, type);
    try {
      checkSync(fns[fnName](handle, callback, null, null));
    } catch (e) {
      koffi.unregister(callback);
      throw e;
    }
    return () => koffi.unregister(callback);
  }

  /** Re-throw what the program's function threw, if it did. */
  rethrow() {
    if (this.#thrown) throw this.#error;
  }
}

module.exports = { CallbackScope, ConnectCallback, WALK_SKIP };
