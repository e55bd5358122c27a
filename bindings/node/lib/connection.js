'use strict';
// pysftp Connection over psftp_conn. Every member touches the network, so
// every one runs on a koffi worker thread and returns a Promise.

const fs = require('node:fs');
const net = require('node:net');
const { Readable } = require('node:stream');
const { koffi, fns, types, takeString, takeStrarray, stringsOf, nameOf, sized, entriesOf } = require('./native');
const { PsftpError, codes, codeName, nodeCode, checkSync } = require('./errors');
const { Channel, callAsync } = require('./channel');
const { CallbackScope } = require('./callbacks');
const { Attributes, DirEntry } = require('./attrs');
const { cnoptsFrom, takeHostkey, kHandle } = require('./cnopts');
const { HostKeyAsker } = require('./hostkey');
const { KbdIntAnswerer } = require('./kbdint');
const { withTransferOptions, transferOptions, TREE_SETTINGS } = require('./transfer-options');
const { SftpFile, readStream, writeStream } = require('./file');
const args = require('./args');

const CONNECT_OPTIONS = [
  'host',
  'username',
  'privateKey',
  'privateKeyData',
  'password',
  'port',
  'privateKeyPass',
  'cnopts',
  'defaultPath',
  'hostKeyCallback',
  'keyboardInteractive',
  'socket',
];
const RETRY_OPTIONS = ['retries', 'retryDelay', 'verify'];
const GET_OPTIONS = ['callback', 'preserveMtime', 'atomic', 'resume', 'fsync', 'parallelism', 'signal', ...RETRY_OPTIONS];
const PUT_OPTIONS = ['callback', 'confirm', 'preserveMtime', 'atomic', 'resume', 'fsync', 'parallelism', 'signal', ...RETRY_OPTIONS];
const GETFO_OPTIONS = ['callback', 'signal'];
const PUTFO_OPTIONS = ['fileSize', 'callback', 'confirm', 'atomic', 'fsync', 'signal']; // resume does not apply
const TREE_GET_OPTIONS = ['callback', 'preserveMtime', 'signal', 'retryDelay', ...TREE_SETTINGS];
const TREE_PUT_OPTIONS = [...TREE_GET_OPTIONS, 'confirm'];
// ssh2-sftp-client's own options: accepted, with nothing to do (psftp always pipelines).
const DOWNLOAD_DIR_OPTIONS = [...TREE_GET_OPTIONS, 'useFastget'];
const UPLOAD_DIR_OPTIONS = [...TREE_PUT_OPTIONS, 'useFastput'];

// How many times connect() tries again after a host-key callback accepted a
// key asynchronously (each try may meet a different key, asked about anew).
const HOSTKEY_ATTEMPTS = 3;

// Only connect() may create a Connection.
const kCreate = Symbol('create');

/**
 * psftp_connect_opts for `o` (all but the CnOpts), freed by the caller
 * with psftp_connect_opts_free.
 */
function connectOptions(o) {
  const host = args.str(o.host, 'host');
  const username = args.optStr(o.username, 'username');
  // privateKey may hold the key itself, as ssh2 takes it: a Buffer, or a
  // string that is a PEM/OpenSSH key (no path starts with '-----BEGIN ').
  const keyIsData = Buffer.isBuffer(o.privateKey) || (typeof o.privateKey === 'string' && /^\s*-----BEGIN /.test(o.privateKey));
  if (keyIsData && o.privateKeyData !== undefined && o.privateKeyData !== null) {
    throw new PsftpError(codes.EINVAL, 'privateKey: holds a key, and privateKeyData another; give one');
  }
  const privateKey = keyIsData ? null : args.optStr(o.privateKey, 'privateKey');
  const keySource = keyIsData ? o.privateKey : o.privateKeyData;
  const keyName = keyIsData ? 'privateKey' : 'privateKeyData';
  const keyData = keySource === undefined || keySource === null ? null : args.bytes(keySource, keyName);
  if (keyData !== null && privateKey !== null) {
    throw args.invalid('privateKeyData', 'not given together with privateKey', o.privateKeyData);
  }
  const password = args.optStr(o.password, 'password');
  const port = o.port === undefined ? 0 : args.int(o.port, 'port', 'int32'); // 0: 22
  const privateKeyPass = args.optStr(o.privateKeyPass, 'privateKeyPass');
  const defaultPath = args.optStr(o.defaultPath, 'defaultPath');
  const socket = socketFd(o.socket);
  const out = [null];
  checkSync(fns.psftp_connect_opts_new(host, out));
  const opts = out[0];
  try {
    checkSync(fns.psftp_connect_opts_set_port(opts, port));
    checkSync(fns.psftp_connect_opts_set_username(opts, username));
    checkSync(fns.psftp_connect_opts_set_password(opts, password));
    if (keyData !== null) {
      checkSync(fns.psftp_connect_opts_set_private_key_data(opts, keyData, keyData.length, privateKeyPass));
    } else {
      checkSync(fns.psftp_connect_opts_set_private_key(opts, privateKey, privateKeyPass));
    }
    checkSync(fns.psftp_connect_opts_set_default_path(opts, defaultPath));
    if (socket !== -1) checkSync(fns.psftp_connect_opts_set_socket(opts, socket));
    return opts;
  } catch (e) {
    fns.psftp_connect_opts_free(opts);
    throw e;
  }
}

