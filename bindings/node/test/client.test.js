'use strict';
// The ssh2-sftp-client v12 look-alike (psftp/ssh2-sftp-client): its
// documented methods give what ssh2-sftp-client's give, and what psftp
// cannot honour is an error, never ignored.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { PassThrough, Readable, Writable } = require('node:stream');
const Client = require('../ssh2-sftp-client');
const { psftp, server, remoteScratch, localScratch, putRemoteFile, mkdirRemote, chownToTestUser, pattern } = require('./helpers');

const MiB = 1024 * 1024;

/** A connected Client as ssh2-sftp-client users write it: the key's contents as privateKey. */
async function client(t, extra = {}) {
  const sftp = new Client();
  await sftp.connect({
    host: server.host,
    port: server.port,
    username: server.user,
    privateKey: fs.readFileSync(server.file('id_ed25519_enc')),
    passphrase: server.passphrase,
    readyTimeout: 20000,
    cnopts: { knownHosts: server.knownHosts },
    ...extra,
  });
  t.after(() => sftp.end());
  return sftp;
}

test('the import is the switch: require, the named export, the ES module', async () => {
  assert.equal(Client, psftp.SftpClient);
  const esm = await import('../ssh2-sftp-client.mjs');
  assert.equal(esm.default, Client);
});

test('connect takes ssh2 options; unknown ones are errors; end() resolves true', async (t) => {
  const sftp = await client(t);
  assert.ok(sftp.sftp instanceof psftp.Connection);
  assert.equal(await sftp.cwd(), server.home);
  await assert.rejects(sftp.connect({ host: server.host }), { code: 'ERR_NOT_CONNECTED', message: /already defined/ });
  const other = new Client();
  await assert.rejects(other.connect({ host: server.host, algorithms: {} }), { code: 'ERR_INVALID_ARG_VALUE', message: /algorithms/ });
  await assert.rejects(other.connect({ host: server.host, privateKey: 42 }), { code: 'ERR_INVALID_ARG_TYPE', message: /privateKey/ });
  await assert.rejects(other.stat('/'), { code: 'ERR_NOT_CONNECTED' });
  let ended = 0;
  const withEvents = new Client('named', { end: () => ended++, close: () => ended++ });
  await withEvents.connect({ host: server.host, port: server.port, username: server.user, password: server.password, cnopts: { knownHosts: server.knownHosts } });
  assert.equal(await withEvents.end(), true);
  assert.equal(ended, 2);
  assert.equal(await withEvents.end(), true, 'a second end is harmless');
});

test('list, stat, exists, realPath give ssh2-sftp-client shapes (times in ms, rights, types)', async (t) => {
  const sftp = await client(t);
  const rdir = remoteScratch(t, 'client-list');
  putRemoteFile(path.join(rdir, 'f.txt'), 'hello');
  fs.chmodSync(path.join(rdir, 'f.txt'), 0o640);
  fs.utimesSync(path.join(rdir, 'f.txt'), 1700000001, 1700000000);
  mkdirRemote(path.join(rdir, 'sub'));
  fs.symlinkSync('f.txt', path.join(rdir, 'link'));
  fs.lchownSync(path.join(rdir, 'link'), fs.statSync(rdir).uid, fs.statSync(rdir).gid);

  const list = await sftp.list(rdir);
  const byName = Object.fromEntries(list.map((e) => [e.name, e]));
  assert.deepEqual(Object.keys(byName).sort(), ['f.txt', 'link', 'sub']);
  const f = byName['f.txt'];
  assert.deepEqual(
    { type: f.type, size: f.size, modifyTime: f.modifyTime, accessTime: f.accessTime, rights: f.rights },
    { type: '-', size: 5, modifyTime: 1700000000000, accessTime: 1700000001000, rights: { user: 'rw', group: 'r', other: '' } },
  );
  assert.equal(f.owner, fs.statSync(rdir).uid);
  assert.equal(f.group, fs.statSync(rdir).gid);
  assert.match(f.longname, /^-rw-r-----/);
  assert.equal(byName.sub.type, 'd');
  assert.equal(byName.link.type, 'l');
  assert.deepEqual((await sftp.list(rdir, (e) => e.type === 'd')).map((e) => e.name), ['sub']);

  const st = await sftp.stat(path.join(rdir, 'f.txt'));
  assert.deepEqual(
    [st.size, st.modifyTime, st.accessTime, st.isFile, st.isDirectory, st.isSymbolicLink, st.mode & 0o777],
    [5, 1700000000000, 1700000001000, true, false, false, 0o640],
  );
  assert.equal((await sftp.stat(path.join(rdir, 'sub'))).isDirectory, true);
  assert.equal((await sftp.lstat(path.join(rdir, 'link'))).isSymbolicLink, true);
  assert.equal((await sftp.stat(path.join(rdir, 'link'))).isFile, true);

  assert.equal(await sftp.exists(path.join(rdir, 'f.txt')), '-');
  assert.equal(await sftp.exists(path.join(rdir, 'sub')), 'd');
  assert.equal(await sftp.exists(path.join(rdir, 'link')), 'l');
  assert.equal(await sftp.exists(path.join(rdir, 'missing')), false);
  assert.equal(await sftp.exists('.'), 'd');
  assert.equal(await sftp.realPath(`${rdir}/sub/../f.txt`), `${rdir}/f.txt`);
  assert.equal(await sftp.realPath(`${rdir}/missing/deeper`), '', "'' when it does not resolve");
  await assert.rejects(sftp.stat(path.join(rdir, 'missing')), { code: 'ENOENT' });
});

