'use strict';
// get, put, fastGet, fastPut, getfo, putfo, getBuffer: bytes, progress,
// options, cancellation, callback exceptions and errors.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Readable } = require('node:stream');
const { psftp, server, connectFor, remoteScratch, localScratch, putRemoteFile, pattern, modeOf, rejectsWith } = require('./helpers');

const MiB = 1024 * 1024;

test('get copies the bytes and reports progress up to the total', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'get');
  const data = pattern(5 * MiB + 123, 1);
  putRemoteFile(path.join(rdir, 'big.bin'), data);
  const local = path.join(localScratch(t, 'get'), 'big.bin');
  const calls = [];
  await sftp.get(path.join(rdir, 'big.bin'), local, { callback: (done, total) => calls.push([done, total]) });
  assert.ok(fs.readFileSync(local).equals(data));
  assert.deepEqual(calls.at(-1), [data.length, data.length]);
  // Sampled while bytes move (the C side never waits for JS), then the last figures.
  assert.ok(calls.length >= 1, `progress calls: ${calls.length}`);
  assert.ok(calls.every((c, i) => i === 0 || calls[i - 1][0] < c[0]), 'progress only grows');
});

test('get without localpath writes into the local working directory', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'getcwd');
  putRemoteFile(path.join(rdir, 'named.txt'), 'named');
  const ldir = localScratch(t, 'getcwd');
  const before = process.cwd();
  process.chdir(ldir);
  try {
    await sftp.get(path.join(rdir, 'named.txt'));
  } finally {
    process.chdir(before);
  }
  assert.equal(fs.readFileSync(path.join(ldir, 'named.txt'), 'utf8'), 'named');
});

test('preserveMtime copies times both ways; put resolves with remote attributes', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'mtime');
  const ldir = localScratch(t, 'mtime');
  const remote = path.join(rdir, 'f.txt');
  putRemoteFile(remote, 'hello');
  fs.utimesSync(remote, 1000000500, 1000000000);
  await sftp.get(remote, path.join(ldir, 'kept'), { preserveMtime: true });
  const kept = fs.statSync(path.join(ldir, 'kept'));
  assert.deepEqual([kept.mtimeMs / 1000, kept.atimeMs / 1000], [1000000000, 1000000500]);
  await sftp.get(remote, path.join(ldir, 'fresh'));
  assert.ok(fs.statSync(path.join(ldir, 'fresh')).mtimeMs / 1000 > 1600000000);

  const up = path.join(ldir, 'up.bin');
  const data = pattern(3 * MiB + 7, 2);
  fs.writeFileSync(up, data);
  fs.utimesSync(up, 1234567890, 1234567890);
  const calls = [];
  const attrs = await sftp.put(up, path.join(rdir, 'up.bin'), {
    preserveMtime: true,
    callback: (done, total) => calls.push([done, total]),
  });
  assert.ok(fs.readFileSync(path.join(rdir, 'up.bin')).equals(data));
  assert.equal(attrs.size, data.length);
  assert.equal(attrs.mtime, 1234567890);
  assert.equal(attrs.isFile(), true);
  assert.deepEqual(calls.at(-1), [data.length, data.length]);
  const unconfirmed = await sftp.put(up, path.join(rdir, 'up.bin'), { confirm: false });
  assert.equal(unconfirmed.flags, 0);
  assert.equal(unconfirmed.size, undefined, 'no attributes without confirm');
});

test('put without remotepath uses the local name in the remote cwd; fastGet/fastPut', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'cwdput');
  const ldir = localScratch(t, 'cwdput');
  const local = path.join(ldir, 'named.txt');
  fs.writeFileSync(local, 'named');
  await sftp.chdir(rdir);
  await sftp.put(local);
  assert.equal(fs.readFileSync(path.join(rdir, 'named.txt'), 'utf8'), 'named');
  const data = pattern(MiB + 1, 9);
  fs.writeFileSync(path.join(ldir, 'fast'), data);
  await sftp.fastPut(path.join(ldir, 'fast'), path.join(rdir, 'fast'));
  await sftp.fastGet(path.join(rdir, 'fast'), path.join(ldir, 'back'));
  assert.ok(fs.readFileSync(path.join(ldir, 'back')).equals(data));
  await assert.rejects(sftp.fastGet(path.join(rdir, 'fast')), { code: 'ERR_INVALID_ARG_TYPE', message: /"localpath"/ });
});

