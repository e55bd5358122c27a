'use strict';
// pysftp Connection over psftp_conn. Every member touches the network, so
// every one runs on a koffi worker thread and returns a Promise.

const { Readable } = require('node:stream');
const { koffi, fns, types, takeString, takeStrarray, stringsOf } = require('./native');
const { PsftpError } = require('./errors');
const { Channel, callAsync } = require('./channel');
const { CallbackScope } = require('./callbacks');
const { Attributes, DirEntry } = require('./attrs');
const { cnoptsFrom, takeHostkey, kHandle } = require('./cnopts');
const { withTransferOptions } = require('./transfer-options');
const { SftpFile, readStream, writeStream } = require('./file');
const args = require('./args');

const CONNECT_OPTIONS = [
  'host',
  'username',
  'privateKey',
  'password',
  'port',
  'privateKeyPass',
  'cnopts',
  'defaultPath',
];
const GET_OPTIONS = ['callback', 'preserveMtime', 'atomic', 'resume', 'fsync'];
const PUT_OPTIONS = ['callback', 'confirm', 'preserveMtime', 'atomic', 'resume', 'fsync'];
const GETFO_OPTIONS = ['callback'];
const PUTFO_OPTIONS = ['fileSize', 'callback', 'confirm', 'atomic', 'fsync']; // resume does not apply

// Only connect() may create a Connection.
const kCreate = Symbol('create');

/**
 * pysftp `Connection(host, username, private_key, password, port,
 * private_key_pass, cnopts, default_path)`. `privateKey` is a key file's
 * path, or 'agent' / 'agent:NAME' for ssh-agent keys.
 */
async function connect(options) {
  const o = args.options(options, CONNECT_OPTIONS);
  const host = args.str(o.host, 'host');
  const username = args.optStr(o.username, 'username');
  const privateKey = args.optStr(o.privateKey, 'privateKey');
  const password = args.optStr(o.password, 'password');
  const port = o.port === undefined ? 0 : args.int(o.port, 'port', 'int32'); // 0: 22
  const privateKeyPass = args.optStr(o.privateKeyPass, 'privateKeyPass');
  const defaultPath = args.optStr(o.defaultPath, 'defaultPath');
  const { cnopts, owned } = cnoptsFrom(o.cnopts);
  const conn = [null];
  const error = [null]; // the message comes back here: the thread-local one stays on the worker
  let rc;
  try {
    const cnoptsHandle = cnopts ? cnopts[kHandle] : null;
    rc = await callAsync(fns.psftp_connect, [
      host, username, privateKey, password, port, privateKeyPass, cnoptsHandle, defaultPath, conn, error,
    ]);
  } finally {
    if (owned) cnopts.free(); // psftp_connect copied what it needs
  }
  if (rc < 0) throw new PsftpError(rc, takeString(error[0]));
  return new Connection(kCreate, conn[0]);
}

/** getfo's destination: a function (returning false stops) or an object with write(). */
function sinkOf(flo) {
  if (typeof flo === 'function') return flo;
  if (flo && typeof flo.write === 'function') {
    // A Writable's write() returns false for backpressure, not to stop.
    return (chunk) => void flo.write(chunk);
  }
  throw args.invalid('flo', 'a function or an object with a write() method', flo);
}

