'use strict';
// The remote file-system members of Connection.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {
  psftp,
  server,
  connectFor,
  remoteScratch,
  localScratch,
  putRemoteFile,
  mkdirRemote,
  modeOf,
  rejectsWith,
} = require('./helpers');

test('names that are not UTF-8 come back as Buffers and work as paths', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'latin1');
  const name = Buffer.from('caf\xe9.txt', 'latin1');
  const inDir = (n) => Buffer.concat([Buffer.from(`${dir}/`), n]);
  putRemoteFile(inDir(name), 'latin-1\n');
  putRemoteFile(path.join(dir, 'plain.txt'), 'plain');
  const names = await sftp.listdir(dir);
  assert.deepEqual(names, [name, 'plain.txt'], 'the bytes, not U+FFFD');
  const entries = await sftp.listdirAttr(dir);
  assert.deepEqual(entries[0].filename, name);
  assert.equal((await sftp.stat(inDir(name))).size, 8);
  // get and put with Buffer paths write and read the same bytes.
  const ldir = localScratch(t, 'latin1');
  const local = Buffer.concat([Buffer.from(`${ldir}/`), name]);
  await sftp.get(inDir(name), local);
  assert.equal(fs.readFileSync(local, 'utf8'), 'latin-1\n');
  const up = Buffer.from('na\xefve', 'latin1');
  fs.writeFileSync(Buffer.concat([Buffer.from(`${ldir}/`), up]), 'naive');
  await sftp.put(Buffer.concat([Buffer.from(`${ldir}/`), up]), inDir(up));
  assert.equal(fs.readFileSync(inDir(up), 'utf8'), 'naive');
  await sftp.chdir(dir);
  assert.deepEqual(await sftp.listdir(), [name, up, 'plain.txt']);
  await rejectsWith(sftp.stat(inDir(Buffer.from('missing-\xe9', 'latin1'))), 'ENOTFOUND', ['missing-\\xe9']);
  await assert.rejects(sftp.stat(Buffer.from('a\0b')), { code: 'ERR_INVALID_ARG_VALUE' });
});

test('listdir is sorted without . and ..; errors name the path', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'ls');
  for (const name of ['readme.txt', 'pub', 'Zeta', 'readme.sym', 'ünï']) putRemoteFile(path.join(dir, name), name);
  assert.deepEqual(await sftp.listdir(dir), ['Zeta', 'pub', 'readme.sym', 'readme.txt', 'ünï']);
  await sftp.chdir(dir);
  assert.deepEqual(await sftp.listdir(), ['Zeta', 'pub', 'readme.sym', 'readme.txt', 'ünï'], "default '.'");
  await rejectsWith(sftp.listdir('/no/such/dir'), 'ENOTFOUND', ['/no/such/dir']);
  await rejectsWith(sftp.listdir(path.join(dir, 'readme.txt')), 'ENOTDIR', ['readme.txt', 'not a directory']);
  await assert.rejects(sftp.listdir(7), { code: 'ERR_INVALID_ARG_TYPE', message: /"remotepath"/ });
});

test('listdir_attr / list give sorted entries with attributes', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'lsattr');
  putRemoteFile(path.join(dir, 'b.txt'), Buffer.alloc(8192, 7));
  mkdirRemote(path.join(dir, 'a_dir'));
  fs.symlinkSync('b.txt', path.join(dir, 'c.sym'));
  const entries = await sftp.listdir_attr(dir);
  assert.deepEqual(
    entries.map((e) => e.filename),
    ['a_dir', 'b.txt', 'c.sym'],
  );
  const [a, b, c] = entries;
  assert.ok(b instanceof psftp.DirEntry && b instanceof psftp.Attributes);
  assert.equal(b.size, 8192);
  assert.equal(psftp.st_mode_to_int(b.mode), 644);
  assert.equal(b.mtime, Math.floor(fs.statSync(path.join(dir, 'b.txt')).mtimeMs / 1000));
  assert.equal(b.uid, fs.statSync(path.join(dir, 'b.txt')).uid);
  assert.match(b.longname, /^-rw-r--r--.*b\.txt$/);
  assert.deepEqual([a.isDirectory(), b.isFile(), c.isSymbolicLink()], [true, true, true]);
  assert.deepEqual(await sftp.list(dir), entries, 'list is listdir_attr');
  assert.deepEqual(await sftp.listdirAttr(path.join(dir, 'a_dir')), []);
});

