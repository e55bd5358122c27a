'use strict';
// getD, getR, putD, putR (and downloadDir, uploadDir): byte-exact trees
// where pysftp puts them, parallel connections, sync, filters, symlink and
// mode policies, the failure list, cancellation, and the event loop.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Relay } = require('./relay');
const {
  psftp,
  server,
  connectFor,
  remoteScratch,
  localScratch,
  chownToTestUser,
  pattern,
  modeOf,
  rejectsWith,
  relayKnownHosts,
} = require('./helpers');

const MiB = 1024 * 1024;

/** Files of the test tree: nesting, an empty file, unicode, several MiB, many small ones. */
const TREE = [
  ['top.txt', 100],
  ['empty.bin', 0],
  ['big.bin', 3 * MiB + 11],
  ['a/one.txt', 4096],
  ['a/b/two.txt', 10],
  ['a/b/c/deep.bin', MiB + 1],
  ['ünïcödé/ファイル.txt', 33],
  ...Array.from({ length: 30 }, (_, i) => [`many/f${String(i).padStart(2, '0')}`, 4096 + i]),
];

/** Write the test tree (and an empty directory) under `root`; owned by the test user when remote. */
function makeTree(root, remote = false) {
  fs.mkdirSync(path.join(root, 'empty_dir'), { recursive: true });
  TREE.forEach(([name, len], i) => {
    const p = path.join(root, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, pattern(len, i));
  });
  if (remote) chownTree(root);
}

function chownTree(root) {
  chownToTestUser(root);
  for (const e of fs.readdirSync(root, { withFileTypes: true })) {
    const p = path.join(root, e.name);
    if (e.isDirectory()) chownTree(p);
    else fs.lchownSync(p, fs.statSync(root).uid, fs.statSync(root).gid);
  }
}

/** Everything under `root`: relative path -> 'd', 'l -> target' or the file's bytes as hex digest. */
function snapshot(root) {
  const out = {};
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
      const p = path.join(dir, e.name);
      const rel = path.relative(root, p);
      if (e.isSymbolicLink()) out[rel] = `l -> ${fs.readlinkSync(p)}`;
      else if (e.isDirectory()) {
        out[rel] = 'd';
        walk(p);
      } else out[rel] = `f ${require('node:crypto').createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`;
    }
  };
  walk(root);
  return out;
}

/** Where get_r puts an absolute remotedir: reparent(localdir, remotedir) = localdir/./remotedir. */
function landing(localdir, remotedir) {
  return path.join(localdir, '.', remotedir);
}

const totalBytes = TREE.reduce((sum, [, len]) => sum + len, 0);

test('getR copies the tree byte for byte where pysftp puts it, with mtimes and progress', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'getr');
  makeTree(path.join(rdir, 'public'), true);
  fs.utimesSync(path.join(rdir, 'public/a/one.txt'), 1500000000, 1500000000);
  const ldir = localScratch(t, 'getr');
  await sftp.chdir(rdir);
  const calls = [];
  // pysftp: get_r('public', 'backup') lands in backup/public.
  const result = await sftp.getR('public', path.join(ldir, 'backup'), {
    preserveMtime: true,
    callback: (p) => void calls.push(p),
  });
  const landed = path.join(ldir, 'backup/public');
  assert.deepEqual(snapshot(landed), snapshot(path.join(rdir, 'public')));
  assert.equal(fs.statSync(path.join(landed, 'a/one.txt')).mtimeMs, 1500000000 * 1000);
  assert.ok(fs.statSync(path.join(landed, 'empty_dir')).isDirectory());
  assert.deepEqual(result, {
    filesDone: TREE.length,
    filesTotal: TREE.length,
    bytesDone: totalBytes,
    bytesTotal: totalBytes,
    failures: [],
  });
  const last = calls.at(-1);
  assert.deepEqual([last.filesDone, last.bytesDone], [TREE.length, totalBytes]);
  assert.equal(typeof last.currentPath, 'string');
  // Progress is sampled (every 10 ms and once at the end), so which files
  // show up varies; every path seen is relative to the root and names a
  // file copied there, and the last sample names one.
  const seen = calls.map((c) => c.currentPath).filter((p) => p !== '');
  assert.ok(seen.length > 0 && last.currentPath !== '', `progress paths: ${JSON.stringify(seen)}`);
  assert.ok(
    seen.every((p) => !path.isAbsolute(p) && fs.statSync(path.join(landed, p)).isFile()),
    `paths are relative to the root: ${JSON.stringify(seen)}`,
  );
  assert.ok(calls.every((c, i) => i === 0 || (calls[i - 1].filesDone <= c.filesDone && calls[i - 1].bytesDone <= c.bytesDone)));
  // An absolute remotedir lands under localdir/./remotedir; get_r is the pysftp alias.
  const abs = path.join(ldir, 'abs');
  await sftp.get_r(path.join(rdir, 'public/a'), abs);
  assert.deepEqual(snapshot(landing(abs, path.join(rdir, 'public/a'))), snapshot(path.join(rdir, 'public/a')));
});

