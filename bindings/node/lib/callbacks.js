'use strict';
// JS callbacks of C calls. An exception must never cross into C: it is
// stored, C is told to stop, and the call's Promise rejects with that same
// exception.

const { koffi, fns, types, nameOf, relayCallbacks } = require('./native');
const { checkSync, PsftpError, codes } = require('./errors');
const { Relay } = require('./relay');
const { Attributes } = require('./attrs');

/** Return from a walktree directory callback to skip that directory's contents. */
const WALK_SKIP = 'skip';

// C's return values: 0 continues; PSFTP_WALK_SKIP (1) skips a directory;
// any other value stops the operation with PSFTP_E_USER (EUSER).
const C_CONTINUE = 0;
const C_WALK_SKIP = 1;
const C_STOP = -1;

const PROMISE_REFUSAL =
  'A psftp callback returned a Promise: its result (false stops the call) is needed at once, ' +
  'so callbacks must be synchronous functions';

/** An async function is refused before the call starts, not only when it first runs. */
function synchronous(fn) {
  if (fn && fn.constructor && fn.constructor.name === 'AsyncFunction') throw new TypeError(PROMISE_REFUSAL);
  return fn;
}

function notAPromise(result) {
  if (result && typeof result.then === 'function') {
    throw new TypeError(PROMISE_REFUSAL);
  }
  return result;
}

/** The most bytes putfo asks its reader function for at a time. */
const READ_CHUNK = 64 * 1024;

/**
 * Callbacks of one C call and the first exception any of them threw.
 *
 * Transfers (progress, getfo's data, putfo's data, tree progress) go
 * through a Relay (relay.js): the C side never waits for this thread, so
 * the program's functions run on the event loop when it gets to them
 * (progress is sampled; data flows through a pipe). walktree's callbacks
 * must answer C and stay koffi callbacks (see wrap()).
 */
class CallbackScope {
  #thrown = false;
  #error;
  #stopped = false;
  #sinkStopped = false;
  #relay = null;