test('a progress callback returning false stops (EUSER) and keeps the old file', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'cancel');
  // Progress reaches JS as samples every 10 ms while C goes on: the get
  // must outlast two samples (8 MiB did not on an idle machine).
  putRemoteFile(path.join(rdir, 'big'), pattern(64 * MiB, 3));
  const ldir = localScratch(t, 'cancel');
  const local = path.join(ldir, 'big');
  fs.writeFileSync(local, 'the good old content');
  let calls = 0;
  const err = await rejectsWith(
    sftp.get(path.join(rdir, 'big'), local, { callback: () => ++calls < 2 }),
    'EUSER',
    ['stopped by the progress callback'],
  );
  assert.equal(err.errno, -20);
  assert.equal(calls, 2, 'no callback after the stop');
  assert.equal(fs.readFileSync(local, 'utf8'), 'the good old content');
  assert.deepEqual(fs.readdirSync(ldir), ['big'], 'no temporary file left');
  assert.deepEqual(await sftp.listdir(rdir), ['big'], 'the connection is still usable');
});

test('an exception in a progress callback stops the transfer and rejects with it', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'throw');
  const remote = path.join(rdir, 'target');
  putRemoteFile(remote, 'remote original');
  const ldir = localScratch(t, 'throw');
  const local = path.join(ldir, 'big');
  fs.writeFileSync(local, pattern(8 * MiB, 4));
  const boom = new Error('progress exploded');
  let calls = 0;
  await assert.rejects(
    sftp.put(local, remote, {
      callback: () => {
        calls++;
        throw boom;
      },
    }),
    (e) => e === boom,
  );
  assert.equal(calls, 1, 'stopped at the first exception');
  assert.equal(fs.readFileSync(remote, 'utf8'), 'remote original');
  assert.deepEqual(await sftp.listdir(rdir), ['target'], 'temporary upload removed');
  // An async callback cannot be awaited by C: refused with a clear error.
  await assert.rejects(
    sftp.get(remote, path.join(ldir, 'x'), { callback: async () => {} }),
    { name: 'TypeError', message: /must be synchronous/ },
  );
  assert.equal(fs.existsSync(path.join(ldir, 'x')), false);
});

test('transfer options: atomic false writes in place, resume continues a part file, fsync', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'opts');
  const ldir = localScratch(t, 'opts');
  const local = path.join(ldir, 'f');
  fs.writeFileSync(local, 'in place');
  const remote = path.join(rdir, 'f');
  await sftp.put(local, remote, { atomic: false });
  const ino = fs.statSync(remote).ino;
  await sftp.put(local, remote, { atomic: false, fsync: true });
  assert.equal(fs.statSync(remote).ino, ino, 'same inode: written in place');
  await sftp.put(local, remote);
  assert.notEqual(fs.statSync(remote).ino, ino, 'atomic by default: renamed into place');

  // Large enough that the progress sample (every 10 ms on the event loop)
  // that says stop comes while the get still runs.
  const data = pattern(64 * MiB, 5);
  const src = path.join(rdir, 'src');
  const dst = path.join(ldir, 'dst');
  const part = path.join(ldir, '.dst.psftp.part');
  putRemoteFile(src, data);
  // A part file nothing vouches for (no record of its source) is not
  // resumed: none of its bytes reach the copy.
  const stale = Buffer.from(data.subarray(0, 8 * MiB));
  stale.fill(0xee, 0, 16);
  fs.writeFileSync(part, stale);
  await sftp.get(src, dst, { resume: true });
  assert.ok(fs.readFileSync(dst).equals(data), 'started over');
  // An interrupted resumable get continues where it stopped.
  fs.rmSync(dst);
  await assert.rejects(sftp.get(src, dst, { resume: true, callback: () => false }), { code: 'EUSER', message: /stopped by the progress callback/ });
  const have = fs.statSync(part).size;
  assert.ok(have > 0 && have < data.length, `${have}`);
  let first = null;
  await sftp.get(src, dst, { resume: true, callback: (done) => void (first ??= done) });
  assert.ok(first > have, `resumed after the ${have} bytes there (first report ${first})`);
  assert.ok(fs.readFileSync(dst).equals(data));
  await assert.rejects(sftp.put(local, remote, { atomic: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE', message: /atomic/ });
  await assert.rejects(sftp.get(remote, local, { preserve_mtime: true }), { code: 'ERR_INVALID_ARG_VALUE', message: /preserve_mtime/ });
  await assert.rejects(sftp.putfo('x', remote, { resume: true }), { message: /Unknown options resume/ });
});

test('parallelism is checked on get and put and any valid value copies the same bytes', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'parallel');
  const ldir = localScratch(t, 'parallel');
  const data = pattern(3 * MiB + 5, 3);
  fs.writeFileSync(path.join(ldir, 'up'), data);
  for (const parallelism of [1, 2, 64]) {
    await sftp.put(path.join(ldir, 'up'), path.join(rdir, 'up'), { parallelism });
    await sftp.get(path.join(rdir, 'up'), path.join(ldir, 'back'), { parallelism });
    assert.ok(fs.readFileSync(path.join(ldir, 'back')).equals(data), `parallelism ${parallelism}`);
  }
  await rejectsWith(sftp.get(path.join(rdir, 'up'), path.join(ldir, 'back'), { parallelism: 65 }), 'EINVAL', [
    'connections',
    '65 is not between 1 and 64',
  ]);
  await assert.rejects(sftp.put(path.join(ldir, 'up'), path.join(rdir, 'up'), { parallelism: 1.5 }), {
    message: /parallelism/,
  });
});