test('putR copies the contents into remotepath and accepts existing directories; putD and getD only the top files', async (t) => {
  const sftp = await connectFor(t);
  const ldir = localScratch(t, 'putr');
  makeTree(ldir);
  fs.utimesSync(path.join(ldir, 'a/b/two.txt'), 1400000000, 1400000000);
  const rdir = path.join(remoteScratch(t, 'putr'), 'static');
  for (let i = 0; i < 2; i++) {
    const result = await sftp.putR(ldir, rdir, { preserveMtime: true });
    assert.deepEqual(result.failures, []);
    assert.equal(result.filesDone, TREE.length);
  }
  assert.deepEqual(snapshot(rdir), snapshot(ldir));
  assert.equal(fs.statSync(path.join(rdir, 'a/b/two.txt')).mtimeMs, 1400000000 * 1000);
  assert.ok(Object.keys(snapshot(rdir)).every((k) => !k.includes('.psftp.part')), 'no temporary files');

  const images = path.join(localScratch(t, 'getd'), 'images');
  const got = await sftp.getD(rdir, images);
  assert.equal(got.filesDone, 3);
  assert.deepEqual(Object.keys(snapshot(images)).sort(), ['big.bin', 'empty.bin', 'top.txt']);
  assert.ok(fs.readFileSync(path.join(images, 'big.bin')).equals(fs.readFileSync(path.join(ldir, 'big.bin'))));
  const dest = remoteScratch(t, 'putd');
  await sftp.put_d(images, dest, { confirm: false });
  assert.deepEqual(snapshot(dest), snapshot(images));
  await sftp.get_d(dest, path.join(images, 'again'));
  assert.deepEqual(fs.readdirSync(path.join(images, 'again')).sort(), ['big.bin', 'empty.bin', 'top.txt']);
});

test('downloadDir and uploadDir copy the contents of srcDir into dstDir (ssh2-sftp-client)', async (t) => {
  const sftp = await connectFor(t);
  const ldir = localScratch(t, 'dirs');
  const src = path.join(ldir, 'src');
  makeTree(src);
  const rdir = path.join(remoteScratch(t, 'dirs'), 'up');
  const up = await sftp.uploadDir(src, rdir, { useFastput: true });
  assert.equal(up.filesDone, TREE.length);
  assert.deepEqual(snapshot(rdir), snapshot(src));
  const dst = path.join(ldir, 'new/down'); // missing: created
  await sftp.chdir('/tmp');
  const down = await sftp.downloadDir(rdir, dst, { useFastget: true, exclude: 'many' });
  const want = Object.fromEntries(Object.entries(snapshot(src)).filter(([k]) => !k.startsWith('many')));
  assert.deepEqual(snapshot(dst), want);
  assert.equal(down.filesDone, TREE.length - 30);
  assert.equal(await sftp.getcwd(), '/tmp', 'the working directory is restored');
  await rejectsWith(sftp.downloadDir(path.join(rdir, 'nope'), dst), 'ENOTFOUND', ['nope']);
  assert.equal(await sftp.getcwd(), '/tmp');
  await assert.rejects(sftp.downloadDir(rdir, dst, { filter: () => true }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /include and options.exclude/,
  });
  await assert.rejects(sftp.uploadDir(src, rdir, { filter: () => true }), { message: /not supported/ });
});

