'use strict';
// Per-call cancellation (issue 18): the calls of one connection run at the
// same time, each on its own handle with its own cancel token, so an
// AbortSignal stops its call only: the connection and the other calls go on.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Writable, Readable } = require('node:stream');
const { getEventListeners } = require('node:events');
const { psftp, connectFor, remoteScratch, localScratch, putRemoteFile, pattern } = require('./helpers');

const MiB = 1024 * 1024;

/** Node's own AbortError, with the signal's reason as its cause. */
function isAbortOf(signal) {
  return (e) => e instanceof psftp.AbortError && e.name === 'AbortError' && e.code === 'ABORT_ERR' && e.cause === signal.reason;
}

/** What is in `dir`, sorted. */
const ls = (dir) => fs.readdirSync(dir).sort();

test('aborting one of two concurrent 64 MiB gets leaves the other byte-exact and the connection usable', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'abort-one');
  const a = pattern(64 * MiB, 1);
  const b = pattern(64 * MiB, 2);
  putRemoteFile(path.join(rdir, 'a'), a);
  putRemoteFile(path.join(rdir, 'b'), b);
  const ldir = localScratch(t, 'abort-one');
  fs.writeFileSync(path.join(ldir, 'a'), 'the old a');
  const controller = new AbortController();
  let aDone = 0;
  let aSettled = false;
  let abortedAt = -1;
  const getA = sftp
    .get(path.join(rdir, 'a'), path.join(ldir, 'a'), {
      signal: controller.signal,
      callback: (done) => {
        aDone = done;
      },
    })
    .finally(() => {
      aSettled = true;
    });
  const getB = sftp.get(path.join(rdir, 'b'), path.join(ldir, 'b'), {
    callback: (done) => {
      // Both are moving: stop a, from b's progress.
      if (abortedAt < 0 && done > 0 && aDone > 0 && !aSettled) {
        abortedAt = aDone;
        controller.abort(new Error('a is not needed'));
      }
    },
  });
  await assert.rejects(getA, isAbortOf(controller.signal));
  await getB;
  assert.ok(abortedAt > 0 && abortedAt < a.length, `a was aborted mid-transfer (at ${abortedAt} bytes)`);
  assert.ok(fs.readFileSync(path.join(ldir, 'b')).equals(b), 'b is byte-exact');
  assert.equal(fs.readFileSync(path.join(ldir, 'a'), 'utf8'), 'the old a', 'a keeps its old content');
  assert.deepEqual(ls(ldir), ['a', 'b'], 'no part file left');
  assert.equal(sftp.interrupted, false, 'the connection was not interrupted');
  assert.equal((await sftp.stat(path.join(rdir, 'a'))).size, a.length, 'the connection still serves calls');
});

test('an aborted put keeps the old remote file', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'abort-put');
  const remote = path.join(rdir, 'dest');
  putRemoteFile(remote, 'the old content');
  const ldir = localScratch(t, 'abort-put');
  const local = path.join(ldir, 'src');
  fs.writeFileSync(local, pattern(64 * MiB, 3));
  const controller = new AbortController();
  let abortedAt = -1;
  const put = sftp.put(local, remote, {
    signal: controller.signal,
    callback: (done, total) => {
      if (abortedAt < 0 && done > 0 && done < total) {
        abortedAt = done;
        controller.abort();
      }
    },
  });
  await assert.rejects(put, isAbortOf(controller.signal));
  assert.ok(abortedAt > 0, 'aborted mid-transfer');
  assert.equal(fs.readFileSync(remote, 'utf8'), 'the old content');
  assert.equal(sftp.interrupted, false);
  // The cancelled put's cleanup (CLOSE, REMOVE of the part file) is sent
  // without waiting for its replies; the server runs it before any later
  // request of the connection, so once this listing is back it is done.
  assert.deepEqual(await sftp.listdir(rdir), ['dest']);
  assert.deepEqual(ls(rdir), ['dest'], 'no remote part file left');
});