test('an atomic put keeps the permissions of the file it replaces', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'perm');
  const remote = path.join(rdir, 'secret');
  putRemoteFile(remote, 'old');
  fs.chmodSync(remote, 0o600);
  const local = path.join(localScratch(t, 'perm'), 'new');
  fs.writeFileSync(local, 'new secret');
  await sftp.put(local, remote);
  assert.equal(fs.readFileSync(remote, 'utf8'), 'new secret');
  assert.equal(modeOf(remote), 0o600);
});

test('transfer errors: ENOTFOUND, ELOCALIO, EPERM', async (t) => {
  const sftp = await connectFor(t);
  const ldir = localScratch(t, 'errors');
  const missing = `${server.home}/no-such-file`;
  const err = await rejectsWith(sftp.get(missing, path.join(ldir, 'x')), 'ENOTFOUND', [
    missing,
    'No such file',
  ]);
  assert.equal(err.errno, -6);
  assert.deepEqual(fs.readdirSync(ldir), []);
  const rdir = remoteScratch(t, 'errors');
  putRemoteFile(path.join(rdir, 'f'), 'data');
  await rejectsWith(sftp.get(path.join(rdir, 'f'), '/no/such/dir/f'), 'ELOCALIO', ['/no/such/dir']);
  await rejectsWith(sftp.put('/no/such/local', '/tmp/x'), 'ELOCALIO', ['/no/such/local']);
  fs.writeFileSync(path.join(ldir, 'f'), 'x');
  await rejectsWith(sftp.put(path.join(ldir, 'f'), '/root/psftp-denied'), 'EPERM', ['/root/']);
  await rejectsWith(sftp.put(ldir, '/tmp/whatever'), 'ELOCALIO', ['is a directory']);
});

test('getfo streams chunks to a function or a writer; getBuffer collects them', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'getfo');
  const data = pattern(2 * MiB + 5, 5);
  const remote = path.join(rdir, 'src');
  putRemoteFile(remote, data);
  const chunks = [];
  const progress = [];
  const n = await sftp.getfo(remote, (chunk) => chunks.push(chunk), {
    callback: (done, total) => progress.push([done, total]),
  });
  assert.equal(n, data.length);
  assert.ok(Buffer.concat(chunks).equals(data));
  assert.deepEqual(progress.at(-1), [data.length, data.length]);
  const written = [];
  assert.equal(await sftp.getfo(remote, { write: (c) => written.push(c) }), data.length);
  assert.ok(Buffer.concat(written).equals(data));
  assert.ok((await sftp.getBuffer(remote)).equals(data));
  assert.equal((await sftp.getBuffer(path.join(rdir, 'src'))).length, data.length);
  putRemoteFile(path.join(rdir, 'empty'), '');
  assert.equal((await sftp.getBuffer(path.join(rdir, 'empty'))).length, 0);
  await rejectsWith(sftp.getfo(remote, () => false), 'EUSER', ['write callback']);
  const boom = new Error('sink failed');
  await assert.rejects(
    sftp.getfo(remote, () => {
      throw boom;
    }),
    (e) => e === boom,
  );
  await assert.rejects(sftp.getfo(remote, 'not a sink'), { code: 'ERR_INVALID_ARG_TYPE', message: /"flo"/ });
  await rejectsWith(sftp.getBuffer(path.join(rdir, 'nope')), 'ENOTFOUND', ['nope']);
});