test('parallelism: 1, 2 and 8 connections give the same tree, and the extra connections are made', async (t) => {
  const ldir = localScratch(t, 'par');
  makeTree(ldir);
  const relay = new Relay(server.port);
  await relay.listen();
  t.after(() => relay.close());
  const sftp = await connectFor(t, { port: relay.port, cnopts: { knownHosts: relayKnownHosts(t, relay.port) } });
  const rdir = remoteScratch(t, 'par');
  for (const n of [1, 2, 8]) {
    const before = relay.accepted;
    const dest = path.join(rdir, `p${n}`);
    await sftp.putR(ldir, dest, { parallelism: n });
    assert.deepEqual(snapshot(dest), snapshot(ldir), `putR with ${n} connections`);
    assert.equal(relay.accepted - before, n - 1, `${n - 1} extra connections for putR`);
    const back = localScratch(t, 'parback');
    await sftp.getR(dest, back, { parallelism: n });
    assert.deepEqual(snapshot(landing(back, dest)), snapshot(ldir), `getR with ${n} connections`);
  }
  for (const n of [0, 65]) {
    await rejectsWith(sftp.getR(rdir, ldir, { parallelism: n }), 'EINVAL', ['connections']);
  }
  await assert.rejects(sftp.getR(rdir, ldir, { parallelism: 2 ** 40 }), { code: 'ERR_OUT_OF_RANGE' });
  await assert.rejects(sftp.getR(rdir, ldir, { parallelism: '4' }), { code: 'ERR_INVALID_ARG_TYPE' });
});

test('sync skips unchanged files and copies changed ones, both ways', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'sync');
  makeTree(rdir, true);
  const ldir = localScratch(t, 'sync');
  await sftp.getR(rdir, ldir, { sync: true });
  const landed = landing(ldir, rdir);
  assert.deepEqual(snapshot(landed), snapshot(rdir));
  const inode = (p) => fs.statSync(path.join(landed, p)).ino;
  const before = { top: inode('top.txt'), big: inode('big.bin'), f05: inode('many/f05') };
  fs.writeFileSync(path.join(rdir, 'many/f05'), 'changed');
  const result = await sftp.getR(rdir, ldir, { sync: true });
  assert.equal(fs.readFileSync(path.join(landed, 'many/f05'), 'utf8'), 'changed');
  assert.equal(inode('top.txt'), before.top, 'unchanged: skipped');
  assert.equal(inode('big.bin'), before.big, 'unchanged: skipped');
  assert.notEqual(inode('many/f05'), before.f05, 'changed: copied');
  assert.equal(result.filesDone, result.filesTotal, 'skipped files count as done');

  const dest = remoteScratch(t, 'syncput');
  await sftp.putR(landed, dest, { sync: true });
  const remoteInode = fs.statSync(path.join(dest, 'a/one.txt')).ino;
  await sftp.putR(landed, dest, { sync: true });
  assert.equal(fs.statSync(path.join(dest, 'a/one.txt')).ino, remoteInode, 'remote file not replaced');
  assert.deepEqual(snapshot(dest), snapshot(landed));
});

test('include and exclude filters; a bad glob is EINVAL', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'filter');
  makeTree(rdir, true);
  const ldir = localScratch(t, 'filter');
  const result = await sftp.getR(rdir, ldir, { include: ['*.txt', 'many/f0?'], exclude: 'a/b' });
  const landed = landing(ldir, rdir);
  const files = Object.entries(snapshot(landed))
    .filter(([, v]) => v.startsWith('f '))
    .map(([k]) => k)
    .sort();
  const tens = Array.from({ length: 10 }, (_, i) => `many/f0${i}`);
  assert.deepEqual(files, ['a/one.txt', ...tens, 'top.txt', 'ünïcödé/ファイル.txt'].sort());
  assert.equal(fs.existsSync(path.join(landed, 'a/b')), false, 'excluded directory not created');
  assert.equal(result.filesTotal, files.length);
  await rejectsWith(sftp.getR(rdir, ldir, { include: '[' }), 'EINVAL', ['pattern', "'['"]);
  await assert.rejects(sftp.getR(rdir, ldir, { exclude: ['ok', 7] }), { code: 'ERR_INVALID_ARG_TYPE', message: /exclude\[1\]/ });
});