  #relayOf(make = () => new Relay()) {
    this.#relay ??= make();
    return this.#relay;
  }

  /** Run the program's `thunk` on the event loop: false stops the call, an exception is kept and stops it. */
  #run(thunk, onFalse = () => this.#stopCall()) {
    if (this.#thrown || this.#stopped) return;
    try {
      if (notAPromise(thunk()) === false) onFalse();
    } catch (e) {
      this.#fail(e);
    }
  }

  #fail(e) {
    if (this.#thrown) return;
    this.#thrown = true;
    this.#error = e;
    this.#stopCall();
  }

  #stopCall() {
    this.#stopped = true;
    this.#relay?.stop();
  }

  /**
   * Wrap `fn` as a koffi callback C calls during the call (walktree):
   * `toC` turns its result into C's return value; an exception is kept and
   * `stop` returned. After an exception, or after stop(), every later call
   * also returns `stop` without running `fn`.
   */
  wrap(fn, toC, stop = C_STOP) {
    return (...args) => {
      if (this.#thrown || this.#stopped) return stop;
      try {
        const result = toC(notAPromise(fn(...args)));
        return this.#stopped ? stop : result; // the callback itself may have aborted
      } catch (e) {
        this.#thrown = true;
        this.#error = e;
        return stop;
      }
    };
  }

  /** The user_data of this call's relay callbacks (null when it has none). */
  get userData() {
    return this.#relay?.handle ?? null;
  }

  /** Make every callback of this call tell C to stop (an AbortSignal fired). */
  stop() {
    this.#stopCall();
  }

  get stopped() {
    return this.#stopped;
  }

  /** Whether a callback threw. */
  get threw() {
    return this.#thrown;
  }

  /** The C call starts (on a worker thread). */
  begin() {
    this.#relay?.begin();
  }

  /** The C call returned: the last progress and data reach the program. */
  async end() {
    await this.#relay?.end();
  }

  /** The call never started: release what it would have used. */
  release() {
    this.#relay?.release();
  }

  /**
   * Re-throw the stored exception, if a callback threw one; a sink that
   * asked to stop did not get all the data, even if C had sent it all.
   */
  rethrow(rc = -1) {
    if (this.#thrown) throw this.#error;
    if (this.#sinkStopped && rc >= 0) {
      throw new PsftpError(codes.EUSER, 'stopped by the write callback (the sink returned false)');
    }
  }

  /**
   * progress(bytesDone, bytesTotal), sampled while bytes move and called
   * once more with the last figures; false stops (EUSER). Installed even
   * without `fn`, so an AbortSignal or the process's exit can stop the call.
   */
  progress(fn) {
    synchronous(fn);
    const relay = this.#relayOf();
    if (fn) relay.onProgress((s) => this.#run(() => fn(s.bytes_done, s.bytes_total)));
    return relayCallbacks.progress;
  }

  /**
   * A tree operation's progress: `last` keeps the latest figures (the
   * result reports them) and `fn({ filesDone, filesTotal, bytesDone,
   * bytesTotal, currentPath })`, if given, sees them (currentPath a Name:
   * a Buffer when not UTF-8); false stops (EUSER).
   */
  treeProgress(fn, last) {
    synchronous(fn);
    const relay = this.#relayOf();
    relay.onProgress((s) => {
      last.filesDone = s.files_done;
      last.filesTotal = s.files_total;
      last.bytesDone = s.bytes_done;
      last.bytesTotal = s.bytes_total;
      if (fn) this.#run(() => fn({ ...last, currentPath: relay.currentPath() }));
    });
    return relayCallbacks.treeProgress;
  }

  /** walk(path, attrs), path a Name; false stops the walk, WALK_SKIP skips a directory. */
  walk(fn) {
    if (!synchronous(fn)) return null;
    return this.wrap(
      (path, attrs) => fn(nameOf(path), new Attributes(koffi.decode(attrs, types.attrs))),
      (r) => (r === false ? C_STOP : r === WALK_SKIP ? C_WALK_SKIP : C_CONTINUE),
    );
  }

  /**
   * getfo's sink: `sink(chunk, flow)` gets each chunk on the event loop
   * (false stops; flow.pause()/flow.resume() apply backpressure: the C
   * side waits while the pipe is full).
   */
  write(sink) {
    const onData = (chunk, socket) => {
      const flow = { pause: () => socket.pause(), resume: () => socket.resume() };
      this.#run(
        () => sink(chunk, flow),
        () => {
          this.#sinkStopped = true;
          this.#stopCall();
        },
      );
    };
    this.#relayOf(() => Relay.forDownload(onData, (e) => this.#fail(e)));
    return relayCallbacks.write;
  }

  /** putfo's source: `source(max)` gives up to max bytes, or an empty/null chunk at the end. */
  read(source) {
    if (typeof source.pipe === 'function') {
      // A Readable: piped, with its backpressure; its error stops the call.
      const pipeIn = (socket) => {
        source.once('error', (e) => this.#fail(e));
        source.pipe(socket);
      };
      this.#relayOf(() => Relay.forUpload(pipeIn));
      return relayCallbacks.read;
    }
    const feed = (socket) => {
      const step = () => {
        for (;;) {
          if (this.#thrown || this.#stopped || socket.destroyed) return;
          let chunk;
          try {
            chunk = source(READ_CHUNK);
            if (chunk && chunk.length > READ_CHUNK) {
              throw new RangeError(`putfo's reader returned ${chunk.length} bytes, more than the ${READ_CHUNK} asked for`);
            }
          } catch (e) {
            this.#fail(e);
            return;
          }
          if (chunk === null || chunk === undefined || chunk.length === 0) {
            socket.end();
            return;
          }
          if (!socket.write(chunk)) {
            socket.once('drain', step);
            return;
          }
        }
      };
      step();
    };
    this.#relayOf(() => Relay.forUpload(feed));
    return relayCallbacks.read;
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