test('putfo uploads a Buffer, a string or a reader function and confirms the size', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'putfo');
  const dst = path.join(rdir, 'dst');
  const data = pattern(MiB + 3, 6);
  const progress = [];
  const attrs = await sftp.putfo(data, dst, { callback: (done, total) => progress.push([done, total]) });
  assert.ok(fs.readFileSync(dst).equals(data));
  assert.equal(attrs.size, data.length);
  assert.deepEqual(progress.at(-1), [data.length, data.length], 'fileSize defaults to the Buffer length');
  await sftp.putfo('text ✓', path.join(rdir, 'text'));
  assert.equal(fs.readFileSync(path.join(rdir, 'text'), 'utf8'), 'text ✓');
  await sftp.putfo(new Uint8Array([1, 2, 3]), path.join(rdir, 'typed'));
  assert.deepEqual([...fs.readFileSync(path.join(rdir, 'typed'))], [1, 2, 3]);

  let pos = 0;
  const reader = (max) => {
    const chunk = data.subarray(pos, pos + Math.min(max, 10000)); // short reads are fine
    pos += chunk.length;
    return chunk;
  };
  await sftp.putfo(reader, path.join(rdir, 'fn'), { fileSize: data.length });
  assert.ok(fs.readFileSync(path.join(rdir, 'fn')).equals(data));
  // A Readable is piped in (its backpressure kept); its error stops the upload.
  await sftp.putfo(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), path.join(rdir, 'stream'));
  assert.ok(fs.readFileSync(path.join(rdir, 'stream')).equals(data));
  const broken = new Readable({ read() {} });
  broken.push(Buffer.alloc(100, 1));
  setTimeout(() => broken.destroy(new Error('source broke')), 50);
  await assert.rejects(sftp.putfo(broken, path.join(rdir, 'stream')), { message: 'source broke' });
  assert.ok(fs.readFileSync(path.join(rdir, 'stream')).equals(data), 'the old upload stays');

  // A throwing reader stops the upload and leaves the old file alone.
  const boom = new Error('reader failed');
  let reads = 0;
  await assert.rejects(
    sftp.putfo(
      () => {
        if (++reads > 3) throw boom;
        return Buffer.alloc(1000, 1);
      },
      dst,
    ),
    (e) => e === boom,
  );
  assert.ok(fs.readFileSync(dst).equals(data));
  await assert.rejects(sftp.putfo(() => Buffer.alloc(10 * MiB), dst), { name: 'RangeError', message: /more than/ });
  await assert.rejects(sftp.putfo(42, dst), { code: 'ERR_INVALID_ARG_TYPE', message: /"flo"/ });
  assert.ok(fs.readFileSync(dst).equals(data), 'still the first upload');
});

test('a failed rename into place (a directory in the way) leaves no part file', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'renamefail');
  putRemoteFile(path.join(rdir, 'src'), pattern(MiB, 7));
  const ldir = localScratch(t, 'renamefail');
  fs.mkdirSync(path.join(ldir, 'dst'));
  fs.writeFileSync(path.join(ldir, 'dst/keep'), 'in the way');
  await rejectsWith(sftp.get(path.join(rdir, 'src'), path.join(ldir, 'dst')), 'ELOCALIO', ['dst']);
  assert.deepEqual(fs.readdirSync(ldir), ['dst'], 'no .dst.psftp.part left');
  fs.mkdirSync(path.join(rdir, 'busy'));
  fs.writeFileSync(path.join(rdir, 'busy/keep'), 'in the way');
  fs.writeFileSync(path.join(ldir, 'up'), 'upload');
  await assert.rejects(sftp.put(path.join(ldir, 'up'), path.join(rdir, 'busy')), (e) => e instanceof psftp.PsftpError);
  assert.deepEqual(fs.readdirSync(rdir).sort(), ['busy', 'src'], 'no remote part file left');
});