test('symlink policies: skip, follow within the tree (no loops), copy as links', async (t) => {
  const sftp = await connectFor(t);
  const makeLinks = (root) => {
    fs.mkdirSync(path.join(root, 'd/sub'), { recursive: true });
    fs.writeFileSync(path.join(root, 'd/sub/file'), 'inside');
    fs.writeFileSync(path.join(root, 'f'), 'f');
    fs.symlinkSync('f', path.join(root, 'to_file'));
    fs.symlinkSync('d', path.join(root, 'to_dir'));
    fs.symlinkSync('..', path.join(root, 'd/up_loop'));
    fs.symlinkSync('/etc', path.join(root, 'outside'));
    fs.symlinkSync('nowhere', path.join(root, 'dangling'));
  };
  const rdir = remoteScratch(t, 'links');
  makeLinks(rdir);
  chownTree(rdir);
  const kinds = (root) => Object.entries(snapshot(root)).map(([k, v]) => `${v[0]} ${k}`);
  const fetch = async (symlinks) => {
    const ldir = localScratch(t, 'links');
    await sftp.getR(rdir, ldir, symlinks ? { symlinks } : {});
    return landing(ldir, rdir);
  };
  const skipped = ['d d', 'd d/sub', 'f d/sub/file', 'f f'];
  assert.deepEqual(kinds(await fetch()), skipped, 'skip is the default');
  assert.deepEqual(kinds(await fetch('skip')), skipped);
  const followed = await fetch('follow');
  assert.deepEqual(kinds(followed), [...skipped, 'd to_dir', 'd to_dir/sub', 'f to_dir/sub/file', 'f to_file']);
  // 'copy' recreates the links that stay inside the tree; 'copy-all' every one.
  const copied = await fetch('copy');
  assert.equal(fs.readlinkSync(path.join(copied, 'd/up_loop')), '..');
  assert.equal(fs.existsSync(path.join(copied, 'outside')), false);
  assert.equal(kinds(copied).length, 8);
  const all = await fetch('copy-all');
  assert.equal(fs.readlinkSync(path.join(all, 'outside')), '/etc');
  assert.equal(kinds(all).length, 9);

  const ldir = localScratch(t, 'linksup');
  makeLinks(ldir);
  const dest = remoteScratch(t, 'linksup');
  await sftp.putR(ldir, dest, { symlinks: 'follow' });
  assert.deepEqual(kinds(dest), kinds(followed));
  const dest2 = remoteScratch(t, 'linksup2');
  await sftp.putR(ldir, dest2, { symlinks: 'copy' });
  assert.equal(fs.readlinkSync(path.join(dest2, 'to_dir')), 'd');
  await assert.rejects(sftp.putR(ldir, dest2, { symlinks: 'sometimes' }), {
    code: 'ERR_INVALID_ARG_TYPE',
    message: /one of 'skip', 'follow', 'copy', 'copy-all'/,
  });
});

test('preserveMode copies permission bits both ways', async (t) => {
  const sftp = await connectFor(t);
  const ldir = localScratch(t, 'mode');
  fs.mkdirSync(path.join(ldir, 'd'));
  fs.writeFileSync(path.join(ldir, 'd/script'), '#!/bin/sh\n');
  fs.writeFileSync(path.join(ldir, 'secret'), 's');
  fs.chmodSync(path.join(ldir, 'd/script'), 0o750);
  fs.chmodSync(path.join(ldir, 'secret'), 0o600);
  fs.chmodSync(path.join(ldir, 'd'), 0o711);
  const rdir = remoteScratch(t, 'mode');
  await sftp.putR(ldir, rdir, { preserveMode: true });
  assert.deepEqual([modeOf(path.join(rdir, 'd/script')), modeOf(path.join(rdir, 'secret')), modeOf(path.join(rdir, 'd'))], [0o750, 0o600, 0o711]);
  const back = localScratch(t, 'modeback');
  await sftp.getR(rdir, back, { preserveMode: true });
  const landed = landing(back, rdir);
  assert.deepEqual([modeOf(path.join(landed, 'd/script')), modeOf(path.join(landed, 'secret'))], [0o750, 0o600]);
  const plain = localScratch(t, 'modeplain');
  await sftp.getR(rdir, plain);
  assert.equal(modeOf(path.join(landing(plain, rdir), 'secret')), 0o644, 'without the option the umask decides');
});