test('get returns a Buffer, writes a path or pipes into a Writable; put takes a Buffer, a Readable or a path', async (t) => {
  const sftp = await client(t);
  const rdir = remoteScratch(t, 'client-get');
  const ldir = localScratch(t, 'client-get');
  const data = pattern(3 * MiB + 17, 21);
  putRemoteFile(path.join(rdir, 'src'), data);

  const buf = await sftp.get(path.join(rdir, 'src'));
  assert.ok(Buffer.isBuffer(buf) && buf.equals(data));
  const local = path.join(ldir, 'copy');
  assert.equal(await sftp.get(path.join(rdir, 'src'), local), local);
  assert.ok(fs.readFileSync(local).equals(data));
  const chunks = [];
  const sink = new Writable({
    highWaterMark: 1024,
    write(chunk, _enc, done) {
      chunks.push(chunk);
      setImmediate(done); // a slow sink: backpressure
    },
  });
  let finished = false;
  sink.on('finish', () => (finished = true));
  assert.equal(await sftp.get(path.join(rdir, 'src'), sink), sink);
  assert.ok(Buffer.concat(chunks).equals(data));
  assert.equal(finished, true, 'the Writable is ended, as pipe() does');
  const open = new PassThrough();
  const through = [];
  open.on('data', (c) => through.push(c));
  await sftp.get(path.join(rdir, 'src'), open, { pipeOptions: { end: false } });
  assert.ok(Buffer.concat(through).equals(data));
  assert.equal(open.writableEnded, false, 'pipeOptions.end false leaves it open');
  await assert.rejects(sftp.get(path.join(rdir, 'src'), local, { writeStreamOptions: { flags: 'a' } }), { code: 'ERR_INVALID_ARG_VALUE', message: /writeStreamOptions/ });
  await assert.rejects(sftp.get(path.join(rdir, 'missing')), { code: 'ENOENT' });

  assert.equal(await sftp.put(data, path.join(rdir, 'from-buffer')), `Uploaded data stream to ${path.join(rdir, 'from-buffer')}`);
  assert.ok(fs.readFileSync(path.join(rdir, 'from-buffer')).equals(data));
  await sftp.put(Readable.from([data.subarray(0, 5), data.subarray(5)]), path.join(rdir, 'from-stream'));
  assert.ok(fs.readFileSync(path.join(rdir, 'from-stream')).equals(data));
  await sftp.put(fs.createReadStream(local), path.join(rdir, 'from-fs-stream'), { writeStreamOptions: { mode: 0o600 } });
  assert.ok(fs.readFileSync(path.join(rdir, 'from-fs-stream')).equals(data));
  assert.equal(fs.statSync(path.join(rdir, 'from-fs-stream')).mode & 0o777, 0o600);
  await sftp.put(local, path.join(rdir, 'from-path'));
  assert.ok(fs.readFileSync(path.join(rdir, 'from-path')).equals(data));
  await assert.rejects(sftp.put(42, path.join(rdir, 'x')), { code: 'ERR_INVALID_ARG_TYPE' });

  const steps = [];
  assert.equal(await sftp.fastGet(path.join(rdir, 'src'), path.join(ldir, 'fast'), { step: (total, chunk, size) => steps.push([total, chunk, size]) }), `${path.join(rdir, 'src')} was successfully download to ${path.join(ldir, 'fast')}!`);
  assert.ok(fs.readFileSync(path.join(ldir, 'fast')).equals(data));
  assert.deepEqual(steps.at(-1).filter((_, i) => i !== 1), [data.length, data.length]);
  assert.equal(steps.reduce((sum, s) => sum + s[1], 0), data.length, 'the chunks add up');
  await assert.rejects(sftp.fastGet(path.join(rdir, 'src'), path.join(ldir, 'x'), { concurrency: 64 }), { code: 'ERR_INVALID_ARG_VALUE', message: /concurrency/ });
  await sftp.fastPut(local, path.join(rdir, 'fastput'), { mode: 0o640 });
  assert.equal(fs.statSync(path.join(rdir, 'fastput')).mode & 0o777, 0o640);
});