test('an AbortSignal stops get, put, getfo and putfo through their callbacks; the connection stays usable', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'abortfile');
  // Each call must outlast two 10 ms progress samples (16 MiB did not).
  const data = pattern(64 * MiB, 8);
  putRemoteFile(path.join(rdir, 'big'), data);
  const ldir = localScratch(t, 'abortfile');
  const local = path.join(ldir, 'big');
  fs.writeFileSync(local, 'old');
  const aborting = () => {
    const controller = new AbortController();
    let calls = 0;
    return {
      signal: controller.signal,
      callback: () => {
        if (++calls === 2) controller.abort();
        assert.ok(calls <= 2, 'no callback after the abort');
      },
    };
  };
  const isAbort = (e) => e.name === 'AbortError';
  await assert.rejects(sftp.get(path.join(rdir, 'big'), local, aborting()), isAbort);
  assert.equal(fs.readFileSync(local, 'utf8'), 'old');
  fs.writeFileSync(local, data);
  await assert.rejects(sftp.put(local, path.join(rdir, 'up'), aborting()), isAbort);
  await assert.rejects(sftp.getfo(path.join(rdir, 'big'), () => {}, aborting()), isAbort);
  await assert.rejects(sftp.getBuffer(path.join(rdir, 'big'), aborting()), isAbort);
  await assert.rejects(sftp.putfo(data, path.join(rdir, 'fo'), aborting()), isAbort);
  // Without a progress callback the signal still stops the call.
  const controller = new AbortController();
  setImmediate(() => controller.abort());
  await assert.rejects(sftp.fastGet(path.join(rdir, 'big'), path.join(ldir, 'quiet'), { signal: controller.signal }), isAbort);
  assert.deepEqual(fs.readdirSync(ldir), ['big'], 'no partial download');
  // An aborted upload's cleanup is sent without waiting for its replies;
  // the server runs it before the connection's next request.
  assert.deepEqual(await sftp.listdir(rdir), ['big']);
  assert.deepEqual(fs.readdirSync(rdir), ['big'], 'no partial upload');
  assert.equal(sftp.interrupted, false);
  // A signal that fires after the call completed changes nothing.
  const late = new AbortController();
  await sftp.get(path.join(rdir, 'big'), path.join(ldir, 'done'), { signal: late.signal });
  late.abort();
  assert.ok(fs.readFileSync(path.join(ldir, 'done')).equals(data));
  const reason = new Error('not now');
  await assert.rejects(sftp.putfo('x', path.join(rdir, 'never'), { signal: AbortSignal.abort(reason) }), (e) => e.name === 'AbortError' && e.cause === reason);
  assert.equal(fs.existsSync(path.join(rdir, 'never')), false);
});

test('verify catches a file altered on the server during a get; retries are options', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'verify');
  // Progress is sampled on the event loop while the transfer runs on, so
  // the change comes at the first sample: byte 7 is already copied then,
  // and the 64 MiB copy and its server-side hash take far longer than a
  // sample's 10 ms.
  const data = pattern(64 * MiB, 8);
  const remote = path.join(rdir, 'src.bin');
  putRemoteFile(remote, data);
  const local = path.join(localScratch(t, 'verify'), 'dst.bin');
  fs.writeFileSync(local, 'old');
  let altered = false;
  const callback = (done) => {
    if (done > 0 && !altered) {
      altered = true;
      const fd = fs.openSync(remote, 'r+');
      fs.writeSync(fd, 'X', 7);
      fs.closeSync(fd);
    }
  };
  await rejectsWith(sftp.get(remote, local, { verify: 'allow-exec', retries: 2, callback }), 'EINTEGRITY', [
    'verification failed',
  ]);
  assert.equal(fs.readFileSync(local, 'utf8'), 'old');
  putRemoteFile(remote, data);
  await sftp.get(remote, local, { verify: 'on', retries: 2, retryDelay: 0.1 });
  assert.ok(fs.readFileSync(local).equals(data));
  assert.equal(sftp.lastRetries, 0);
  await assert.rejects(sftp.get(remote, local, { verify: 'maybe' }), TypeError);
  await rejectsWith(sftp.get(remote, local, { retries: -1 }), 'EINVAL', ['retries']);
});