test('failures: stop at the first, or continue and reject with every failed path', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'errs');
  makeTree(rdir, true);
  for (const f of ['a/one.txt', 'many/f07']) {
    fs.chownSync(path.join(rdir, f), 0, 0); // the server runs as the test user: unreadable
    fs.chmodSync(path.join(rdir, f), 0o600);
  }
  const ldir = localScratch(t, 'errs');
  const stop = await rejectsWith(sftp.getR(rdir, ldir, { parallelism: 1 }), 'EPERM', ['Permission denied']);
  // Stop: no new file is started after the failure, but the files already in
  // flight on the connection (small ones are batched) may fail too.
  assert.ok(stop.failures.length >= 1 && stop.failures.length <= 2, JSON.stringify(stop.failures));
  assert.ok(stop.failures.every((f) => f.code === 'EACCES' && f.psftpCode === 'EPERM'));

  const err = await rejectsWith(sftp.getR(rdir, ldir, { onError: 'continue' }), 'EPERM', ['2 entries failed']);
  assert.deepEqual(err.failures.map((f) => f.path).sort(), ['a/one.txt', 'many/f07']);
  for (const f of err.failures) {
    assert.deepEqual([f.code, f.psftpCode, f.errno], ['EACCES', 'EPERM', psftp.codes.EPERM]);
    assert.match(f.message, /Permission denied/);
  }
  assert.equal(err.progress.filesTotal, TREE.length);
  const landed = landing(ldir, rdir);
  assert.ok(fs.readFileSync(path.join(landed, 'many/f08')).equals(fs.readFileSync(path.join(rdir, 'many/f08'))), 'the rest was copied');
  assert.equal(fs.existsSync(path.join(landed, 'a/one.txt')), false);
  await assert.rejects(sftp.getR(rdir, ldir, { onError: 'ignore' }), { message: /one of 'stop', 'continue'/ });
  // Roots that are missing or not directories: the error, with an empty failure list.
  const missing = await rejectsWith(sftp.getR(path.join(rdir, 'nope'), ldir), 'ENOTFOUND', ['nope']);
  assert.deepEqual(missing.failures, []);
  await rejectsWith(sftp.getR(path.join(rdir, 'top.txt'), ldir), 'ENOTDIR', ['not a directory']);
  await rejectsWith(sftp.putR('/no/such/local', rdir), 'ELOCALIO', ['/no/such/local']);
  await assert.rejects(sftp.putR(ldir, rdir, { confirm: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE', message: /confirm/ });
  await assert.rejects(sftp.getR(rdir, ldir, { confirm: true }), { message: /Unknown options confirm/ });
  await assert.rejects(sftp.getR(rdir), { code: 'ERR_INVALID_ARG_TYPE', message: /"localdir"/ });
});

test('names that are not UTF-8 reach walktree, progress and failure lists as their bytes', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'latin1tree');
  const latin1 = (s) => Buffer.from(s, 'latin1');
  const under = (root, rel) => Buffer.concat([Buffer.from(`${root}/`), latin1(rel)]);
  // 'dîr/café.txt' in Latin-1: bytes 0xee and 0xe9 alone are not UTF-8.
  const rel = latin1('d\xeer/caf\xe9.txt');
  fs.mkdirSync(under(rdir, 'd\xeer'));
  chownToTestUser(under(rdir, 'd\xeer'));
  fs.writeFileSync(under(rdir, 'd\xeer/caf\xe9.txt'), 'latin-1\n');
  chownToTestUser(under(rdir, 'd\xeer/caf\xe9.txt'));
  fs.writeFileSync(path.join(rdir, 'plain.txt'), 'plain');
  chownToTestUser(path.join(rdir, 'plain.txt'));

  // walktree: the exact bytes, not U+FFFD, and they work as a path again.
  const walked = [];
  const record = (tag) => (p) => void walked.push([tag, p]);
  await sftp.walktree(rdir, record('f'), record('d'), record('u'));
  assert.deepEqual(walked, [
    ['d', under(rdir, 'd\xeer')],
    ['f', under(rdir, 'd\xeer/caf\xe9.txt')],
    ['f', `${rdir}/plain.txt`],
  ]);
  assert.ok(Buffer.isBuffer(walked[1][1]) && typeof walked[2][1] === 'string', 'a Buffer only when not UTF-8');
  assert.equal((await sftp.stat(walked[1][1])).size, 8, 'the walked Buffer names the file');
  assert.ok((await sftp.stat(walked[0][1])).isDirectory());
  assert.deepEqual(psftp.reparent('backup', walked[1][1]), Buffer.concat([Buffer.from('backup/.'), walked[1][1]]));
  assert.deepEqual(psftp.pathAdvance(rel), [latin1('d\xeer'), rel]);

  // getR's progress names the file by its bytes, relative to the root.
  const ldir = localScratch(t, 'latin1tree');
  await sftp.getR(rdir, ldir, { parallelism: 1 });
  // Progress is sampled: a tree of the one Latin-1 file, so its name is the last one seen.
  const seen = [];
  const only = { parallelism: 1, exclude: ['plain.txt'], callback: (p) => void seen.push(p.currentPath) };
  await sftp.getR(rdir, localScratch(t, 'latin1progress'), only);
  assert.ok(seen.some((p) => Buffer.isBuffer(p) && p.equals(rel)), `progress paths: ${seen.map((p) => JSON.stringify(p))}`);
  assert.ok(seen.every((p) => Buffer.isBuffer(p) || !p.includes('\ufffd')), 'nothing decoded lossily');
  const landed = landing(ldir, rdir);
  assert.equal(fs.readFileSync(under(landed, 'd\xeer/caf\xe9.txt'), 'utf8'), 'latin-1\n');

  // The local walk and putR's progress: the same bytes from the local side.
  const lwalked = [];
  psftp.walktree(landed, (p) => void lwalked.push(p));
  assert.deepEqual(lwalked, [under(landed, 'd\xeer/caf\xe9.txt'), path.join(landed, 'plain.txt')]);
  const back = path.join(rdir, 'back');
  const putSeen = [];
  await sftp.putR(landed, back, { exclude: ['plain.txt'], callback: (p) => void putSeen.push(p.currentPath) });
  assert.ok(putSeen.some((p) => Buffer.isBuffer(p) && p.equals(rel)), `putR progress paths: ${putSeen.map((p) => JSON.stringify(p))}`);
  assert.equal(fs.readFileSync(under(back, 'd\xeer/caf\xe9.txt'), 'utf8'), 'latin-1\n');

  // With onError 'continue' the failure list names the entry by its bytes.
  fs.chownSync(under(rdir, 'd\xeer/caf\xe9.txt'), 0, 0); // the server runs as the test user: unreadable
  fs.chmodSync(under(rdir, 'd\xeer/caf\xe9.txt'), 0o600);
  const again = localScratch(t, 'latin1fail');
  const err = await rejectsWith(sftp.getR(rdir, again, { onError: 'continue' }), 'EPERM', ['caf\\xe9.txt']);
  assert.deepEqual(
    err.failures.map((f) => f.path),
    [rel],
  );
  assert.match(err.failures[0].message, /Permission denied/);
  assert.equal((await sftp.lstat(Buffer.concat([Buffer.from(`${rdir}/`), err.failures[0].path]))).size, 8);
  assert.equal(fs.readFileSync(path.join(landing(again, rdir), 'plain.txt'), 'utf8'), 'plain', 'the rest was copied');
});