test('append, rcopy, mkdir, rmdir and delete as ssh2-sftp-client has them', async (t) => {
  const sftp = await client(t);
  const rdir = remoteScratch(t, 'client-ops');
  putRemoteFile(path.join(rdir, 'log'), 'one\n');
  assert.equal(await sftp.append(Buffer.from('two\n'), path.join(rdir, 'log')), `Appended data to ${path.join(rdir, 'log')}`);
  await sftp.append(Readable.from(['three\n']), path.join(rdir, 'log'));
  assert.equal(fs.readFileSync(path.join(rdir, 'log'), 'utf8'), 'one\ntwo\nthree\n');
  await assert.rejects(sftp.append('/etc/passwd', path.join(rdir, 'log')), { code: 'ERR_BAD_PATH' });
  await assert.rejects(sftp.append(Buffer.from('x'), rdir), { code: 'EISDIR' });

  assert.equal(await sftp.rcopy(path.join(rdir, 'log'), path.join(rdir, 'log2')), `${path.join(rdir, 'log')} copied to ${path.join(rdir, 'log2')}`);
  assert.equal(fs.readFileSync(path.join(rdir, 'log2'), 'utf8'), 'one\ntwo\nthree\n');
  await assert.rejects(sftp.rcopy(path.join(rdir, 'log'), path.join(rdir, 'log2')), { code: 'EEXIST' });
  await assert.rejects(sftp.rcopy(path.join(rdir, 'nope'), path.join(rdir, 'log3')), { code: 'ENOENT' });

  const deep = path.join(rdir, 'a/b/c');
  await assert.rejects(sftp.mkdir(deep), { code: 'ENOENT' });
  assert.equal(await sftp.mkdir(deep, true), `${deep} directory created`);
  assert.ok(fs.statSync(deep).isDirectory());
  assert.equal(await sftp.mkdir(deep, true), `${deep} already exists`);
  await assert.rejects(sftp.mkdir(path.join(rdir, 'log')), { code: 'EEXIST' });
  putRemoteFile(path.join(rdir, 'a/b/c/f'), 'f');
  putRemoteFile(path.join(rdir, 'a/g'), 'g');

  await assert.rejects(sftp.rmdir(path.join(rdir, 'a')), { code: 'ENOTEMPTY' });
  await assert.rejects(sftp.rmdir(path.join(rdir, 'log')), { code: 'ENOTDIR' });
  await assert.rejects(sftp.rmdir(path.join(rdir, 'nope')), { code: 'ENOENT' });
  assert.equal(await sftp.rmdir(path.join(rdir, 'a'), true), 'Successfully removed directory');
  assert.equal(fs.existsSync(path.join(rdir, 'a')), false, 'removed with everything under it');

  assert.equal(await sftp.delete(path.join(rdir, 'log2')), `Successfully deleted ${path.join(rdir, 'log2')}`);
  assert.equal(fs.existsSync(path.join(rdir, 'log2')), false);
  await assert.rejects(sftp.delete(path.join(rdir, 'log2')), { code: 'ENOENT' });
  assert.equal(await sftp.delete(path.join(rdir, 'log2'), true), `Successfully deleted ${path.join(rdir, 'log2')}`);

  assert.equal(await sftp.rename(path.join(rdir, 'log'), path.join(rdir, 'renamed')), `Successfully renamed ${path.join(rdir, 'log')} to ${path.join(rdir, 'renamed')}`);
  assert.equal(await sftp.chmod(path.join(rdir, 'renamed'), 0o600), 'Successfully change file mode');
  assert.equal(fs.statSync(path.join(rdir, 'renamed')).mode & 0o777, 0o600);
  fs.chmodSync(rdir, 0o500);
  try {
    await assert.rejects(sftp.delete(path.join(rdir, 'renamed')), { code: 'EACCES' });
  } finally {
    fs.chmodSync(rdir, 0o755);
  }
});