test('stat follows links, lstat does not; flags say which fields are present', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'stat');
  putRemoteFile(path.join(dir, 'f'), '12345');
  fs.symlinkSync('f', path.join(dir, 'l'));
  const a = await sftp.stat(path.join(dir, 'l'));
  assert.equal(a.size, 5);
  assert.equal(a.flags, 15);
  assert.equal(a.isFile(), true);
  const l = await sftp.lstat(path.join(dir, 'l'));
  assert.equal(l.isSymbolicLink(), true);
  await rejectsWith(sftp.stat(path.join(dir, 'nope')), 'ENOTFOUND', ['nope', 'No such file']);
});

test('exists, lexists, isdir, isfile answer false instead of failing', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'exists');
  putRemoteFile(path.join(dir, 'f'), 'x');
  fs.symlinkSync('missing-target', path.join(dir, 'broken'));
  const p = (n) => path.join(dir, n);
  assert.deepEqual(
    await Promise.all([sftp.exists(p('f')), sftp.exists(dir), sftp.exists(p('nope')), sftp.exists(p('broken'))]),
    [true, true, false, false],
  );
  assert.equal(await sftp.lexists(p('broken')), true);
  assert.deepEqual(await Promise.all([sftp.isdir(dir), sftp.isdir(p('f')), sftp.isdir(p('nope'))]), [true, false, false]);
  assert.deepEqual(await Promise.all([sftp.isfile(p('f')), sftp.isfile(dir), sftp.isfile(p('nope'))]), [true, false, false]);
});

test('pwd, getcwd, chdir and cwd behave as in pysftp', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'cd');
  mkdirRemote(path.join(dir, 'sub'));
  putRemoteFile(path.join(dir, 'file'), 'x');
  assert.equal(await sftp.getcwd(), null, 'null until chdir');
  assert.equal(await sftp.pwd(), server.home);
  await sftp.chdir(dir);
  assert.equal(await sftp.getcwd(), dir);
  await sftp.cwd('sub');
  assert.equal(await sftp.pwd(), path.join(dir, 'sub'));
  await sftp.chdir('..');
  assert.equal(await sftp.getcwd(), dir);
  await rejectsWith(sftp.chdir('file'), 'ENOTDIR', ['file']);
  await rejectsWith(sftp.chdir('nope'), 'ENOTFOUND', ['nope']);
  assert.equal(await sftp.getcwd(), dir, 'a failed chdir changes nothing');
  await sftp.chdir();
  assert.equal(await sftp.getcwd(), null);
});

test('cd(path, body) runs the body there and always comes back', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'scoped');
  const start = await sftp.pwd();
  const result = await sftp.cd(dir, async (s) => {
    assert.equal(s, sftp);
    await s.chdir('/tmp');
    return s.pwd();
  });
  assert.equal(result, '/tmp');
  assert.equal(await sftp.pwd(), start);
  const boom = new Error('body failed');
  await assert.rejects(
    sftp.cd(dir, async () => {
      assert.equal(await sftp.pwd(), dir);
      throw boom;
    }),
    (e) => e === boom,
  );
  assert.equal(await sftp.pwd(), start, 'restored after a failing body');
  await sftp.cd(async () => sftp.chdir('/tmp'));
  assert.equal(await sftp.pwd(), start, 'bookmark form');
  let ran = false;
  await rejectsWith(
    sftp.cd('/no/such', async () => {
      ran = true;
    }),
    'ENOTFOUND',
    ['/no/such'],
  );
  assert.equal(ran, false, 'the body does not run when the cd fails');
  await sftp.cd_push(dir);
  await sftp.chdir('/tmp');
  await sftp.cdPop();
  assert.equal(await sftp.pwd(), start);
  await rejectsWith(sftp.cd_pop(), 'EINVAL', ['cd_pop without a matching cd_push']);
  await assert.rejects(sftp.cd(dir), { code: 'ERR_INVALID_ARG_TYPE', message: /"body"/ });
});