/**
 * The descriptor connect()'s `socket` stands for: a number as given, or a
 * connected net.Socket's (-1 for none). psftp needs every byte the server
 * sends, from its banner on, but Node reads a connected socket unless it
 * was paused before it connected: so Node's reading is stopped here,
 * before psftp duplicates the descriptor, and a socket Node has already
 * read from is refused. Node keeps both the descriptor and the reading
 * private (`_handle`), hence the private fields.
 */
function socketFd(value) {
  if (value === undefined || value === null) return -1;
  if (!(value instanceof net.Socket)) {
    if (typeof value !== 'number' && typeof value !== 'bigint') {
      throw args.invalid('socket', 'a file descriptor (an integer) or a connected net.Socket', value);
    }
    return args.int(value, 'socket', 'int32');
  }
  const refuse = (why) => new PsftpError(codes.EINVAL, `socket: ${why}`);
  if (value.destroyed) throw refuse('the net.Socket is destroyed');
  if (value.pending) throw refuse("the net.Socket is not connected (wait for its 'connect' event)");
  if (value.encrypted) throw refuse('the net.Socket is a TLS socket; SSH needs the plain one');
  const handle = value._handle;
  if (!handle || !Number.isInteger(handle.fd) || handle.fd < 0) throw refuse('the net.Socket has no file descriptor');
  if (value.bytesRead > 0) {
    throw refuse(`Node has read ${value.bytesRead} bytes from the net.Socket, which psftp needs: pause() it before it connects`);
  }
  value.pause();
  if (handle.reading) {
    handle.reading = false;
    handle.readStop();
  }
  return handle.fd;
}

/**
 * pysftp `Connection(host, username, private_key, password, port,
 * private_key_pass, cnopts, default_path)`. `privateKey` is a key file's
 * path, or 'agent' / 'agent:NAME' for ssh-agent keys; `privateKeyData` a
 * key's contents instead (a Buffer or a string, OpenSSH or PEM), with
 * `privateKeyPass` as its passphrase too. `hostKeyCallback` decides about
 * unknown and changed host keys (see hostkey.js), `keyboardInteractive`
 * answers keyboard-interactive prompts (see kbdint.js), and `socket` is
 * a stream socket the program connected, a net.Socket or a descriptor
 * (psftp duplicates it; the program keeps and closes its own).
 */
async function connect(options) {
  const o = args.options(options, CONNECT_OPTIONS);
  const hostKeyCallback = args.optFunc(o.hostKeyCallback, 'hostKeyCallback');
  const asker = hostKeyCallback ? new HostKeyAsker(hostKeyCallback) : null;
  const kbdFn = args.optFunc(o.keyboardInteractive, 'keyboardInteractive');
  const answerer = kbdFn ? new KbdIntAnswerer(kbdFn) : null;
  const connectOpts = connectOptions(o);
  try {
    for (let attempt = 1; ; attempt++) {
      // With a host-key callback, connect's own copy of the options carries it.
      const { cnopts, owned } = cnoptsFrom(o.cnopts, asker !== null);
      const conn = [null];
      const error = [null]; // the message comes back here: the thread-local one stays on the worker
      let rc;
      let uninstall = null;
      let uninstallKbd = null;
      try {
        const cnoptsHandle = cnopts ? cnopts[kHandle] : null;
        if (asker) uninstall = asker.install(cnoptsHandle);
        if (answerer) uninstallKbd = answerer.install(connectOpts);
        checkSync(fns.psftp_connect_opts_set_cnopts(connectOpts, cnoptsHandle)); // copied now
        rc = await callAsync(fns.psftp_connect_with, [connectOpts, conn, error]);
      } finally {
        uninstall?.();
        uninstallKbd?.();
        if (owned) cnopts.free(); // copied into the connect options
      }
      if (rc >= 0) return new Connection(kCreate, conn[0]);
      const err = new PsftpError(rc, takeString(error[0]));
      asker?.rethrow();
      answerer?.rethrow();
      if (!asker || attempt === HOSTKEY_ATTEMPTS || !(await asker.acceptedLater())) throw err;
    }
  } finally {
    fns.psftp_connect_opts_free(connectOpts);
  }
}

/** Copy a psftp_failure_list psftp allocated and free it; NULL gives []. */
function takeFailures(ptr) {
  if (ptr === null) return [];
  try {
    const list = koffi.decode(ptr, types.failureList);
    const raw = entriesOf(list.items, Number(list.count), types.failure);
    return raw.map((f) => {
      const psftpCode = codeName(f.code);
      return { path: nameOf(f.path), code: nodeCode(psftpCode, 0, f.message), psftpCode, errno: f.code, message: f.message };
    });
  } finally {
    fns.psftp_failure_list_free(ptr);
  }
}

/**
 * `fn` run with the connection in `remotedir` (psftp_cd_push before,
 * psftp_cd_pop after), as one exclusive call: nothing else runs on the
 * connection in between. `prepare()` runs once the directory is changed
 * (it may throw). Callable like a koffi function, sync or async. The pop
 * goes through `main`, the connection's own handle: `handle`, the call's,
 * refuses every call once its token is cancelled.
 */