test('uploadDir and downloadDir copy the contents, with or without a filter function', async (t) => {
  const sftp = await client(t);
  const rdir = remoteScratch(t, 'client-tree');
  const ldir = localScratch(t, 'client-tree');
  fs.mkdirSync(path.join(ldir, 'src/sub'), { recursive: true });
  fs.writeFileSync(path.join(ldir, 'src/a'), 'A');
  fs.writeFileSync(path.join(ldir, 'src/sub/b'), 'B');
  const dst = path.join(rdir, 'up');
  assert.equal(await sftp.uploadDir(path.join(ldir, 'src'), dst), `${path.join(ldir, 'src')} uploaded to ${dst}`);
  assert.equal(fs.readFileSync(path.join(dst, 'sub/b'), 'utf8'), 'B');
  const back = path.join(ldir, 'back');
  assert.equal(await sftp.downloadDir(dst, back), `${dst} downloaded to ${back}`);
  assert.equal(fs.readFileSync(path.join(back, 'a'), 'utf8'), 'A');
  assert.equal(fs.readFileSync(path.join(back, 'sub/b'), 'utf8'), 'B');

  // filter(path, isDirectory): a refused directory is not entered, as in ssh2-sftp-client.
  fs.writeFileSync(path.join(ldir, 'src/skip.tmp'), 'T');
  fs.mkdirSync(path.join(ldir, 'src/cache'));
  fs.writeFileSync(path.join(ldir, 'src/cache/c'), 'C');
  const seen = [];
  const keep = (p, isDir) => {
    seen.push([path.relative(path.join(ldir, 'src'), p), isDir]);
    return !p.endsWith('.tmp') && path.basename(p) !== 'cache';
  };
  const filtered = path.join(rdir, 'filtered');
  await sftp.uploadDir(path.join(ldir, 'src'), filtered, { filter: keep, useFastput: true });
  assert.deepEqual(seen.sort(), [['a', false], ['cache', true], ['skip.tmp', false], ['sub', true], ['sub/b', false]]);
  const tree = (root) => fs.readdirSync(root, { recursive: true }).sort();
  assert.deepEqual(tree(filtered), ['a', 'sub', 'sub/b']);
  const down = path.join(ldir, 'down');
  const remoteSeen = [];
  await sftp.downloadDir(dst, down, { filter: (p, isDir) => (remoteSeen.push(p), isDir || p.endsWith('/b')) });
  assert.deepEqual(tree(down), ['sub', 'sub/b']);
  assert.equal(fs.readFileSync(path.join(down, 'sub/b'), 'utf8'), 'B');
  assert.deepEqual(remoteSeen.sort(), [`${dst}/a`, `${dst}/sub`, `${dst}/sub/b`]);
  await assert.rejects(sftp.downloadDir(dst, down, { filter: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' });
  await assert.rejects(sftp.downloadDir(dst, down, { concurrency: 2 }), { code: 'ERR_INVALID_ARG_VALUE', message: /concurrency/ });
  chownToTestUser(ldir);
});

test("the pysftp-named Connection refuses ssh2-sftp-client's extra arguments instead of ignoring them", async (t) => {
  const sftp = await psftp.connect({ host: server.host, port: server.port, username: server.user, password: server.password, cnopts: { knownHosts: server.knownHosts } });
  t.after(() => sftp.close());
  const rdir = remoteScratch(t, 'client-extra');
  mkdirRemote(path.join(rdir, 'd'));
  putRemoteFile(path.join(rdir, 'd/f'), 'f');
  await assert.rejects(sftp.rmdir(path.join(rdir, 'd'), true), { code: 'ERR_INVALID_ARG_VALUE', message: /recursive in ssh2-sftp-client/ });
  await assert.rejects(sftp.delete(path.join(rdir, 'd/f'), true), { code: 'ERR_INVALID_ARG_VALUE', message: /SftpClient/ });
  await assert.rejects(sftp.list(rdir, () => true), { code: 'ERR_INVALID_ARG_VALUE', message: /filter/ });
  assert.ok(fs.existsSync(path.join(rdir, 'd/f')), 'nothing was done');
});
