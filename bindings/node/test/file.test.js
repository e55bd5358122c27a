'use strict';
// open() files and the Readable/Writable streams over them.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { pipeline } = require('node:stream/promises');
const { Writable } = require('node:stream');
const { psftp, login, connectFor, remoteScratch, localScratch, putRemoteFile, pattern, rejectsWith } = require('./helpers');

const MiB = 1024 * 1024;

test('files read, write, seek, tell, stat, truncate and close with every buffering', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'file');
  for (const bufsize of [-1, 0, 1, 4096]) {
    const p = path.join(dir, `f${bufsize}`);
    const f = await sftp.open(p, 'w+', bufsize);
    assert.ok(f instanceof psftp.SftpFile);
    await f.write('line one\n');
    await f.write(Buffer.from('line two\nrest'));
    const big = pattern(3 * MiB, bufsize & 0xff);
    await f.write(big);
    assert.equal(await f.tell(), 22 + big.length);
    assert.equal(await f.seek(0), 0);
    assert.equal((await f.readline()).toString(), 'line one\n');
    assert.equal((await f.readline()).toString(), 'line two\n');
    assert.equal((await f.read(4)).toString(), 'rest');
    assert.ok((await f.read(big.length + 10)).equals(big), `bufsize ${bufsize}`);
    assert.equal((await f.read(10)).length, 0, 'EOF');
    assert.equal((await f.readline()).length, 0);
    assert.equal(await f.seek(-4, psftp.SEEK_END), 22 + big.length - 4);
    assert.equal(await f.seek(2, psftp.SEEK_CUR), 22 + big.length - 2);
    assert.equal((await f.stat()).size, 22 + big.length);
    await f.truncate(5);
    await f.flush();
    await f.fsync();
    await f.close();
    assert.equal(fs.readFileSync(p, 'utf8'), 'line ');
    await f.close(); // closing twice is harmless
    await rejectsWith(f.tell(), 'EINVAL', ['not a live psftp_file']);
  }
});

test('read() without a size reads the rest; readline(size) and long lines', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'readall');
  const long = 'x'.repeat(200000);
  const data = Buffer.from(`${long}\nshort\nlast`);
  putRemoteFile(path.join(dir, 'f'), data);
  const f = await sftp.open(path.join(dir, 'f'));
  assert.equal((await f.readline()).toString(), `${long}\n`, 'a line longer than one read');
  assert.equal((await f.readline(3)).toString(), 'sho');
  assert.equal((await f.read()).toString(), 'rt\nlast');
  await f.seek(0);
  assert.ok((await f.read()).equals(data));
  await f.close();
});

test('file modes follow Python', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'modes');
  const p = path.join(dir, 'f');
  await rejectsWith(sftp.open(p, 'r'), 'ENOTFOUND', ['/f']);
  let f = await sftp.open(p, 'wb');
  await f.write('hello');
  await rejectsWith(f.read(4), 'EINVAL', ['not opened for reading']);
  await f.close();
  f = await sftp.open(p, 'a');
  await f.seek(0);
  await f.write(' world'); // append mode: lands at the end anyway
  await f.close();
  assert.equal(fs.readFileSync(p, 'utf8'), 'hello world');
  f = await sftp.open(p, 'r+');
  await f.write('J');
  await f.seek(0);
  assert.equal((await f.read(100)).toString(), 'Jello world');
  await rejectsWith(f.seek(-1), 'EINVAL', ['offset']);
  await rejectsWith(f.seek(0, 7), 'EINVAL', ['whence']);
  await f.close();
  await rejectsWith(sftp.open(p, 'x'), 'EEXIST', ['/f']);
  for (const bad of ['rt', 'z', 'rw']) await rejectsWith(sftp.open(p, bad), 'EINVAL', ['mode', bad]);
  await assert.rejects(f.write(12), { code: 'ERR_INVALID_ARG_TYPE', message: /"data"/ });
});

test('a file outliving its connection fails with ECONNLOST', async (t) => {
  const sftp = await psftp.connect(login());
  const dir = remoteScratch(t, 'orphan');
  const f = await sftp.open(path.join(dir, 'f'), 'w', 0);
  await sftp.close();
  await rejectsWith(f.write('x'), 'ECONNLOST', ['closed']);
  await f.close().catch((e) => assert.deepEqual([e.code, e.psftpCode], ['ECONNRESET', 'ECONNLOST']));
});

test('createReadStream and createWriteStream pipe through psftp files', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'streams');
  const ldir = localScratch(t, 'streams');
  const data = pattern(3 * MiB + 17, 8);
  fs.writeFileSync(path.join(ldir, 'src'), data);
  await pipeline(fs.createReadStream(path.join(ldir, 'src')), sftp.createWriteStream(path.join(rdir, 'up')));
  assert.ok(fs.readFileSync(path.join(rdir, 'up')).equals(data));
  await pipeline(sftp.createReadStream(path.join(rdir, 'up')), fs.createWriteStream(path.join(ldir, 'down')));
  assert.ok(fs.readFileSync(path.join(ldir, 'down')).equals(data));

  const tail = [];
  for await (const chunk of sftp.createReadStream(path.join(rdir, 'up'), { start: data.length - 100 })) tail.push(chunk);
  assert.ok(Buffer.concat(tail).equals(data.subarray(data.length - 100)));

  await pipeline(async function* () {
    yield 'more';
  }, sftp.createWriteStream(path.join(rdir, 'up'), { flags: 'a' }));
  assert.equal(fs.readFileSync(path.join(rdir, 'up')).subarray(-4).toString(), 'more');

  await assert.rejects(
    pipeline(sftp.createReadStream(path.join(rdir, 'missing')), fs.createWriteStream(path.join(ldir, 'x'))),
    (e) => e.code === 'ENOENT' && e.message.includes('missing'),
  );
  await assert.rejects(
    pipeline(fs.createReadStream(path.join(ldir, 'src')), sftp.createWriteStream('/root/denied')),
    (e) => e.code === 'EACCES' && e.psftpCode === 'EPERM',
  );
  // Streams over an already open file.
  const f = await sftp.open(path.join(rdir, 'up'));
  const sink = [];
  await pipeline(
    f.createReadStream(),
    new Writable({
      write: (chunk, _enc, done) => done(null, sink.push(chunk)),
    }),
  );
  assert.equal(Buffer.concat(sink).length, data.length + 4);
  await rejectsWith(f.tell(), 'EINVAL', ['not a live psftp_file'], 'the stream closed the file');
  assert.deepEqual(await sftp.listdir(rdir), ['up'], 'the connection is still in step');
});