/** putfo's source as a function of the most bytes C can take. */
function sourceOf(flo) {
  if (flo instanceof Readable) {
    throw new TypeError(
      'putfo cannot read a stream synchronously: use ' +
        'stream.pipeline(readable, sftp.createWriteStream(remotepath)) instead',
    );
  }
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

function modeOptions(modeOrOptions) {
  if (typeof modeOrOptions === 'boolean') return { mode: 777, recursive: modeOrOptions };
  if (modeOrOptions !== null && typeof modeOrOptions === 'object') {
    return { mode: 777, recursive: false, ...modeOrOptions };
  }
  return { mode: modeOrOptions ?? 777, recursive: false };
}

class Connection {
  #channel;

  constructor(token, handle) {
    if (token !== kCreate) throw new TypeError('Use psftp.connect(options) to open a Connection');
    this.#channel = new Channel(handle, this);
  }

  /** Run `name` on this connection: (conn, ...rest). */
  #run(name, ...rest) {
    return this.#channel.run(fns[name], [this.#channel.handle, ...rest]);
  }

  /** Like #run, with callbacks made by `scope`. */
  #runWith(scope, name, ...rest) {
    return this.#channel.run(fns[name], [this.#channel.handle, ...rest], scope);
  }

  async #string(name, ...rest) {
    const out = [null];
    await this.#run(name, ...rest, out);
    return takeString(out[0]);
  }

  async #bool(name, remotepath) {
    const out = [false];
    await this.#run(name, args.str(remotepath, 'remotepath'), out);
    return out[0];
  }

  async #attrs(name, remotepath) {
    const out = {};
    await this.#run(name, args.str(remotepath, 'remotepath'), out);
    return new Attributes(out);
  }

  async #stringPair(name) {
    const local = [null];
    const remote = [null];
    await this.#run(name, local, remote);
    return { local: takeString(local[0]), remote: takeString(remote[0]) };
  }

  // ---- connection ----

  /** pysftp `close()`: after calls already queued; later calls fail with EINVAL. Closing twice is harmless. */
  async close() {
    return this.#channel.close();
  }

  async [Symbol.asyncDispose]() {
    await this.close();
  }

  /** pysftp `remote_server_key`: { keyType, base64, fingerprint }. */
  async remoteServerKey() {
    const out = [null];
    await this.#run('psftp_remote_server_key', out);
    return takeHostkey(out[0]);
  }

  /** pysftp `active_ciphers`: { local, remote }. */
  async activeCiphers() {
    return this.#stringPair('psftp_active_ciphers');
  }

  /** pysftp `active_compression`: { local, remote }. */
  async activeCompression() {
    return this.#stringPair('psftp_active_compression');
  }

  /** pysftp `security_options`: what this build can negotiate, best first. */
  async securityOptions() {
    const out = [null];
    await this.#run('psftp_security_options', out);
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
  async timeout() {
    const out = [0];
    await this.#run('psftp_timeout', out);
    return out[0];
  }

  /** pysftp `timeout = seconds`; 0 is no limit. */
  async setTimeout(seconds) {
    await this.#run('psftp_set_timeout', args.num(seconds, 'seconds'));
  }

  /** pysftp `logfile`: the log's path, or null when not logging. */
  async logfile() {
    return this.#string('psftp_logfile');
  }

  /** pysftp `execute(command)`: { lines (stdout's then stderr's, with newlines), exitStatus }. */
  async execute(command) {
    const lines = [null];
    const status = [0];
    await this.#run('psftp_execute', args.str(command, 'command'), lines, status);
    return { lines: takeStrarray(lines[0]), exitStatus: status[0] };
  }

  /** pysftp `sftp_client`: raw LIBSSH2_SESSION and LIBSSH2_SFTP pointers (for koffi users). */
  async sftpClient() {
    const session = [null];
    const sftp = [null];
    await this.#run('psftp_sftp_client', session, sftp);
    return { session: session[0], sftp: sftp[0] };
  }

  /** Whether the server offers the SFTP extension `name`. */
  async hasExtension(name) {
    const out = [false];
    await this.#run('psftp_has_extension', args.str(name, 'name'), out);
    return out[0];
  }

  // ---- directories and paths ----

  /** pysftp `listdir`: names sorted, without . and .. */
  async listdir(remotepath = '.') {
    const out = [null];
    await this.#run('psftp_listdir', args.str(remotepath, 'remotepath'), out);
    return takeStrarray(out[0]);
  }

  /** pysftp `listdir_attr`: DirEntry objects sorted by filename. */
  async listdirAttr(remotepath = '.') {
    const out = [null];
    await this.#run('psftp_listdir_attr', args.str(remotepath, 'remotepath'), out);
    try {
      const list = koffi.decode(out[0], types.direntList);
      const count = Number(list.count);
      const raw = count === 0 ? [] : koffi.decode(list.entries, types.dirent, count);
      return raw.map((entry) => new DirEntry(entry));
    } finally {
      fns.psftp_dirent_list_free(out[0]);
    }
  }

  async stat(remotepath) {
    return this.#attrs('psftp_stat', remotepath);
  }

  async lstat(remotepath) {
    return this.#attrs('psftp_lstat', remotepath);
  }

  /** false for a missing or inaccessible path. */
  async exists(remotepath) {
    return this.#bool('psftp_exists', remotepath);
  }

  async lexists(remotepath) {
    return this.#bool('psftp_lexists', remotepath);
  }

  async isdir(remotepath) {
    return this.#bool('psftp_isdir', remotepath);
  }

  async isfile(remotepath) {
    return this.#bool('psftp_isfile', remotepath);
  }

  /** pysftp `chdir`; null or no argument resets to the server's default directory. */
  async chdir(remotepath) {
    await this.#run('psftp_chdir', args.optStr(remotepath, 'remotepath'));
  }

  /** pysftp `cwd`: a synonym of chdir. */
  async cwd(remotepath) {
    await this.#run('psftp_cwd', args.optStr(remotepath, 'remotepath'));
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
  async cdPush(remotepath) {
    await this.#run('psftp_cd_push', args.optStr(remotepath, 'remotepath'));
  }

  /** Return to the directory the matching cdPush() remembered. */
  async cdPop() {
    await this.#run('psftp_cd_pop');
  }

  /** pysftp `getcwd()`: null until the first chdir. */
  async getcwd() {
    return this.#string('psftp_getcwd');
  }

  /** pysftp `pwd`: the current directory as the server names it. */
  async pwd() {
    return this.#string('psftp_pwd');
  }

  async normalize(remotepath) {
    return this.#string('psftp_normalize', args.str(remotepath, 'remotepath'));
  }

  /** The link's target as an absolute path. */
  async readlink(remotelink) {
    return this.#string('psftp_readlink', args.str(remotelink, 'remotelink'));
  }

  /**
   * pysftp `mkdir(remotepath, mode=777)`; also `mkdir(path, { mode, recursive })`
   * and `mkdir(path, true)` (recursive, as makedirs).
   */
  async mkdir(remotepath, modeOrOptions) {
    const { mode, recursive } = modeOptions(modeOrOptions);
    if (args.bool(recursive, 'recursive')) return this.makedirs(remotepath, mode);
    await this.#run('psftp_mkdir', args.str(remotepath, 'remotepath'), args.mode(mode));
  }

  /** pysftp `makedirs`: every missing level; fine if it exists. */
  async makedirs(remotedir, mode = 777) {
    await this.#run('psftp_makedirs', args.str(remotedir, 'remotedir'), args.mode(mode));
  }

  async rmdir(remotepath) {
    await this.#run('psftp_rmdir', args.str(remotepath, 'remotepath'));
  }

  async remove(remotefile) {
    await this.#run('psftp_remove', args.str(remotefile, 'remotefile'));
  }

  async unlink(remotefile) {
    await this.#run('psftp_unlink', args.str(remotefile, 'remotefile'));
  }

  /** pysftp `rename`: EEXIST if the destination exists (posixRename replaces). */
  async rename(remoteSrc, remoteDest) {
    await this.#run('psftp_rename', args.str(remoteSrc, 'remoteSrc'), args.str(remoteDest, 'remoteDest'));
  }

  /** Rename that atomically replaces the destination. */
  async posixRename(remoteSrc, remoteDest) {
    await this.#run('psftp_posix_rename', args.str(remoteSrc, 'remoteSrc'), args.str(remoteDest, 'remoteDest'));
  }

  /** Make `remoteDest` a hard link to `remoteSrc`. */
  async hardlink(remoteSrc, remoteDest) {
    await this.#run('psftp_hardlink', args.str(remoteSrc, 'remoteSrc'), args.str(remoteDest, 'remoteDest'));
  }

  /** pysftp `symlink`: make the link `remoteDest` pointing to `remoteSrc`. */
  async symlink(remoteSrc, remoteDest) {
    await this.#run('psftp_symlink', args.str(remoteSrc, 'remoteSrc'), args.str(remoteDest, 'remoteDest'));
  }

  /** pysftp `chmod(remotepath, mode=777)`: 644 or '644' is rw-r--r--. */
  async chmod(remotepath, mode = 777) {
    await this.#run('psftp_chmod', args.str(remotepath, 'remotepath'), args.mode(mode));
  }

  /** pysftp `chown(remotepath, uid=None, gid=None)`: an id left out is kept. */
  async chown(remotepath, uid, gid) {
    const id = (v, name) => (v === undefined || v === null ? -1 : args.int(v, name));
    await this.#run('psftp_chown', args.str(remotepath, 'remotepath'), id(uid, 'uid'), id(gid, 'gid'));
  }

  /** pysftp `truncate`: resolves with the size the server reports afterwards. */
  async truncate(remotepath, size) {
    const out = [0];
    await this.#run('psftp_truncate', args.str(remotepath, 'remotepath'), args.int(size, 'size', 'uint64'), out);
    return out[0];
  }

  /** Set access and modification times (seconds since the epoch, or Dates). */
  async utime(remotepath, atime, mtime) {
    await this.#run(
      'psftp_utime',
      args.str(remotepath, 'remotepath'),
      args.seconds(atime, 'atime'),
      args.seconds(mtime, 'mtime'),
    );
  }

  /** Free-space figures (statvfs@openssh.com). */
  async statvfs(remotepath) {
    const out = {};
    await this.#run('psftp_statvfs', args.str(remotepath, 'remotepath'), out);
    return out;
  }

  /**
   * pysftp `walktree(remotepath, fcallback, dcallback, ucallback, recurse=True)`.
   * Callbacks get (path, attrs) and run synchronously; returning false
   * stops the walk (ECANCELED), WALK_SKIP from dcallback skips a directory.
   */
  async walktree(remotepath, fcallback, dcallback, ucallback, recurse = true) {
    const scope = new CallbackScope();
    const cb = (fn, name) => scope.walk(args.optFunc(fn, name));
    await this.#runWith(
      scope,
      'psftp_walktree',
      args.str(remotepath, 'remotepath'),
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
    await this.#run(
      'psftp_open',
      args.str(remoteFile, 'remoteFile'),
      args.str(mode, 'mode'),
      args.int(bufsize, 'bufsize'),
      out,
    );
    return new SftpFile(this, this.#channel, out[0]);
  }

  /** A Readable of a remote file, from byte `start`. */
  createReadStream(remotepath, { start = 0, ...streamOptions } = {}) {
    args.str(remotepath, 'remotepath');
    args.int(start, 'start', 'uint64');
    return readStream(async () => {
      const file = await this.open(remotepath, 'r');
      if (start) await file.seek(start);
      return file;
    }, streamOptions);
  }

  /** A Writable into a remote file opened with `flags` ('w', 'a' or 'x'); written in place. */
  createWriteStream(remotepath, { flags = 'w', ...streamOptions } = {}) {
    args.str(remotepath, 'remotepath');
    args.str(flags, 'flags');
    return writeStream(() => this.open(remotepath, flags), streamOptions);
  }

  // ---- transfers ----

  /**
   * pysftp `get(remotepath, localpath=None, callback=None, preserve_mtime=False)`;
   * options: { callback(bytesDone, bytesTotal), preserveMtime, atomic, resume, fsync }.
   */
  async get(remotepath, localpath, options) {
    const o = args.options(options, GET_OPTIONS);
    const scope = new CallbackScope();
    await withTransferOptions(o, (topts) =>
      this.#runWith(
        scope,
        'psftp_get',
        args.str(remotepath, 'remotepath'),
        args.optStr(localpath, 'localpath'),
        scope.progress(args.optFunc(o.callback, 'options.callback')),
        null,
        args.optBool(o.preserveMtime, 'options.preserveMtime', false),
        topts,
      ),
    );
  }

  /**
   * pysftp `put(localpath, remotepath=None, callback=None, confirm=True, preserve_mtime=False)`;
   * options: { callback, confirm, preserveMtime, atomic, resume, fsync }. Resolves with the
   * remote Attributes (flags 0 without confirm).
   */
  async put(localpath, remotepath, options) {
    const o = args.options(options, PUT_OPTIONS);
    const scope = new CallbackScope();
    const out = {};
    await withTransferOptions(o, (topts) =>
      this.#runWith(
        scope,
        'psftp_put',
        args.str(localpath, 'localpath'),
        args.optStr(remotepath, 'remotepath'),
        scope.progress(args.optFunc(o.callback, 'options.callback')),
        null,
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
    return this.get(remotepath, args.str(localpath, 'localpath'), options);
  }

  /** ssh2-sftp-client's name for put(localpath, remotepath, options). */
  async fastPut(localpath, remotepath, options) {
    return this.put(localpath, args.str(remotepath, 'remotepath'), options);
  }

  /**
   * pysftp `getfo(remotepath, flo, callback=None)`: each chunk goes to
   * `flo(chunk)` (returning false stops) or `flo.write(chunk)`. Resolves
   * with the number of bytes. options: { callback }.
   */
  async getfo(remotepath, flo, options) {
    const o = args.options(options, GETFO_OPTIONS);
    const scope = new CallbackScope();
    const out = [0];
    await this.#runWith(
      scope,
      'psftp_getfo',
      args.str(remotepath, 'remotepath'),
      scope.write(sinkOf(flo)),
      scope.progress(args.optFunc(o.callback, 'options.callback')),
      null,
      out,
    );
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
    const scope = new CallbackScope();
    const source = sourceOf(flo);
    const size = o.fileSize ?? (typeof flo === 'function' ? 0 : args.bytes(flo, 'flo').length);
    const out = {};
    await withTransferOptions(o, (topts) =>
      this.#runWith(
        scope,
        'psftp_putfo',
        scope.read(source),
        args.str(remotepath, 'remotepath'),
        args.int(size, 'options.fileSize', 'uint64'),
        scope.progress(args.optFunc(o.callback, 'options.callback')),
        null,
        args.optBool(o.confirm, 'options.confirm', true),
        topts,
        out,
      ),
    );
    return new Attributes(out);
  }
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
};
for (const [alias, name] of Object.entries(ALIASES)) {
  Object.defineProperty(Connection.prototype, alias, {
    value: Connection.prototype[name],
    writable: true,
    configurable: true,
  });
}

module.exports = { Connection, connect };