function inDirectory(handle, main, remotedir, fn, prepare) {
  const sync = (...a) => {
    const rc = fns.psftp_cd_push(handle, remotedir);
    if (rc < 0) return rc;
    try {
      prepare();
      return fn(...a);
    } finally {
      fns.psftp_cd_pop(main);
    }
  };
  sync.async = (...a) => {
    const done = a.pop();
    (async () => {
      const rc = await callAsync(fns.psftp_cd_push, [handle, remotedir]);
      if (rc < 0) return rc;
      try {
        prepare();
        return await callAsync(fn, a);
      } finally {
        await callAsync(fns.psftp_cd_pop, [main]);
      }
    })().then((rc) => done(null, rc), done);
  };
  return sync;
}

/**
 * mkdir -p `dir`. psftp_get_r('.', dir) lands in 'dir/.', which psftp
 * fails to create when `dir` is missing (a trailing '.'), though it creates
 * the destination of any other remotedir.
 */
function makeLocalDir(dir) {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new PsftpError(codes.ELOCALIO, `create local '${dir}': ${e.message}`);
  }
}

/** ssh2-sftp-client's filter function has no equivalent: psftp filters with globs. */
function noFilterFunction(o) {
  if (o.filter !== undefined) {
    const err = new TypeError(
      'options.filter (a function) is not supported: psftp selects files with glob patterns, ' +
        "options.include and options.exclude (e.g. { exclude: ['*.tmp', 'cache'] })",
    );
    err.code = 'ERR_INVALID_ARG_VALUE';
    throw err;
  }
  return omit(o, 'filter');
}

/**
 * getfo's destination as `(chunk, flow)`: a function (returning false
 * stops) or an object with write(); a Writable's false from write() is
 * backpressure: the download waits for its 'drain'.
 */
function sinkOf(flo) {
  if (typeof flo === 'function') return (chunk) => flo(chunk);
  if (flo && typeof flo.write === 'function') {
    return (chunk, flow) => {
      if (flo.write(chunk) === false && typeof flo.once === 'function') {
        flow.pause();
        flo.once('drain', flow.resume);
      }
    };
  }
  throw args.invalid('flo', 'a function or an object with a write() method', flo);
}

/** putfo's source as a function of the most bytes C can take. */
function sourceOf(flo) {
  if (flo instanceof Readable) return flo; // piped into the relay
  if (typeof flo === 'function') {
    return (max) => {
      const chunk = flo(max);
      return chunk === null || chunk === undefined ? null : args.bytes(chunk, 'chunk');
    };
  }
  const data = args.bytes(flo, 'flo');
  let pos = 0;
  return (max) => {
    const chunk = data.subarray(pos, pos + max);
    pos += chunk.length;
    return chunk;
  };
}

/** mkdir's (mode | recursive | { mode, recursive, signal }, options). */
function modeOptions(modeOrOptions, options) {
  if (modeOrOptions !== null && typeof modeOrOptions === 'object') {
    const o = args.options(modeOrOptions, ['mode', 'recursive', 'signal']);
    return { mode: 0o777, recursive: false, ...o };
  }
  const { signal } = args.options(options, ['signal']);
  if (typeof modeOrOptions === 'boolean') return { mode: 0o777, recursive: modeOrOptions, signal };
  return { mode: modeOrOptions ?? 0o777, recursive: false, signal };
}

/**
 * How a call runs, from its options ({ signal }); `exclusive` for a call
 * that changes what later calls see. With `name`, arguments past the
 * options (`extra`), or options that are not an object (rmdir(path,
 * true)), are errors with `hint`.
 */
function callOptions(options, exclusive = false, name = null, extra = [], hint = undefined) {
  if (name !== null) {
    const notOptions = options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options));
    noMore(name, notOptions ? [options, ...extra] : extra, hint);
  }
  const o = args.options(options, ['signal']);
  return { signal: args.signal(o.signal, 'options.signal'), exclusive };
}

class Connection {
  #channel;

  constructor(token, handle) {
    if (token !== kCreate) throw new TypeError('Use psftp.connect(options) to open a Connection');
    this.#channel = new Channel(handle, this);
  }