test('a tree callback returning false cancels; one that throws stops the operation and rejects with it', async (t) => {
  const sftp = await connectFor(t);
  const ldir = localScratch(t, 'cancel');
  makeTree(ldir);
  // Large enough that the third progress sample (every 10 ms) comes while
  // the upload still runs.
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(ldir, `large${i}.bin`), pattern(16 * MiB, i));
  const rdir = remoteScratch(t, 'cancel');
  let calls = 0;
  const err = await rejectsWith(sftp.putR(ldir, rdir, { parallelism: 2, callback: () => ++calls < 3 }), 'EUSER', ['progress']);
  assert.equal(calls, 3, 'no call after the stop');
  assert.ok(Array.isArray(err.failures));
  // A stopped call's cleanup (CLOSE, REMOVE of its part file) goes out
  // without waiting for replies; the server runs it before the next call.
  await sftp.listdir(rdir);
  const partial = snapshot(rdir);
  assert.ok(Object.keys(partial).every((k) => !k.includes('.psftp.part')), 'no partial uploads');
  for (const [k, v] of Object.entries(partial)) {
    if (v.startsWith('f ')) assert.deepEqual(v, snapshot(ldir)[k], `${k} is complete`);
  }

  const boom = new Error('tree callback exploded');
  let thrown = 0;
  await assert.rejects(
    sftp.getR(rdir, localScratch(t, 'throw'), {
      callback: () => {
        thrown++;
        throw boom;
      },
    }),
    (e) => e === boom,
  );
  assert.equal(thrown, 1, 'stopped at the first exception');
  await assert.rejects(sftp.putR(ldir, rdir, { callback: async () => {} }), { name: 'TypeError', message: /synchronous/ });
  assert.equal(sftp.interrupted, false);
  assert.ok((await sftp.listdir(rdir)).length > 0, 'the connection is still usable');
});