test('a signal aborted already rejects at once and nothing runs', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'pre-aborted');
  const ldir = localScratch(t, 'pre-aborted');
  fs.writeFileSync(path.join(ldir, 'f'), 'data');
  const signal = AbortSignal.abort(new Error('before the start'));
  await assert.rejects(sftp.mkdir(path.join(rdir, 'm'), { signal }), isAbortOf(signal));
  await assert.rejects(sftp.mkdir(path.join(rdir, 'n'), 0o755, { signal }), isAbortOf(signal));
  await assert.rejects(sftp.put(path.join(ldir, 'f'), path.join(rdir, 'f'), { signal }), isAbortOf(signal));
  await assert.rejects(sftp.putfo('x', path.join(rdir, 'g'), { signal }), isAbortOf(signal));
  await assert.rejects(sftp.putR(ldir, path.join(rdir, 'tree'), { signal }), isAbortOf(signal));
  await assert.rejects(sftp.rename(path.join(rdir, 'x'), path.join(rdir, 'y'), { signal }), isAbortOf(signal));
  await assert.rejects(sftp.stat(rdir, { signal }), isAbortOf(signal));
  await assert.rejects(sftp.listdir(rdir, { signal }), isAbortOf(signal));
  await assert.rejects(sftp.execute('true', { signal }), isAbortOf(signal));
  await assert.rejects(sftp.walktree(rdir, () => {}, null, null, { signal }), isAbortOf(signal));
  assert.deepEqual(ls(rdir), [], 'nothing reached the server');
  assert.deepEqual(getEventListeners(signal, 'abort'), [], 'no listener left on the signal');
});

test('an abort after the call completed changes nothing, and no listener is left', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'late');
  const data = pattern(4 * MiB, 4);
  putRemoteFile(path.join(rdir, 'f'), data);
  const ldir = localScratch(t, 'late');
  const controller = new AbortController();
  const { signal } = controller;
  await sftp.get(path.join(rdir, 'f'), path.join(ldir, 'f'), { signal });
  const attrs = await sftp.stat(path.join(rdir, 'f'), { signal });
  await assert.rejects(sftp.stat(path.join(rdir, 'missing'), { signal }), { code: 'ENOENT' });
  await sftp.mkdir(path.join(rdir, 'd'), { mode: 0o700, signal });
  assert.deepEqual(getEventListeners(signal, 'abort'), [], 'every call removed its listener');
  controller.abort();
  assert.equal(attrs.size, data.length);
  assert.ok(fs.readFileSync(path.join(ldir, 'f')).equals(data));
  assert.deepEqual((await sftp.listdir(rdir)).sort(), ['d', 'f']);
  assert.equal(sftp.interrupted, false);
});

test('AbortSignal.timeout() stops a call that waits for its data; the connection goes on', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'timeout');
  // A source that gives one chunk and then nothing: the upload waits for
  // data until the timeout fires.
  const source = new Readable({ read() {} });
  source.push(Buffer.from('the first chunk'));
  const signal = AbortSignal.timeout(200);
  await assert.rejects(sftp.putfo(source, path.join(rdir, 'never'), { signal }), (e) => isAbortOf(signal)(e) && e.cause.name === 'TimeoutError');
  source.destroy();
  assert.equal(sftp.interrupted, false);
  // Once a later call is back, the cancelled cleanup has run (see 'an
  // aborted put keeps the old remote file').
  assert.deepEqual(await sftp.listdir(rdir), []);
  assert.deepEqual(ls(rdir), [], 'no remote file or part file');
});

test('calls run beside a transfer that is held mid-way, and a signal stops only its own call', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'beside');
  const data = pattern(32 * MiB, 5);
  putRemoteFile(path.join(rdir, 'big'), data);
  putRemoteFile(path.join(rdir, 'small'), 'small');
  // A sink that takes one chunk and then holds the download (backpressure)
  // until it is released.
  const chunks = [];
  let release = null;
  const held = new Promise((resolve) => {
    release = resolve;
  });
  let firstChunk = null;
  const gotFirst = new Promise((resolve) => {
    firstChunk = resolve;
  });
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk, _enc, done) {
      chunks.push(Buffer.from(chunk));
      firstChunk();
      held.then(() => done());
    },
  });
  const download = sftp.getfo(path.join(rdir, 'big'), sink);
  let downloadSettled = false;
  download.finally(() => {
    downloadSettled = true;
  });
  await gotFirst;
  // The download is stopped mid-way; other calls complete meanwhile.
  assert.equal((await sftp.stat(path.join(rdir, 'small'))).size, 5);
  assert.deepEqual((await sftp.listdir(rdir)).sort(), ['big', 'small']);
  assert.equal(await sftp.exists(path.join(rdir, 'big')), true);
  // A listdir aborted before it starts leaves the download alone.
  const controller = new AbortController();
  const listing = sftp.listdir(rdir, { signal: controller.signal });
  controller.abort();
  await assert.rejects(listing, isAbortOf(controller.signal));
  assert.equal(downloadSettled, false, 'the download was held all along');
  release();
  assert.equal(await download, data.length);
  assert.ok(Buffer.concat(chunks).equals(data), 'the held download is byte-exact');
  assert.equal(sftp.interrupted, false);
});

