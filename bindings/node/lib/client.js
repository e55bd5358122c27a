'use strict';
// ssh2-sftp-client v12's API over psftp: `const Client = require('psftp/ssh2-sftp-client')`
// in place of `require('ssh2-sftp-client')`. Same methods, arguments and
// results (entries, stats in ms, exists() types, the resolved strings);
// errors are PsftpErrors with Node's codes (ENOENT, EACCES, EEXIST,
// ENOTEMPTY...). An argument or option psftp cannot honour is an error,
// never ignored.

const EventEmitter = require('node:events');
const fs = require('node:fs');
const path = require('node:path');
const { Readable, Writable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const { connect } = require('./connection');
const { CnOpts } = require('./cnopts');
const { PsftpError, codes } = require('./errors');
const args = require('./args');

const S_IFMT = 0o170000;
const TYPES = { 0o040000: 'd', 0o100000: '-', 0o120000: 'l' };

const CONFIG = [
  'host',
  'port',
  'username',
  'password',
  'privateKey',
  'passphrase',
  'readyTimeout',
  'keepaliveInterval',
  'sock',
  'promiseLimit',
  // psftp's own: host-key policy (known_hosts), timeouts, proxies; see CnOpts.
  'cnopts',
];

/** ssh2-sftp-client's 'ERR_BAD_PATH'-style refusals, as PsftpErrors with Node codes. */
function refusal(code, message) {
  const err = new PsftpError(codes.EINVAL, message);
  err.code = code;
  return err;
}

function unsupported(what, instead) {
  const err = new TypeError(`${what} is not supported by psftp${instead ? `: ${instead}` : ''}`);
  err.code = 'ERR_INVALID_ARG_VALUE';
  return err;
}

/** Refuse every key of `o` outside `known`, naming it. */
function only(o, known, name) {
  return args.options(o, known, name);
}

/** stat() as ssh2-sftp-client gives it: times in ms, type booleans. */
function statsOf(a) {
  const type = a.mode === undefined ? 0 : a.mode & S_IFMT;
  return {
    mode: a.mode,
    uid: a.uid,
    gid: a.gid,
    size: a.size,
    accessTime: a.atime * 1000,
    modifyTime: a.mtime * 1000,
    isDirectory: type === 0o040000,
    isFile: type === 0o100000,
    isBlockDevice: type === 0o060000,
    isCharacterDevice: type === 0o020000,
    isSymbolicLink: type === 0o120000,
    isFIFO: type === 0o010000,
    isSocket: type === 0o140000,
  };
}

/** 'rwx' with the letters of `bits` (three bits) that are set, as ssh2-sftp-client strips the dashes. */
function rights(bits) {
  return (bits & 4 ? 'r' : '') + (bits & 2 ? 'w' : '') + (bits & 1 ? 'x' : '');
}

/** A list() entry from a psftp DirEntry. */
function entryOf(e) {
  const longname = e.longname ?? '';
  const type = /^[-dlbcps]/.test(longname) ? longname[0] : (TYPES[e.mode & S_IFMT] ?? '?');
  const mode = e.mode ?? 0;
  return {
    type,
    name: e.filename,
    size: e.size,
    modifyTime: e.mtime * 1000,
    accessTime: e.atime * 1000,
    rights: { user: rights(mode >> 6), group: rights(mode >> 3), other: rights(mode) },
    owner: e.uid,
    group: e.gid,
    longname,
  };
}

function isWritable(v) {
  return v instanceof Writable || (v !== null && typeof v === 'object' && typeof v.write === 'function' && typeof v.end === 'function');
}

function isReadable(v) {
  return v instanceof Readable || (v !== null && typeof v === 'object' && typeof v.pipe === 'function');
}

class SftpClient extends EventEmitter {
  #sftp = null;
  #callbacks;

  /**
   * `new Client(name, callbacks)`: callbacks.end and callbacks.close run
   * when end() closes the connection (as the 'end' and 'close' events);
   * psftp raises no asynchronous 'error' (a failure rejects the call that
   * met it), so callbacks.error is never called.
   */
  constructor(clientName = 'sftp', callbacks = {}) {
    super();
    this.clientName = args.str(clientName, 'clientName');
    this.#callbacks = only(callbacks, ['error', 'end', 'close'], 'callbacks');
    for (const [event, fn] of Object.entries(this.#callbacks)) this.on(event, args.func(fn, `callbacks.${event}`));
    this.promiseLimit = 10;
  }

  /** The psftp Connection underneath (null before connect()), for psftp's own methods. */
  get sftp() {
    return this.#sftp;
  }

  #conn(name) {
    if (!this.#sftp) throw refusal('ERR_NOT_CONNECTED', `${name}: No SFTP connection available`);
    return this.#sftp;
  }

  /**
   * connect({ host, port, username, password, privateKey, passphrase,
   * readyTimeout, keepaliveInterval, sock, promiseLimit, cnopts }).
   * privateKey is the key itself (a string or Buffer), as with ssh2.
   * Host keys are checked against ~/.ssh/known_hosts unless `cnopts`
   * (psftp's CnOpts or its options) says otherwise. Resolves with the
   * psftp Connection.
   */
  async connect(config) {
    const c = only(config, CONFIG, 'connect option');
    if (this.#sftp) throw refusal('ERR_NOT_CONNECTED', 'connect: An existing SFTP connection is already defined');
    if (c.promiseLimit !== undefined) this.promiseLimit = args.int(c.promiseLimit, 'promiseLimit', 'int32');
    const timeouts = {};
    if (c.readyTimeout !== undefined) timeouts.connectTimeout = args.num(c.readyTimeout, 'readyTimeout') / 1000;
    if (c.keepaliveInterval !== undefined) {
      timeouts.keepalive = Math.ceil(args.num(c.keepaliveInterval, 'keepaliveInterval') / 1000);
    }
    let cnopts = c.cnopts;
    if (Object.keys(timeouts).length) {
      if (cnopts instanceof CnOpts) {
        throw unsupported('readyTimeout or keepaliveInterval together with a CnOpts instance', 'give cnopts as an options object, or set them on the CnOpts');
      }
      cnopts = { ...(cnopts ?? {}), ...timeouts };
    }
    const key = c.privateKey;
    if (key !== undefined && key !== null && typeof key !== 'string' && !Buffer.isBuffer(key)) {
      throw args.invalid('privateKey', "the key's contents (a string or a Buffer)", key);
    }
    this.#sftp = await connect({
      host: c.host,
      port: c.port,
      username: c.username,
      password: c.password,
      privateKeyData: key ?? undefined,
      privateKeyPass: c.passphrase,
      socket: c.sock,
      cnopts,
    });
    return this.#sftp;
  }

  /** Close the connection; resolves true. */
  async end() {
    const sftp = this.#sftp;
    this.#sftp = null;
    if (sftp) {
      await sftp.close();
      this.emit('end');
      this.emit('close');
    }
    return true;
  }

  /** The absolute path, or '' when it does not exist. */
  async realPath(remotePath) {
    try {
      return await this.#conn('realPath').normalize(remotePath);
    } catch (e) {
      if (e.code === 'ENOENT') return '';
      throw e;
    }
  }

  /** The current remote directory. */
  async cwd() {
    return this.realPath('.');
  }

  async stat(remotePath) {
    return statsOf(await this.#conn('stat').stat(remotePath));
  }

  async lstat(remotePath) {
    return statsOf(await this.#conn('lstat').lstat(remotePath));
  }

  /** 'd', '-' or 'l' (the path itself, not a link's target), or false when missing. */
  async exists(remotePath) {
    if (remotePath === '.') return 'd';
    try {
      const s = await this.lstat(remotePath);
      if (s.isDirectory) return 'd';
      if (s.isSymbolicLink) return 'l';
      if (s.isFile) return '-';
      return false;
    } catch (e) {
      if (e.code === 'ENOENT') return false;
      throw e;
    }
  }

  /** Entries { type, name, size, modifyTime, accessTime, rights, owner, group, longname }, kept by `filter(entry)`. */
  async list(remotePath, filter) {
    const keep = args.optFunc(filter, 'filter');
    const entries = (await this.#conn('list').listdirAttr(remotePath)).map(entryOf);
    return keep ? entries.filter((e) => keep(e)) : entries;
  }

  #noStreamOptions(options, name) {
    const o = only(options, ['readStreamOptions', 'writeStreamOptions', 'pipeOptions'], `${name} option`);
    for (const key of ['readStreamOptions', 'writeStreamOptions']) {
      if (o[key] !== undefined && Object.keys(o[key]).length) {
        throw unsupported(`${name}: options.${key}`, 'psftp transfers whole files itself');
      }
    }
    const pipe = only(o.pipeOptions, ['end'], `${name} options.pipeOptions`);
    return { end: args.optBool(pipe.end, `${name} options.pipeOptions.end`, true) };
  }

  /**
   * get(remotePath): a Buffer; get(remotePath, localPath): the file, resolves
   * localPath; get(remotePath, writable): the bytes piped in (ended unless
   * pipeOptions.end is false), resolves the writable.
   */
  async get(remotePath, dst, options) {
    const pipe = this.#noStreamOptions(options, 'get');
    const sftp = this.#conn('get');
    if (dst === undefined) return sftp.getBuffer(remotePath);
    if (typeof dst === 'string') {
      await sftp.get(remotePath, dst);
      return dst;
    }
    if (!isWritable(dst)) throw args.invalid('dst', 'a local path, a Writable or undefined', dst);
    await sftp.getfo(remotePath, dst);
    if (pipe.end) await new Promise((resolve, reject) => {
      dst.once('error', reject);
      dst.end(resolve);
    });
    return dst;
  }

  #stepOptions(options, name, extra = []) {
    // signal: psftp's addition (ssh2-sftp-client v12 cannot cancel a transfer).
    const o = only(options, ['step', 'signal', ...extra], `${name} option`);
    const step = args.optFunc(o.step, `${name} options.step`);
    let last = 0;
    // ssh2's step(totalTransferred, chunk, total).
    const callback = step
      ? (done, total) => {
          step(done, done - last, total);
          last = done;
        }
      : undefined;
    return { o, callback };
  }

  /**
   * ssh2's fastGet: options { step(totalTransferred, chunk, total) }, and
   * psftp's { signal } (an aborted get rejects with an AbortError and keeps
   * the connection). Resolves a message.
   */
  async fastGet(remotePath, localPath, options) {
    const { o, callback } = this.#stepOptions(options, 'fastGet');
    const type = await this.exists(remotePath);
    if (type !== '-') {
      throw type ? refusal('EISDIR', `fastGet: Not a regular file ${remotePath}`) : refusal('ENOENT', `fastGet: No such file ${remotePath}`);
    }
    await this.#conn('fastGet').get(remotePath, args.checkPath(localPath, 'localPath'), { callback, signal: o.signal });
    return `${remotePath} was successfully download to ${localPath}!`;
  }

  /** ssh2's fastPut: options { step, mode }, and psftp's { signal } (as fastGet). Resolves a message. */
  async fastPut(localPath, remotePath, options) {
    const { o, callback } = this.#stepOptions(options, 'fastPut', ['mode']);
    const sftp = this.#conn('fastPut');
    await sftp.put(args.checkPath(localPath, 'localPath'), args.checkPath(remotePath, 'remotePath'), { callback, signal: o.signal });
    if (o.mode !== undefined) await sftp.chmod(remotePath, o.mode);
    return `${localPath} was successfully uploaded to ${remotePath}!`;
  }

  /** put(Buffer | Readable | localPath, remotePath, { writeStreamOptions: { mode } }). Resolves a message. */
  async put(src, remotePath, options) {
    const o = only(options, ['readStreamOptions', 'writeStreamOptions', 'pipeOptions'], 'put option');
    if (o.readStreamOptions !== undefined && Object.keys(o.readStreamOptions).length) {
      throw unsupported('put: options.readStreamOptions', 'psftp reads the source itself');
    }
    const w = only(o.writeStreamOptions, ['mode'], 'put options.writeStreamOptions');
    only(o.pipeOptions, [], 'put options.pipeOptions');
    const sftp = this.#conn('put');
    args.checkPath(remotePath, 'remotePath');
    if (typeof src === 'string') await sftp.put(src, remotePath);
    else if (Buffer.isBuffer(src) || isReadable(src)) await sftp.putfo(src, remotePath);
    else throw args.invalid('src', 'a Buffer, a Readable or a local path', src);
    if (w.mode !== undefined) await sftp.chmod(remotePath, w.mode);
    return `Uploaded data stream to ${remotePath}`;
  }

  /** Append a Buffer or a Readable to a remote file. Resolves a message. */
  async append(input, remotePath, options) {
    only(options, [], 'append option');
    if (typeof input === 'string') throw refusal('ERR_BAD_PATH', 'append: Cannot append one file to another');
    if (!Buffer.isBuffer(input) && !isReadable(input)) throw args.invalid('input', 'a Buffer or a Readable', input);
    if ((await this.exists(remotePath)) === 'd') {
      throw refusal('EISDIR', `append: Bad path: ${remotePath}: cannot append to a directory`);
    }
    const source = Buffer.isBuffer(input) ? Readable.from([input]) : input;
    await pipeline(source, this.#conn('append').createWriteStream(remotePath, { flags: 'a' }));
    return `Appended data to ${remotePath}`;
  }

  /** mkdir(path, recursive = false). Resolves a message. */
  async mkdir(remotePath, recursive = false) {
    const sftp = this.#conn('mkdir');
    const r = args.bool(recursive, 'recursive');
    const type = await this.exists(remotePath);
    if (type === 'd') return `${remotePath} already exists`;
    if (type) throw refusal('EEXIST', `mkdir: Bad path: ${remotePath} already exists as a file`);
    if (r) await sftp.makedirs(remotePath);
    else await sftp.mkdir(remotePath);
    return `${remotePath} directory created`;
  }

  /** rmdir(path, recursive = false): with recursive, everything under it too. */
  async rmdir(remoteDir, recursive = false) {
    const r = args.bool(recursive, 'recursive');
    const type = await this.exists(remoteDir);
    if (!type) throw refusal('ENOENT', `rmdir: Bad Path: ${remoteDir}: No such directory`);
    if (type !== 'd') throw refusal('ENOTDIR', `rmdir: Bad Path: ${remoteDir}: Not a directory`);
    if (r) await this.#removeContents(remoteDir);
    await this.#conn('rmdir').rmdir(remoteDir);
    return 'Successfully removed directory';
  }

  async #removeContents(dir) {
    const sftp = this.#conn('rmdir');
    for (const e of await sftp.listdirAttr(dir)) {
      const p = Buffer.isBuffer(e.filename) ? Buffer.concat([Buffer.from(`${dir}/`), e.filename]) : `${dir}/${e.filename}`;
      if (e.isDirectory()) {
        await this.#removeContents(p);
        await sftp.rmdir(p);
      } else {
        await sftp.remove(p);
      }
    }
  }

  /** delete(path, notFoundOK = false): a file; notFoundOK makes a missing one fine. */
  async delete(remotePath, notFoundOK = false) {
    const ok = args.bool(notFoundOK, 'notFoundOK');
    try {
      await this.#conn('delete').remove(remotePath);
    } catch (e) {
      if (!(ok && e.code === 'ENOENT')) throw e;
    }
    return `Successfully deleted ${remotePath}`;
  }

  async rename(fromPath, toPath) {
    await this.#conn('rename').rename(fromPath, toPath);
    return `Successfully renamed ${fromPath} to ${toPath}`;
  }

  async posixRename(fromPath, toPath) {
    await this.#conn('posixRename').posixRename(fromPath, toPath);
    return `Successful POSIX rename ${fromPath} to ${toPath}`;
  }

  async chmod(remotePath, mode) {
    await this.#conn('chmod').chmod(remotePath, mode);
    return 'Successfully change file mode';
  }

  /** The filter function of uploadDir/downloadDir, or null; useFastput/useFastget are accepted (psftp always pipelines). */
  #treeOptions(options, name, fastKey) {
    const o = only(options, ['filter', fastKey], `${name} option`);
    args.optBool(o[fastKey], `${name} options.${fastKey}`, false);
    return args.optFunc(o.filter, `${name} options.filter`);
  }

  /**
   * The contents of local srcDir into remote dstDir (created if missing).
   * options.filter(localPath, isDirectory) keeps an entry (a directory it
   * refuses is not entered), as in ssh2-sftp-client. Resolves a message.
   */
  async uploadDir(srcDir, dstDir, options) {
    const filter = this.#treeOptions(options, 'uploadDir', 'useFastput');
    const type = await this.exists(dstDir);
    if (type && type !== 'd') throw refusal('ENOTDIR', `uploadDir: Bad path ${dstDir} Not a directory`);
    if (filter) await this.#uploadFiltered(srcDir, dstDir, filter);
    else await this.#conn('uploadDir').uploadDir(srcDir, dstDir);
    return `${srcDir} uploaded to ${dstDir}`;
  }

  async #uploadFiltered(srcDir, dstDir, filter) {
    const sftp = this.#conn('uploadDir');
    await sftp.makedirs(dstDir);
    for (const entry of fs.readdirSync(srcDir, { withFileTypes: true })) {
      const local = path.join(srcDir, entry.name);
      if (!filter(local, entry.isDirectory())) continue;
      if (entry.isDirectory()) await this.#uploadFiltered(local, `${dstDir}/${entry.name}`, filter);
      else await sftp.put(local, `${dstDir}/${entry.name}`);
    }
  }

  /**
   * The contents of remote srcDir into local dstDir (created if missing).
   * options.filter(remotePath, isDirectory) keeps an entry (a directory it
   * refuses is not entered), as in ssh2-sftp-client. Resolves a message.
   */
  async downloadDir(srcDir, dstDir, options) {
    const filter = this.#treeOptions(options, 'downloadDir', 'useFastget');
    if (filter) await this.#downloadFiltered(srcDir, dstDir, filter);
    else await this.#conn('downloadDir').downloadDir(srcDir, dstDir);
    return `${srcDir} downloaded to ${dstDir}`;
  }

  async #downloadFiltered(srcDir, dstDir, filter) {
    const sftp = this.#conn('downloadDir');
    fs.mkdirSync(dstDir, { recursive: true });
    for (const entry of await this.list(srcDir)) {
      const remote = `${srcDir}/${entry.name}`;
      if (!filter(remote, entry.type === 'd')) continue;
      if (entry.type === 'd') await this.#downloadFiltered(remote, path.join(dstDir, entry.name), filter);
      else await sftp.get(remote, path.join(dstDir, entry.name));
    }
  }

  createReadStream(remotePath, options) {
    return this.#conn('createReadStream').createReadStream(remotePath, options);
  }

  createWriteStream(remotePath, options) {
    return this.#conn('createWriteStream').createWriteStream(remotePath, options);
  }

  /** Copy remote file src to dst (which must not exist) on the server side of the link. */
  async rcopy(src, dst) {
    const sftp = this.#conn('rcopy');
    const type = await this.exists(src);
    if (!type) throw refusal('ENOENT', `rcopy: Source does not exist ${src}`);
    if (type !== '-') throw refusal('EISDIR', `rcopy: Source not a file ${src}`);
    if (await this.exists(dst)) throw refusal('EEXIST', `rcopy: Destination already exists ${dst}`);
    await pipeline(sftp.createReadStream(src), sftp.createWriteStream(dst, { flags: 'x' }));
    return `${src} copied to ${dst}`;
  }
}

module.exports = SftpClient;
module.exports.SftpClient = SftpClient;
module.exports.default = SftpClient;