test('mkdir and chmod take Node modes (0o644); mkdir recursive is makedirs', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'mode');
  const d = path.join(dir, 'd');
  await sftp.mkdir(d, 0o700);
  assert.equal(modeOf(d), 0o700);
  await rejectsWith(sftp.mkdir(d, 0o755), 'EEXIST', ['exists']);
  await sftp.mkdir(path.join(dir, 'e'));
  assert.equal(modeOf(path.join(dir, 'e')), 0o755, '0o777 minus the umask');
  await sftp.mkdir(path.join(dir, 'deep/er/est'), { recursive: true, mode: 0o750 });
  assert.equal(modeOf(path.join(dir, 'deep/er/est')), 0o750);
  await sftp.mkdir(path.join(dir, 'ssh2/style'), true);
  assert.ok(fs.statSync(path.join(dir, 'ssh2/style')).isDirectory());
  putRemoteFile(path.join(dir, 'f'), 'x');
  // The server's file gets exactly these bits.
  await sftp.chmod(path.join(dir, 'f'), 0o644);
  assert.equal(modeOf(path.join(dir, 'f')), 0o644);
  assert.equal((await sftp.stat(path.join(dir, 'f'))).mode, 0o100644);
  await sftp.chmod(path.join(dir, 'f'), 0o640);
  assert.equal(modeOf(path.join(dir, 'f')), 0o640);
  await sftp.chmod(path.join(dir, 'f'), '4755');
  assert.equal(modeOf(path.join(dir, 'f')), 0o4755);
  for (const [bad, shown] of [[0o100644, '0100644'], [0o10000, '010000']]) {
    await rejectsWith(sftp.chmod(path.join(dir, 'f'), bad), 'EINVAL', ['mode', shown, '07777']);
  }
  await assert.rejects(sftp.chmod(path.join(dir, 'f'), 'rwx'), { code: 'ERR_INVALID_ARG_TYPE' });
  await assert.rejects(sftp.chmod(path.join(dir, 'f'), '648'), { code: 'ERR_INVALID_ARG_TYPE' });
  await assert.rejects(sftp.chmod(path.join(dir, 'f'), -1), { code: 'ERR_OUT_OF_RANGE' });
  await assert.rejects(sftp.chmod(path.join(dir, 'f'), 2 ** 32 + 0o644), { code: 'ERR_OUT_OF_RANGE' });
  assert.equal(modeOf(path.join(dir, 'f')), 0o4755, 'unchanged');
  await rejectsWith(sftp.chmod('/no/such', 0o644), 'ENOTFOUND', ['/no/such']);
  await rejectsWith(sftp.mkdir('/root/x', 0o755), 'EPERM', ['/root/x']);
});

test('makedirs creates every level and refuses a file in the way', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'makedirs');
  const deep = path.join(dir, 'pub/show/off');
  await sftp.makedirs(deep, 0o750);
  assert.equal(modeOf(deep), 0o750);
  await sftp.makedirs(deep, 0o750);
  putRemoteFile(path.join(dir, 'file'), 'x');
  await rejectsWith(sftp.makedirs(path.join(dir, 'file')), 'EEXIST', ['already exists']);
});