test('exclusive calls keep the order they were made in', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'order');
  putRemoteFile(path.join(rdir, 'inside'), 'x');
  // Not awaited one by one: the chdir still comes before the listdir, and
  // the listdir before the chdir back.
  const home = await sftp.pwd();
  const calls = [sftp.chdir(rdir), sftp.listdir('.'), sftp.chdir(home), sftp.exists('inside')];
  const [, listing, , stillInside] = await Promise.all(calls);
  assert.deepEqual(listing, ['inside']);
  assert.equal(stillInside, false, 'the exists ran after the chdir back');
});

test('options are checked: a signal that is not an AbortSignal, an unknown option, a positional extra', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'checked');
  await assert.rejects(sftp.stat(rdir, { signal: 'stop' }), { code: 'ERR_INVALID_ARG_TYPE', message: /AbortSignal/ });
  await assert.rejects(sftp.listdir(rdir, { sginal: AbortSignal.abort() }), { code: 'ERR_INVALID_ARG_VALUE', message: /sginal/ });
  await assert.rejects(sftp.rmdir(rdir, true), { code: 'ERR_INVALID_ARG_VALUE', message: /recursive in ssh2-sftp-client/ });
  await assert.rejects(sftp.remove(path.join(rdir, 'x'), {}, true), { code: 'ERR_INVALID_ARG_VALUE' });
  await assert.rejects(sftp.walktree(rdir, null, null, null, { recurse: true, depth: 1 }), { code: 'ERR_INVALID_ARG_VALUE', message: /depth/ });
  await sftp.walktree(rdir, null, null, null, { recurse: false });
  await sftp.walktree(rdir, null, null, null, false);
});

test("the ssh2-sftp-client class takes a signal in fastGet and fastPut (psftp's addition)", async (t) => {
  const Client = require('../ssh2-sftp-client');
  const { server } = require('./helpers');
  const client = new Client();
  await client.connect({ host: server.host, port: server.port, username: server.user, password: server.password, cnopts: { knownHosts: server.knownHosts } });
  t.after(() => client.end());
  const rdir = remoteScratch(t, 'client-abort');
  const data = pattern(64 * MiB, 6);
  putRemoteFile(path.join(rdir, 'big'), data);
  putRemoteFile(path.join(rdir, 'dest'), 'the old content');
  const ldir = localScratch(t, 'client-abort');
  fs.writeFileSync(path.join(ldir, 'up'), data);
  for (const [name, run] of [
    ['fastGet', (o) => client.fastGet(path.join(rdir, 'big'), path.join(ldir, 'big'), o)],
    ['fastPut', (o) => client.fastPut(path.join(ldir, 'up'), path.join(rdir, 'dest'), o)],
  ]) {
    const controller = new AbortController();
    let abortedAt = -1;
    const step = (done, _chunk, total) => {
      if (abortedAt < 0 && done > 0 && done < total) {
        abortedAt = done;
        controller.abort();
      }
    };
    await assert.rejects(run({ step, signal: controller.signal }), isAbortOf(controller.signal), name);
    assert.ok(abortedAt > 0, `${name} was aborted mid-transfer`);
  }
  assert.deepEqual(ls(ldir), ['up'], 'no local part file');
  assert.equal(fs.readFileSync(path.join(rdir, 'dest'), 'utf8'), 'the old content');
  // After a later call of the connection the cancelled cleanup has run
  // (see 'an aborted put keeps the old remote file').
  assert.equal((await client.stat(path.join(rdir, 'big'))).size, data.length, 'the connection goes on');
  assert.deepEqual(ls(rdir), ['big', 'dest'], 'no remote part file');
});