  /**
   * Run `name` (conn, ...rest) on this connection. `how`: { signal,
   * scope (the call's callbacks), exclusive (the call changes what later
   * calls see: it runs after the earlier ones, before the later ones) }.
   */
  #run(how, name, ...rest) {
    return this.#channel.run((handle) => [fns[name], [handle, ...rest]], how);
  }

  async #string(how, name, ...rest) {
    const out = [null];
    await this.#run(how, name, ...rest, out);
    return takeString(out[0]);
  }

  async #bool(name, remotepath, options) {
    const out = [false];
    await this.#run(callOptions(options), name, args.path(remotepath, 'remotepath'), out);
    return out[0];
  }

  async #attrs(name, remotepath, options) {
    const out = sized(types.attrs);
    await this.#run(callOptions(options), name, args.path(remotepath, 'remotepath'), out);
    return new Attributes(out);
  }

  async #stringPair(name, options) {
    const local = [null];
    const remote = [null];
    await this.#run(callOptions(options), name, local, remote);
    return { local: takeString(local[0]), remote: takeString(remote[0]) };
  }

  // ---- connection ----

  /** pysftp `close()`: after the calls made before it; later calls fail with EINVAL. Closing twice is harmless. */
  async close() {
    return this.#channel.close();
  }

  async [Symbol.asyncDispose]() {
    await this.close();
  }

  /**
   * Abort whatever the connection is doing now (psftp_interrupt): a
   * running call rejects promptly with ECANCELED, even on a stalled link,
   * and the connection is unusable afterwards (close it). Synchronous.
   */
  interrupt() {
    this.#channel.interrupt();
  }

  /** How many times the last get, put or tree operation to finish reconnected (see the retries option). */
  get lastRetries() {
    return fns.psftp_conn_last_retries(this.#channel.handle);
  }

  /** Whether interrupt() ran, or an AbortSignal had to interrupt a call: the connection is unusable. */
  get interrupted() {
    return this.#channel.interrupted;
  }

  /** pysftp `remote_server_key`: { keyType, base64, fingerprint }. */
  async remoteServerKey(options) {
    const out = [null];
    await this.#run(callOptions(options), 'psftp_remote_server_key', out);
    return takeHostkey(out[0]);
  }

  /** pysftp `active_ciphers`: { local, remote }. */
  async activeCiphers(options) {
    return this.#stringPair('psftp_active_ciphers', options);
  }

  /** pysftp `active_compression`: { local, remote }. */
  async activeCompression(options) {
    return this.#stringPair('psftp_active_compression', options);
  }

  /** pysftp `security_options`: what this build can negotiate, best first. */
  async securityOptions(options) {
    const out = [null];
    await this.#run(callOptions(options), 'psftp_security_options', out);
    try {
      const info = koffi.decode(out[0], types.securityInfo);
      return {
        ciphers: stringsOf(info.ciphers),
        digests: stringsOf(info.digests),
        keyTypes: stringsOf(info.key_types),
        kex: stringsOf(info.kex),
        compression: stringsOf(info.compression),
      };
    } finally {
      fns.psftp_security_info_free(out[0]);
    }
  }

  /** pysftp `timeout` (getter): seconds a read or write may wait; 0 is no limit. */
  async timeout(options) {
    const out = [0];
    await this.#run(callOptions(options), 'psftp_timeout', out);
    return out[0];
  }

  /** pysftp `timeout = seconds`; 0 is no limit. */
  async setTimeout(seconds, options) {
    await this.#run(callOptions(options, true), 'psftp_set_timeout', args.num(seconds, 'seconds'));
  }

  /** pysftp `logfile`: the log's path, or null when not logging. */
  async logfile(options) {
    return this.#string(callOptions(options), 'psftp_logfile');
  }

  /** pysftp `execute(command)`: { lines (stdout's then stderr's, with newlines), exitStatus }. */
  async execute(command, options) {
    const lines = [null];
    const status = [0];
    await this.#run(callOptions(options), 'psftp_execute', args.str(command, 'command'), lines, status);
    return { lines: takeStrarray(lines[0]), exitStatus: status[0] };
  }

  /**
   * pysftp `sftp_client`: raw LIBSSH2_SESSION and LIBSSH2_SFTP pointers (for
   * koffi users). Use them only inside withSftpClient().
   */
  async sftpClient(options) {
    const session = [null];
    const sftp = [null];
    await this.#run(callOptions(options), 'psftp_sftp_client', session, sftp);
    return { session: session[0], sftp: sftp[0] };
  }

  /**
   * Run `fn({ session, sftp })` synchronously while holding the connection
   * (psftp_lock): after this connection's earlier calls, with keepalives
   * paused and later calls queued until it returns. For direct libssh2
   * calls through koffi; fn must not use this Connection. Resolves with
   * fn's result.
   */
  async withSftpClient(fn) {
    args.func(fn, 'fn');
    const pointers = await this.sftpClient();
    const channel = this.#channel;
    return channel.exclusive(() => {
      checkSync(fns.psftp_lock(channel.handle));
      try {
        return fn(pointers);
      } finally {
        fns.psftp_unlock(channel.handle);
      }
    });
  }

  /** Whether the server offers the SFTP extension `name`. */
  async hasExtension(name, options) {
    const out = [false];
    await this.#run(callOptions(options), 'psftp_has_extension', args.str(name, 'name'), out);
    return out[0];
  }

  // ---- directories and paths ----

  /** pysftp `listdir`: names sorted, without . and .. */
  async listdir(remotepath = '.', options) {
    const out = [null];
    await this.#run(callOptions(options), 'psftp_listdir', args.path(remotepath, 'remotepath'), out);
    return takeStrarray(out[0]);
  }

  /** pysftp `listdir_attr`: DirEntry objects sorted by filename. */
  async listdirAttr(remotepath = '.', options, ...extra) {
    const how = callOptions(options, false, 'listdirAttr', extra, "list(path, filter) is ssh2-sftp-client's: use psftp.SftpClient, or filter the result");
    const out = [null];
    await this.#run(how, 'psftp_listdir_attr', args.path(remotepath, 'remotepath'), out);
    try {
      const list = koffi.decode(out[0], types.direntList);
      const raw = entriesOf(list.entries, Number(list.count), types.dirent);
      return raw.map((entry) => new DirEntry(entry, nameOf(entry.filename)));
    } finally {
      fns.psftp_dirent_list_free(out[0]);
    }
  }

  async stat(remotepath, options) {
    return this.#attrs('psftp_stat', remotepath, options);
  }

  async lstat(remotepath, options) {
    return this.#attrs('psftp_lstat', remotepath, options);
  }

  /** false for a missing or inaccessible path. */
  async exists(remotepath, options) {
    return this.#bool('psftp_exists', remotepath, options);
  }

  async lexists(remotepath, options) {
    return this.#bool('psftp_lexists', remotepath, options);
  }

  async isdir(remotepath, options) {
    return this.#bool('psftp_isdir', remotepath, options);
  }

  async isfile(remotepath, options) {
    return this.#bool('psftp_isfile', remotepath, options);
  }

  /** pysftp `chdir`; null or no argument resets to the server's default directory. */
  async chdir(remotepath, options) {
    await this.#run(callOptions(options, true), 'psftp_chdir', args.optPath(remotepath, 'remotepath'));
  }

  /** pysftp `cwd`: a synonym of chdir. */
  async cwd(remotepath, options) {
    await this.#run(callOptions(options, true), 'psftp_cwd', args.optPath(remotepath, 'remotepath'));
  }

  /**
   * pysftp `with sftp.cd(remotepath):` — `cd(remotepath, body)` or the
   * bookmark form `cd(body)`: runs `await body(this)` in that directory
   * and always returns to the one before. Resolves with body's result.
   */
  async cd(remotepath, body) {
    if (typeof remotepath === 'function') return this.cd(null, remotepath);
    args.func(body, 'body');
    // Push and pop, not psftp_cd(): its body is a C callback that cannot await.
    await this.cdPush(remotepath);
    try {
      return await body(this);
    } finally {
      await this.cdPop();
    }
  }

  /** Remember the directory and change to `remotepath` (null: only remember). */
  async cdPush(remotepath, options) {
    await this.#run(callOptions(options, true), 'psftp_cd_push', args.optPath(remotepath, 'remotepath'));
  }

  /** Return to the directory the matching cdPush() remembered. */
  async cdPop(options) {
    await this.#run(callOptions(options, true), 'psftp_cd_pop');
  }

  /** pysftp `getcwd()`: null until the first chdir. */
  async getcwd(options) {
    return this.#string(callOptions(options), 'psftp_getcwd');
  }

  /** pysftp `pwd`: the current directory as the server names it. */
  async pwd(options) {
    return this.#string(callOptions(options), 'psftp_pwd');
  }

  async normalize(remotepath, options) {
    return this.#string(callOptions(options), 'psftp_normalize', args.path(remotepath, 'remotepath'));
  }

  /** The link's target as an absolute path. */
  async readlink(remotelink, options) {
    return this.#string(callOptions(options), 'psftp_readlink', args.path(remotelink, 'remotelink'));
  }

  /**
   * pysftp `mkdir(remotepath, mode=777)`; also `mkdir(path, { mode, recursive })`
   * and `mkdir(path, true)` (recursive, as makedirs).
   */
  async mkdir(remotepath, modeOrOptions, options) {
    const { mode, recursive, signal } = modeOptions(modeOrOptions, options);
    if (args.bool(recursive, 'recursive')) return this.makedirs(remotepath, mode, { signal });
    await this.#run(callOptions({ signal }), 'psftp_mkdir', args.path(remotepath, 'remotepath'), args.mode(mode));
  }

  /** pysftp `makedirs`: every missing level; fine if it exists. */
  async makedirs(remotedir, mode = 0o777, options) {
    await this.#run(callOptions(options), 'psftp_makedirs', args.path(remotedir, 'remotedir'), args.mode(mode));
  }

  async rmdir(remotepath, options, ...extra) {
    const how = callOptions(options, false, 'rmdir', extra, 'rmdir(path, true) is recursive in ssh2-sftp-client: use psftp.SftpClient for that');
    await this.#run(how, 'psftp_rmdir', args.path(remotepath, 'remotepath'));
  }

  async remove(remotefile, options, ...extra) {
    const hint = "delete(path, true) means 'no error if missing' in ssh2-sftp-client: use psftp.SftpClient for that";
    await this.#run(callOptions(options, false, 'remove', extra, hint), 'psftp_remove', args.path(remotefile, 'remotefile'));
  }

  async unlink(remotefile, options, ...extra) {
    await this.#run(callOptions(options, false, 'unlink', extra), 'psftp_unlink', args.path(remotefile, 'remotefile'));
  }

  /** pysftp `rename`: EEXIST if the destination exists (posixRename replaces). */
  async rename(remoteSrc, remoteDest, options) {
    await this.#run(callOptions(options), 'psftp_rename', args.path(remoteSrc, 'remoteSrc'), args.path(remoteDest, 'remoteDest'));
  }

  /** Rename that atomically replaces the destination. */
  async posixRename(remoteSrc, remoteDest, options) {
    await this.#run(callOptions(options), 'psftp_posix_rename', args.path(remoteSrc, 'remoteSrc'), args.path(remoteDest, 'remoteDest'));
  }

  /** Make `remoteDest` a hard link to `remoteSrc`. */
  async hardlink(remoteSrc, remoteDest, options) {
    await this.#run(callOptions(options), 'psftp_hardlink', args.path(remoteSrc, 'remoteSrc'), args.path(remoteDest, 'remoteDest'));
  }

  /** pysftp `symlink`: make the link `remoteDest` pointing to `remoteSrc`. */
  async symlink(remoteSrc, remoteDest, options) {
    await this.#run(callOptions(options), 'psftp_symlink', args.path(remoteSrc, 'remoteSrc'), args.path(remoteDest, 'remoteDest'));
  }

  /** pysftp `chmod(remotepath, mode=777)`, with Node's modes: 0o644 or '644' is rw-r--r--. */
  async chmod(remotepath, mode = 0o777, options) {
    await this.#run(callOptions(options), 'psftp_chmod', args.path(remotepath, 'remotepath'), args.mode(mode));
  }

  /** pysftp `chown(remotepath, uid=None, gid=None)`: an id left out is kept. */
  async chown(remotepath, uid, gid, options) {
    const id = (v, name) => (v === undefined || v === null ? -1 : args.int(v, name));
    await this.#run(callOptions(options), 'psftp_chown', args.path(remotepath, 'remotepath'), id(uid, 'uid'), id(gid, 'gid'));
  }

  /** pysftp `truncate`: resolves with the size the server reports afterwards. */
  async truncate(remotepath, size, options) {
    const out = [0];
    await this.#run(callOptions(options), 'psftp_truncate', args.path(remotepath, 'remotepath'), args.int(size, 'size', 'uint64'), out);
    return out[0];
  }

  /** Set access and modification times (seconds since the epoch, or Dates). */
  async utime(remotepath, atime, mtime, options) {
    await this.#run(
      callOptions(options),
      'psftp_utime',
      args.path(remotepath, 'remotepath'),
      args.seconds(atime, 'atime'),
      args.seconds(mtime, 'mtime'),
    );
  }

  /** Free-space figures (statvfs@openssh.com). */
  async statvfs(remotepath, options) {
    const out = sized(types.statvfs);
    await this.#run(callOptions(options), 'psftp_statvfs', args.path(remotepath, 'remotepath'), out);
    delete out.struct_size;
    return out;
  }

  /**
   * pysftp `walktree(remotepath, fcallback, dcallback, ucallback, recurse=True)`.
   * Callbacks get (path, attrs) and run synchronously; returning false
   * stops the walk (EUSER), WALK_SKIP from dcallback skips a directory.
   * The fifth argument is `recurse` or the options { recurse, signal }.
   */
  async walktree(remotepath, fcallback, dcallback, ucallback, recurseOrOptions = true) {
    const o = typeof recurseOrOptions === 'object' && recurseOrOptions !== null ? recurseOrOptions : { recurse: recurseOrOptions };
    const { recurse = true, signal } = args.options(o, ['recurse', 'signal']);
    const scope = new CallbackScope();
    const cb = (fn, name) => scope.walk(args.optFunc(fn, name));
    await this.#run(
      { scope, signal: args.signal(signal, 'options.signal') },
      'psftp_walktree',
      args.path(remotepath, 'remotepath'),
      cb(fcallback, 'fcallback'),
      cb(dcallback, 'dcallback'),
      cb(ucallback, 'ucallback'),
      args.bool(recurse, 'recurse'),
      null,
    );
  }

  // ---- files ----

  /** pysftp `open(remote_file, mode='r', bufsize=-1)`: an SftpFile (binary). */
  async open(remoteFile, mode = 'r', bufsize = -1) {
    const out = [null];
    const argv = [this.#channel.handle, args.path(remoteFile, 'remoteFile'), args.str(mode, 'mode'), args.int(bufsize, 'bufsize'), out];
    await this.#channel.runFile(fns.psftp_open, argv);
    return new SftpFile(this, this.#channel, out[0]);
  }

  /** A Readable of a remote file, from byte `start`. */
  createReadStream(remotepath, { start = 0, ...streamOptions } = {}) {
    args.checkPath(remotepath, 'remotepath');
    args.int(start, 'start', 'uint64');
    return readStream(async () => {
      const file = await this.open(remotepath, 'r');
      if (start) await file.seek(start);
      return file;
    }, streamOptions);
  }

  /** A Writable into a remote file opened with `flags` ('w', 'a' or 'x'); written in place. */
  createWriteStream(remotepath, { flags = 'w', ...streamOptions } = {}) {
    args.checkPath(remotepath, 'remotepath');
    args.str(flags, 'flags');
    return writeStream(() => this.open(remotepath, flags), streamOptions);
  }

  // ---- transfers ----

  /**
   * pysftp `get(remotepath, localpath=None, callback=None, preserve_mtime=False)`;
   * options: { callback(bytesDone, bytesTotal), preserveMtime, atomic, resume, fsync, parallelism }.
   */
  async get(remotepath, localpath, options) {
    const o = args.options(options, GET_OPTIONS);
    const scope = new CallbackScope();
    const signal = args.signal(o.signal, 'options.signal');
    await withTransferOptions(o, (topts) =>
      this.#run(
        { scope, signal },
        'psftp_get',
        args.path(remotepath, 'remotepath'),
        args.optPath(localpath, 'localpath'),
        scope.progress(args.optFunc(o.callback, 'options.callback')),
        scope.userData,
        args.optBool(o.preserveMtime, 'options.preserveMtime', false),
        topts,
      ),
    );
  }

  /**
   * pysftp `put(localpath, remotepath=None, callback=None, confirm=True, preserve_mtime=False)`;
   * options: { callback, confirm, preserveMtime, atomic, resume, fsync, parallelism }. Resolves with the
   * remote Attributes (flags 0 without confirm).
   */
  async put(localpath, remotepath, options) {
    const o = args.options(options, PUT_OPTIONS);
    const scope = new CallbackScope();
    const signal = args.signal(o.signal, 'options.signal');
    const out = sized(types.attrs);
    await withTransferOptions(o, (topts) =>
      this.#run(
        { scope, signal },
        'psftp_put',
        args.path(localpath, 'localpath'),
        args.optPath(remotepath, 'remotepath'),
        scope.progress(args.optFunc(o.callback, 'options.callback')),
        scope.userData,
        args.optBool(o.confirm, 'options.confirm', true),
        args.optBool(o.preserveMtime, 'options.preserveMtime', false),
        topts,
        out,
      ),
    );
    return new Attributes(out);
  }

  /** ssh2-sftp-client's name for get(remotepath, localpath, options). */
  async fastGet(remotepath, localpath, options) {
    return this.get(remotepath, args.checkPath(localpath, 'localpath'), options);
  }

  /** ssh2-sftp-client's name for put(localpath, remotepath, options). */
  async fastPut(localpath, remotepath, options) {
    return this.put(localpath, args.checkPath(remotepath, 'remotepath'), options);
  }

  /**
   * pysftp `getfo(remotepath, flo, callback=None)`: each chunk goes to
   * `flo(chunk)` (returning false stops) or `flo.write(chunk)`. Resolves
   * with the number of bytes. options: { callback }.
   */
  async getfo(remotepath, flo, options) {
    const o = args.options(options, GETFO_OPTIONS);
    const signal = args.signal(o.signal, 'options.signal');
    const remote = args.path(remotepath, 'remotepath');
    const sink = sinkOf(flo);
    const callback = args.optFunc(o.callback, 'options.callback');
    const scope = new CallbackScope();
    const out = [0];
    await this.#run({ scope, signal }, 'psftp_getfo', remote, scope.write(sink), scope.progress(callback), scope.userData, out);
    return out[0];
  }

  /** The whole remote file in a Buffer. options: { callback }. */
  async getBuffer(remotepath, options) {
    const chunks = [];
    await this.getfo(remotepath, (chunk) => void chunks.push(chunk), options);
    return Buffer.concat(chunks);
  }

  /**
   * pysftp `putfo(flo, remotepath, file_size=0, callback=None, confirm=True)`:
   * `flo` is a Buffer, typed array or string, or a function (maxBytes) giving
   * the next chunk (null or empty at the end). options: { fileSize, callback,
   * confirm, atomic, fsync }. Resolves with the remote Attributes.
   */
  async putfo(flo, remotepath, options) {
    const o = args.options(options, PUTFO_OPTIONS);
    const signal = args.signal(o.signal, 'options.signal');
    const source = sourceOf(flo);
    const size = o.fileSize ?? (typeof flo === 'function' || flo instanceof Readable ? 0 : args.bytes(flo, 'flo').length);
    const remote = args.path(remotepath, 'remotepath');
    const fileSize = args.int(size, 'options.fileSize', 'uint64');
    const callback = args.optFunc(o.callback, 'options.callback');
    const confirm = args.optBool(o.confirm, 'options.confirm', true);
    const out = sized(types.attrs);
    await withTransferOptions(o, (topts) => {
      const scope = new CallbackScope();
      const read = scope.read(source);
      const progress = scope.progress(callback);
      return this.#run({ scope, signal }, 'psftp_putfo', read, remote, fileSize, progress, scope.userData, confirm, topts, out);
    });
    return new Attributes(out);
  }

  // ---- tree operations ----

  /**
   * Run a tree operation: `fn` gets (conn, source, dest, ...flags,
   * callback, user_data, opts, failures_out). Resolves with the last
   * progress figures and the failure list (empty on success); a PsftpError
   * carries `failures` and `progress` too.
   */
  async #tree(fn, source, dest, o, put, exclusive = false) {
    const scope = new CallbackScope();
    const signal = args.signal(o.signal, 'options.signal');
    const progress = { filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0 };
    const callback = scope.treeProgress(args.optFunc(o.callback, 'options.callback'), progress);
    const preserveMtime = args.optBool(o.preserveMtime, 'options.preserveMtime', false);
    const flags = put ? [args.optBool(o.confirm, 'options.confirm', true), preserveMtime] : [preserveMtime];
    const withOptions = transferOptions(o);
    const out = [null];
    let error = null;
    try {
      await withOptions((topts) =>
        this.#channel.run((handle) => [fn(handle), [handle, source, dest, ...flags, callback, scope.userData, topts, out]], {
          scope,
          signal,
          exclusive,
        }),
      );
    } catch (e) {
      error = e;
    }
    // Written on success and failure alike; still null if C never ran.
    const failures = takeFailures(out[0]);
    if (error) {
      if (error instanceof PsftpError) Object.assign(error, { failures, progress: { ...progress } });
      throw error;
    }
    return { ...progress, failures };
  }

  /**
   * pysftp `get_d(remotedir, localdir, preserve_mtime=False)`: the regular
   * files directly inside `remotedir`, into `localdir`. options: { callback,
   * preserveMtime, signal, parallelism, sync, include, exclude, symlinks,
   * preserveMode, onError, atomic, resume, fsync }.
   */
  async getD(remotedir, localdir, options) {
    const o = args.options(options, TREE_GET_OPTIONS);
    const src = args.path(remotedir, 'remotedir');
    return this.#tree(() => fns.psftp_get_d, src, args.path(localdir, 'localdir'), o, false);
  }

  /** pysftp `get_r(remotedir, localdir, preserve_mtime=False)`: 'public' lands in localdir/public. Options as getD. */
  async getR(remotedir, localdir, options) {
    const o = args.options(options, TREE_GET_OPTIONS);
    const src = args.path(remotedir, 'remotedir');
    return this.#tree(() => fns.psftp_get_r, src, args.path(localdir, 'localdir'), o, false);
  }

  /** pysftp `put_d(localpath, remotepath, confirm=True, preserve_mtime=False)`. Options as getD, and confirm. */
  async putD(localpath, remotepath, options) {
    const o = args.options(options, TREE_PUT_OPTIONS);
    const src = args.path(localpath, 'localpath');
    return this.#tree(() => fns.psftp_put_d, src, args.path(remotepath, 'remotepath'), o, true);
  }

  /** pysftp `put_r(localpath, remotepath, confirm=True, preserve_mtime=False)`: the contents of localpath into remotepath. */
  async putR(localpath, remotepath, options) {
    const o = args.options(options, TREE_PUT_OPTIONS);
    const src = args.path(localpath, 'localpath');
    return this.#tree(() => fns.psftp_put_r, src, args.path(remotepath, 'remotepath'), o, true);
  }

  /**
   * ssh2-sftp-client's downloadDir(srcDir, dstDir, options): the contents
   * of srcDir, recursively, into dstDir (not dstDir/srcDir as getR).
   * Options as getR.
   */
  async downloadDir(srcDir, dstDir, options) {
    const o = noFilterFunction(args.options(options, [...DOWNLOAD_DIR_OPTIONS, 'filter']));
    args.optBool(o.useFastget, 'options.useFastget', true);
    const src = args.path(srcDir, 'srcDir');
    const dst = args.path(dstDir, 'dstDir');
    // get_r('.', dst) in srcDir lands in reparent(dst, '.'): dst itself.
    // The directory is the connection's: nothing else runs meanwhile.
    const main = this.#channel.handle;
    const getR = (handle) => inDirectory(handle, main, src, fns.psftp_get_r, () => makeLocalDir(dstDir));
    return this.#tree(getR, '.', dst, o, false, true);
  }

  /** ssh2-sftp-client's uploadDir(srcDir, dstDir, options): putR, the contents of srcDir into dstDir. */
  async uploadDir(srcDir, dstDir, options) {
    const o = noFilterFunction(args.options(options, [...UPLOAD_DIR_OPTIONS, 'filter']));
    args.optBool(o.useFastput, 'options.useFastput', true);
    return this.putR(args.checkPath(srcDir, 'srcDir'), args.checkPath(dstDir, 'dstDir'), omit(o, 'useFastput'));
  }
}