test('remove, unlink, delete, rmdir, rename, posixRename', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'rm');
  const p = (n) => path.join(dir, n);
  for (const f of ['a', 'b', 'c', 'x']) putRemoteFile(p(f), f);
  await sftp.remove(p('a'));
  await sftp.unlink(p('b'));
  await sftp.delete(p('x'));
  assert.deepEqual(fs.readdirSync(dir), ['c']);
  await rejectsWith(sftp.remove(p('a')), 'ENOTFOUND', ['/a']);
  mkdirRemote(p('d'));
  await sftp.rename(p('c'), p('d/c2'));
  assert.equal(fs.readFileSync(p('d/c2'), 'utf8'), 'c');
  await rejectsWith(sftp.rmdir(p('d')), 'ENOTEMPTY', ['/d', 'directory not empty']);
  putRemoteFile(p('e'), 'e');
  await rejectsWith(sftp.rename(p('e'), p('d/c2')), 'EEXIST', ['c2']);
  await sftp.posixRename(p('e'), p('d/c2'));
  assert.equal(fs.readFileSync(p('d/c2'), 'utf8'), 'e', 'posix-rename replaced it');
  await sftp.remove(p('d/c2'));
  await sftp.rmdir(p('d'));
  assert.equal(fs.existsSync(p('d')), false);
});

test('symlink, readlink, normalize', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'links');
  mkdirRemote(path.join(dir, 'pub'));
  putRemoteFile(path.join(dir, 'readme.txt'), 'r');
  await sftp.chdir(dir);
  await sftp.symlink('readme.txt', 'readme.sym');
  assert.equal(fs.readlinkSync(path.join(dir, 'readme.sym')), 'readme.txt');
  await rejectsWith(sftp.symlink('x', 'readme.sym'), 'EEXIST', ['readme.sym']);
  assert.equal(await sftp.readlink('readme.sym'), path.join(dir, 'readme.txt'));
  fs.symlinkSync('../readme.txt', path.join(dir, 'pub/up.sym'));
  assert.equal(await sftp.readlink('pub/up.sym'), path.join(dir, 'readme.txt'));
  await rejectsWith(sftp.readlink('readme.txt'), 'ESFTP', ['readme.txt']);
  assert.equal(await sftp.normalize('pub/../readme.txt'), path.join(dir, 'readme.txt'));
  assert.equal(await sftp.normalize('.'), dir);
  // the server's realpath, as pysftp: OpenSSH resolves a missing last
  // component and refuses a missing directory on the way
  assert.equal(await sftp.normalize('no-such-thing'), path.join(dir, 'no-such-thing'));
  await rejectsWith(sftp.normalize('no-dir/x'), 'ENOTFOUND', ['no-dir/x']);
});

test('hardlink, statvfs, utime, truncate, chown', async (t) => {
  const sftp = await connectFor(t);
  const dir = remoteScratch(t, 'ext');
  const f = path.join(dir, 'f');
  putRemoteFile(f, Buffer.alloc(10000, 1));
  await sftp.hardlink(f, path.join(dir, 'h'));
  assert.equal(fs.statSync(f).ino, fs.statSync(path.join(dir, 'h')).ino);
  const v = await sftp.statvfs(dir);
  const local = fs.statfsSync(dir);
  assert.equal(v.bsize, local.bsize);
  assert.equal(v.blocks, local.blocks);
  await sftp.utime(f, 1111111111, new Date(1222222222 * 1000));
  const st = fs.statSync(f);
  assert.deepEqual([Math.floor(st.atimeMs / 1000), Math.floor(st.mtimeMs / 1000)], [1111111111, 1222222222]);
  await rejectsWith(sftp.utime(f, -5, 0), 'EINVAL', ['atime']);
  assert.equal(await sftp.truncate(f, 4096), 4096);
  assert.equal(fs.statSync(f).size, 4096);
  await rejectsWith(sftp.truncate('/no/such', 1), 'ENOTFOUND');
  await assert.rejects(sftp.truncate(f, -1), { code: 'ERR_OUT_OF_RANGE', message: /"size"/ });
  assert.equal(fs.statSync(f).size, 4096);
  await sftp.chown(f, st.uid);
  await sftp.chown(f, null, st.gid);
  await rejectsWith(sftp.chown(f, 0), 'EPERM', ['/f']);
  await rejectsWith(sftp.chown(f, -2), 'EINVAL', ['uid']);
});
