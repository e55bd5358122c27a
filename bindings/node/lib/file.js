'use strict';
// pysftp open() files (psftp_file) and Node streams over them. Their calls
// run one at a time on the connection's own handle, and their errors are read from it.

const { Readable, Writable } = require('node:stream');
const { fns, types, sized } = require('./native');
const { Attributes } = require('./attrs');
const args = require('./args');

const SEEK = { SET: 0, CUR: 1, END: 2 };
const READ_ALL_CHUNK = 1024 * 1024;
const LINE_CHUNK = 64 * 1024;

// Closes files the program dropped without close(), through their
// connection's file calls (closing flushes buffered writes over the network).
const files = new FinalizationRegistry(({ channel, handle }) => {
  channel.runFile(fns.psftp_file_close, [handle]).catch(() => {});
});

class SftpFile {
  #channel;
  #handle;
  // Keeps the Connection (and so its connection) alive while the file is.
  #connection;
  #closed = false;

  constructor(connection, channel, handle) {
    this.#connection = connection;
    this.#channel = channel;
    this.#handle = handle;
    files.register(this, { channel, handle }, this);
  }

  #run(name, ...rest) {
    const argv = [this.#handle, ...rest];
    return this.#closed ? this.#channel.runDead(fns[name], argv) : this.#channel.runFile(fns[name], argv);
  }

  /** Up to `size` bytes; fewer only at the end of the file (empty there). Without `size`, the rest of the file. */
  async read(size) {
    if (size === undefined) return this.#readAll();
    const buf = Buffer.allocUnsafe(Number(args.int(size, 'size', 'uint64')));
    const got = [0];
    await this.#run('psftp_file_read', buf, buf.length, got);
    return buf.subarray(0, Number(got[0]));
  }

  async #readAll() {
    const chunks = [];
    for (;;) {
      const chunk = await this.read(READ_ALL_CHUNK);
      if (chunk.length === 0) return Buffer.concat(chunks);
      chunks.push(chunk);
    }
  }

  /** A line up to and including '\n' (or `size` bytes, or to the end); empty at the end. */
  async readline(size) {
    if (size !== undefined) return this.#readlinePart(Number(args.int(size, 'size', 'uint64')));
    const parts = [];
    for (;;) {
      const part = await this.#readlinePart(LINE_CHUNK);
      parts.push(part);
      if (part.length < LINE_CHUNK || part[part.length - 1] === 0x0a) return Buffer.concat(parts);
    }
  }

  async #readlinePart(size) {
    const buf = Buffer.allocUnsafe(size);
    const got = [0];
    await this.#run('psftp_file_readline', buf, size, got);
    return buf.subarray(0, Number(got[0]));
  }

  /** Write all of `data` (a Buffer, typed array or UTF-8 string). */
  async write(data) {
    const buf = args.bytes(data, 'data');
    await this.#run('psftp_file_write', buf, buf.length);
  }

  /** Move to `offset` from SEEK_SET (0), SEEK_CUR (1) or SEEK_END (2); resolves with the new position. */
  async seek(offset, whence = SEEK.SET) {
    const pos = [0];
    await this.#run('psftp_file_seek', args.int(offset, 'offset'), args.int(whence, 'whence', 'int32'), pos);
    return pos[0];
  }

  async tell() {
    const pos = [0];
    await this.#run('psftp_file_tell', pos);
    return pos[0];
  }

  async stat() {
    const out = sized(types.attrs);
    await this.#run('psftp_file_stat', out);
    return new Attributes(out);
  }

  async flush() {
    await this.#run('psftp_file_flush');
  }

  async fsync() {
    await this.#run('psftp_file_fsync');
  }

  async truncate(size) {
    await this.#run('psftp_file_truncate', args.int(size, 'size', 'uint64'));
  }

  /** Flush and close; closing again is harmless. */
  async close() {
    files.unregister(this);
    const closing = this.#run('psftp_file_close');
    this.#closed = true; // later calls are queued after this close
    await closing;
  }

  /** A Readable of the rest of the file; closes the file at the end unless autoClose is false. */
  createReadStream(options) {
    return readStream(async () => this, options);
  }

  /** A Writable into the file; closes it at the end unless autoClose is false. */
  createWriteStream(options) {
    return writeStream(async () => this, options);
  }
}

const DEFAULT_HIGH_WATER_MARK = 256 * 1024;

/** Close the stream's file (when it has one and should), then report `err`. */
function finish(file, autoClose, err, done) {
  if (!file || !autoClose) return done(err);
  file.close().then(
    () => done(err),
    (closeErr) => done(err ?? closeErr),
  );
}

/** A Readable over the file `opening()` resolves to. */
function readStream(opening, { highWaterMark = DEFAULT_HIGH_WATER_MARK, autoClose = true } = {}) {
  let file = null;
  const stream = new Readable({
    highWaterMark,
    construct: (done) => {
      opening().then((f) => {
        file = f;
        done();
      }, done);
    },
    read: (size) => {
      file.read(size).then(
        (chunk) => stream.push(chunk.length ? chunk : null),
        (err) => stream.destroy(err),
      );
    },
    destroy: (err, done) => finish(file, autoClose, err, done),
  });
  return stream;
}

/** A Writable into the file `opening()` resolves to; its end closes (or flushes) the file. */
function writeStream(opening, { highWaterMark = DEFAULT_HIGH_WATER_MARK, autoClose = true } = {}) {
  let file = null;
  return new Writable({
    highWaterMark,
    construct: (done) => {
      opening().then((f) => {
        file = f;
        done();
      }, done);
    },
    write: (chunk, _encoding, done) => file.write(chunk).then(() => done(), done),
    final: (done) => (autoClose ? file.close() : file.flush()).then(() => done(), done),
    destroy: (err, done) => finish(file, autoClose, err, done),
  });
}

module.exports = { SftpFile, SEEK, readStream, writeStream };