/** An argument past the documented ones is an error, not ignored (ssh2-sftp-client look-alikes take more). */
function noMore(name, extra, hint) {
  if (extra.length === 0) return;
  const err = new TypeError(`${name}() takes only the path and { signal }; got ${extra.length} more${hint ? ` (${hint})` : ''}`);
  err.code = 'ERR_INVALID_ARG_VALUE';
  throw err;
}

function omit(o, key) {
  const { [key]: _, ...rest } = o;
  return rest;
}

// pysftp's snake_case names and the names JS users expect, as aliases.
const ALIASES = {
  end: 'close',
  list: 'listdirAttr',
  listdir_attr: 'listdirAttr',
  delete: 'remove',
  remote_server_key: 'remoteServerKey',
  active_ciphers: 'activeCiphers',
  active_compression: 'activeCompression',
  security_options: 'securityOptions',
  set_timeout: 'setTimeout',
  sftp_client: 'sftpClient',
  has_extension: 'hasExtension',
  posix_rename: 'posixRename',
  cd_push: 'cdPush',
  cd_pop: 'cdPop',
  get_d: 'getD',
  get_r: 'getR',
  put_d: 'putD',
  put_r: 'putR',
};
for (const [alias, name] of Object.entries(ALIASES)) {
  Object.defineProperty(Connection.prototype, alias, {
    value: Connection.prototype[name],
    writable: true,
    configurable: true,
  });
}

module.exports = { Connection, connect };
