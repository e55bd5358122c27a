'use strict';
// How a transfer reports to JS without ever waiting for the event loop
// thread. A JS function called from a koffi worker thread makes the worker
// wait until the event loop runs it; at process exit (process.exit(), an
// uncaught exception) the event loop thread instead waits for the worker
// threads to finish, and the process hangs. So transfers get psftp's own
// relay callbacks (psftp_relay_*_cb, C functions that never wait for JS):
// progress figures go to counters the event loop samples with a timer,
// data goes through a pipe the event loop reads or writes like any
// socket, and a stop flag tells the C side to give up (the user's
// callback returned false, an AbortSignal fired, or the process exits).

const fs = require('node:fs');
const net = require('node:net');
const { koffi, fns, types, posix, nameOf } = require('./native');
const { checkSync } = require('./errors');

/** How often a running transfer's progress is sampled for its JS callback. */
const PROGRESS_INTERVAL_MS = 10;

const O_CLOEXEC = 0o2000000;
const F_SETPIPE_SZ = 1031;
// A larger pipe lets a download run further ahead of the JS sink (the
// default is 64 KiB); the kernel may refuse, which only costs speed.
const PIPE_BYTES = 1024 * 1024;

/** Relays of calls running now: stopped when the process exits. */
const running = new Set();

// Leaked relays (a call set up but never started because its arguments
// were refused) release their C handle and descriptors when collected.
const leaks = new FinalizationRegistry((held) => releaseNative(held));

function releaseNative(held) {
  if (held.handle !== null) fns.psftp_relay_free(held.handle);
  held.handle = null;
  for (const fd of held.fds.splice(0)) closeQuietly(fd);
}

function closeQuietly(fd) {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed by its socket
  }
}

function pipe() {
  const fds = new Int32Array(2);
  if (posix.pipe2(fds, O_CLOEXEC) !== 0) throw new Error('psftp: pipe2() failed: cannot relay the data');
  posix.fcntl(fds[1], F_SETPIPE_SZ, 'int', PIPE_BYTES);
  return [fds[0], fds[1]];
}

/**
 * One call's relay: its C handle (the user_data of the relay callbacks)
 * and, for data, a pipe whose far end the C side reads or writes.
 */
class Relay {
  #held;
  #timer = null;
  #seen = 0;
  #onProgress = null;
  #stream = null;
  #streamDone = null;
  #startStream = null;

  /** `cFd`: the pipe end the C callback uses (-1: progress only); `jsFds`: the ones JS owns until their socket does. */
  constructor(cFd = -1, jsFds = []) {
    const out = [null];
    try {
      checkSync(fns.psftp_relay_new(cFd, out));
    } catch (e) {
      for (const fd of [cFd, ...jsFds]) if (fd >= 0) closeQuietly(fd);
      throw e;
    }
    this.#held = { handle: out[0], fds: cFd >= 0 ? [cFd, ...jsFds] : [...jsFds] };
    leaks.register(this, this.#held, this);
  }

  /** A relay whose C side writes a download into a pipe; `onData(chunk, socket)` sees it on the event loop. */
  static forDownload(onData, onError) {
    const [readFd, writeFd] = pipe();
    const relay = new Relay(writeFd, [readFd]);
    relay.#startStream = () => {
      const socket = new net.Socket({ fd: readFd, readable: true, writable: false });
      relay.#held.fds = relay.#held.fds.filter((fd) => fd !== readFd); // the socket owns it now
      relay.#stream = socket;
      relay.#streamDone = new Promise((resolve) => {
        socket.on('data', (chunk) => onData(chunk, socket));
        socket.on('error', (e) => {
          if (!relay.stopped) onError(e);
        });
        socket.on('close', resolve);
      });
    };
    return relay;
  }

  /** A relay whose C side reads an upload from a pipe; `feed(socket)` writes it on the event loop and ends it. */
  static forUpload(feed) {
    const [readFd, writeFd] = pipe();
    const relay = new Relay(readFd, [writeFd]);
    relay.#startStream = () => {
      const socket = new net.Socket({ fd: writeFd, readable: false, writable: true });
      relay.#held.fds = relay.#held.fds.filter((fd) => fd !== writeFd);
      relay.#stream = socket;
      relay.#streamDone = new Promise((resolve) => {
        socket.on('error', () => {}); // EPIPE once the C side stopped reading: the call reports why
        socket.on('close', resolve);
      });
      feed(socket);
    };
    return relay;
  }

  get handle() {
    return this.#held.handle;
  }

  get stopped() {
    return this.#held.handle === null || this.state().stopped;
  }

  /** `fn(state)` runs when the C side reported new figures (sampled, and once at the end). */
  onProgress(fn) {
    this.#onProgress = fn;
  }

  state() {
    const out = { struct_size: koffi.sizeof(types.relayState) };
    checkSync(fns.psftp_relay_get_state(this.#held.handle, out));
    return out;
  }

  /** The path of the last tree progress (a Name), or null. */
  currentPath() {
    const out = [null];
    checkSync(fns.psftp_relay_current_path(this.#held.handle, out));
    if (out[0] === null) return null;
    const raw = out[0];
    try {
      return nameOf(raw);
    } finally {
      fns.psftp_string_free(raw);
    }
  }

  /** Make the C side stop the call (promptly, also while it waits on the pipe). */
  stop() {
    if (this.#held.handle !== null) fns.psftp_relay_stop(this.#held.handle);
    this.#stream?.destroy();
  }

  /** The C call starts: sample progress, move data. */
  begin() {
    running.add(this);
    this.#startStream?.();
    if (this.#onProgress) {
      this.#timer = setInterval(() => this.#sample(), PROGRESS_INTERVAL_MS);
      this.#timer.unref();
    }
  }

  #sample() {
    if (this.#held.handle === null) return;
    const state = this.state();
    if (state.updates === this.#seen) return;
    this.#seen = state.updates;
    this.#onProgress(state);
  }

  /** The C call returned: the last figures, the rest of the data, then release everything. */
  async end() {
    running.delete(this);
    clearInterval(this.#timer);
    // Closing the C side's end of the pipe lets the JS side see its end.
    const cFd = this.#held.fds.shift();
    if (cFd !== undefined) closeQuietly(cFd);
    if (this.#stream?.writable) this.#stream.destroy(); // an upload the C side no longer reads
    await this.#streamDone;
    try {
      if (this.#onProgress) this.#sample();
    } finally {
      this.release();
    }
  }

  /** Free the C handle and any descriptor left (a call that never started). */
  release() {
    leaks.unregister(this);
    releaseNative(this.#held);
  }
}

process.on('exit', () => {
  // Stop every running transfer so its worker thread returns: Node waits
  // for the worker threads after this, and the event loop is gone.
  for (const relay of running) {
    if (relay.handle !== null) fns.psftp_relay_stop(relay.handle);
  }
});

module.exports = { Relay, PROGRESS_INTERVAL_MS };