test('an AbortSignal stops a tree operation through its callback: the connection stays usable', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'abort');
  makeTree(rdir, true);
  for (let i = 0; i < 4; i++) {
    fs.writeFileSync(path.join(rdir, `large${i}.bin`), pattern(8 * MiB, i));
    chownToTestUser(path.join(rdir, `large${i}.bin`));
  }
  const ldir = localScratch(t, 'abort');
  const controller = new AbortController();
  let seen = 0;
  await assert.rejects(
    sftp.getR(rdir, ldir, {
      signal: controller.signal,
      callback: (p) => {
        seen++;
        if (p.bytesDone > 0) controller.abort();
      },
    }),
    (e) => e.cause === controller.signal.reason && e.name === 'AbortError' && e.code === 'ABORT_ERR',
  );
  assert.equal(seen, 1, 'the callback is not called after the abort');
  assert.ok(Object.keys(snapshot(ldir)).every((k) => !k.includes('.psftp.part')), 'no partial downloads');
  const remote = snapshot(rdir);
  for (const [k, v] of Object.entries(snapshot(landing(ldir, rdir)))) {
    if (v.startsWith('f ')) assert.equal(v, remote[k], `${k} is complete`);
  }
  assert.equal(sftp.interrupted, false, 'stopped without interrupting');
  assert.ok((await sftp.listdir(rdir)).includes('large0.bin'), 'the connection is still usable');

  // A signal aborted already, or before the call started: nothing runs.
  const reason = new Error('changed my mind');
  await assert.rejects(sftp.putR(ldir, path.join(rdir, 'never'), { signal: AbortSignal.abort(reason) }), (e) => e.cause === reason);
  const queued = new AbortController();
  const first = sftp.getR(rdir, localScratch(t, 'first'));
  const second = sftp.getR(rdir, path.join(ldir, 'second'), { signal: queued.signal });
  queued.abort();
  await assert.rejects(second, { name: 'AbortError' });
  assert.equal((await first).failures.length, 0);
  assert.equal(fs.existsSync(path.join(ldir, 'second')), false, 'the call aborted before it started never ran');
  await assert.rejects(sftp.getR(rdir, ldir, { signal: 'stop' }), { code: 'ERR_INVALID_ARG_TYPE', message: /AbortSignal/ });
});

test('the event loop keeps running during a large getR', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'loop');
  for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(rdir, `big${i}.bin`), pattern(8 * MiB, i));
  fs.mkdirSync(path.join(rdir, 'small'));
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(rdir, `small/s${i}`), pattern(8192, i));
  chownTree(rdir);
  const ldir = localScratch(t, 'loop');
  let ticks = 0;
  const timer = setInterval(() => ticks++, 2);
  let during;
  const started = Date.now();
  try {
    const result = await sftp.getR(rdir, ldir);
    during = ticks;
    assert.equal(result.filesDone, 306);
  } finally {
    clearInterval(timer);
  }
  const elapsed = Date.now() - started;
  t.diagnostic(`getR of 306 files, ${48 + 2.4} MiB: ${elapsed} ms, ${during} timer callbacks meanwhile`);
  // A blocked loop would run no timer callback until the call returned; a
  // free one runs one every 2 ms (a quarter of that is plenty).
  assert.ok(during >= Math.max(10, elapsed / 8), `the timer fired only ${during} times in ${elapsed} ms`);
  assert.deepEqual(snapshot(landing(ldir, rdir)), snapshot(rdir));
});
