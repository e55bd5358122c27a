'use strict';
// Error codes and names, the panic boundary, and loading the library.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { spawnSync } = require('node:child_process');
const { psftp, assertPsftpError, connectFor, remoteScratch, putRemoteFile, pattern, rejectsWith } = require('./helpers');

const root = path.join(__dirname, '..', '..', '..');

/** [errno, C name] of every PSFTP_E_* #define of include/psftp.h. */
function headerCodes() {
  const header = fs.readFileSync(path.join(root, 'include', 'psftp.h'), 'utf8');
  return [...header.matchAll(/^#define (PSFTP_E_\w+) \((-\d+)\)$/gm)].map((m) => [Number(m[2]), m[1]]);
}

/** The names of the ErrorCode union of index.d.ts. */
function declaredNames() {
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');
  const union = dts.match(/export type ErrorCode =([^;]*);/)[1];
  return [...union.matchAll(/'(\w+)'/g)].map((m) => m[1]);
}

test('every code of psftp.h has its JS name and number, from the library', () => {
  const table = headerCodes();
  assert.ok(table.length >= 20, `${table.length} codes parsed from psftp.h`);
  for (const [errno, cName] of table) {
    assert.equal(psftp.strerror(errno), cName);
    const err = new psftp.PsftpError(errno, 'msg');
    assert.match(err.code, /^E[A-Z]+$/);
    assert.equal(psftp.codes[err.psftpCode], errno);
    assert.deepEqual([err.errno, err.message, err.name], [errno, 'msg', 'PsftpError']);
    assert.ok(err instanceof Error);
  }
  assert.equal(Object.keys(psftp.codes).length, table.length);
  assert.deepEqual(declaredNames(), Object.keys(psftp.codes), 'index.d.ts ErrorCode lists the same names');
  assert.equal(psftp.codes.ENOTFOUND, -6);
  assert.equal(psftp.codes.ENOTEMPTY, -19);
  assert.equal(new psftp.PsftpError(-99, '').code, 'EUNKNOWN');
  assert.equal(new psftp.PsftpError(-99, '').psftpCode, 'EUNKNOWN');
  assert.equal(psftp.strerror(-99), 'PSFTP_E_UNKNOWN');
});

test('a panic inside psftp becomes EPANIC with its message', () => {
  const { testHooks } = require('../lib/native');
  const { checkSync } = require('../lib/errors');
  assert.throws(
    () => checkSync(testHooks.psftp_debug_panic(null, null)),
    (e) => {
      assertPsftpError(e, 'EPANIC', ['panic', 'psftp_debug_panic was called']);
      return true;
    },
  );
});

test('a panic inside a call poisons its connection: later calls reject with ECONNLOST', async (t) => {
  const { fns, testHooks } = require('../lib/native');
  const { checkSync } = require('../lib/errors');
  const sftp = await connectFor(t);
  const big = path.join(remoteScratch(t, 'panic'), 'big');
  putRemoteFile(big, pattern(4 * 1024 * 1024, 5));
  // The handle is private: catch it as a call makes its per-call handle from it.
  const withCancel = fns.psftp_conn_with_cancel;
  let handle = null;
  fns.psftp_conn_with_cancel = (...a) => {
    handle = a[0];
    return withCancel(...a);
  };
  try {
    await sftp.pwd();
  } finally {
    fns.psftp_conn_with_cancel = withCancel;
  }
  assert.throws(
    () => checkSync(testHooks.psftp_debug_panic(handle, big)),
    (e) => {
      assertPsftpError(e, 'EPANIC', ['psftp_debug_panic was called']);
      return true;
    },
  );
  await rejectsWith(sftp.pwd(), 'ECONNLOST', ['panicked', 'psftp_debug_panic was called']);
  const other = await connectFor(t);
  assert.deepEqual(await other.listdir(path.dirname(big)), ['big']);
});

/** Run `code` in a fresh node with `env`; its stderr and exit status. */
function runNode(code, env) {
  const clean = { ...process.env };
  delete clean.PSFTP_LIB;
  delete clean.PSFTP_PREFIX;
  return spawnSync(process.execPath, ['-e', code], {
    cwd: path.join(__dirname, '..'),
    env: { ...clean, ...env },
    encoding: 'utf8',
  });
}

test('a missing library is a clear error naming where it looked', () => {
  const missing = runNode("require('.')", { PSFTP_LIB: '/nonexistent/libpsftp.so' });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /the library was not found: \/nonexistent\/libpsftp\.so \(from PSFTP_LIB\) does not exist/);
  assert.match(missing.stderr, /Set PSFTP_LIB to the full path of libpsftp\.so, or PSFTP_PREFIX/);
  assert.match(missing.stderr, /ERR_PSFTP_LIBRARY/);

  const prefix = runNode("require('.')", { PSFTP_PREFIX: '/nonexistent' });
  assert.match(prefix.stderr, /\/nonexistent\/lib\/libpsftp\.so \(from PSFTP_PREFIX\) does not exist/);

  // Neither set: the dynamic loader searches (a system-wide install is found).
  const search = runNode("console.log(require('.').version())", { LD_LIBRARY_PATH: '' });
  if (search.status === 0) {
    assert.equal(search.stdout.trim(), psftp.version());
  } else {
    assert.match(search.stderr, /cannot load libpsftp\.so\.0\.1 \(from the system library path\)/);
  }

  const notALibrary = runNode("require('.')", { PSFTP_LIB: __filename });
  assert.match(notALibrary.stderr, /cannot load .*errors\.test\.js \(from PSFTP_LIB\)/);
});

test('PSFTP_PREFIX finds PREFIX/lib, lib64 or the multiarch lib directory', (t) => {
  const multiarch = `lib/${{ x64: 'x86_64', arm64: 'aarch64' }[process.arch]}-linux-gnu`;
  for (const dir of ['lib', 'lib64', multiarch]) {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'psftp-prefix-'));
    t.after(() => fs.rmSync(prefix, { recursive: true, force: true }));
    fs.mkdirSync(path.join(prefix, dir), { recursive: true });
    fs.symlinkSync(process.env.PSFTP_LIB, path.join(prefix, dir, 'libpsftp.so'));
    const ok = runNode("console.log(require('.').version())", { PSFTP_PREFIX: prefix });
    assert.equal(ok.stderr, '', dir);
    assert.equal(ok.stdout.trim(), psftp.version(), dir);
  }
});

test('koffi configured too small, too late, is refused with advice', () => {
  const code = "const k = require('koffi'); k.load('libc.so.6'); require('.');";
  const late = runNode(code, { PSFTP_LIB: process.env.PSFTP_LIB });
  assert.notEqual(late.status, 0);
  assert.match(late.stderr, /psftp needs koffi's async_stack_size >= 4194304 bytes but it is 131072/);
  assert.match(late.stderr, /Require psftp before loading other libraries with koffi/);
  const early = "const k = require('koffi'); k.config({ ...k.config(), async_stack_size: 8 << 20 }); " +
    "k.load('libc.so.6'); console.log(require('.').version());";
  const fine = runNode(early, { PSFTP_LIB: process.env.PSFTP_LIB });
  assert.equal(fine.stdout.trim(), psftp.version(), fine.stderr);
});

test("err.code follows Node's conventions; psftp's name stays in psftpCode", async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'nodecodes');
  putRemoteFile(path.join(rdir, 'f'), 'x');
  fs.mkdirSync(path.join(rdir, 'full'));
  putRemoteFile(path.join(rdir, 'full', 'g'), 'y');
  const codesOf = async (promise) => {
    const e = await promise.then(() => null, (err) => err);
    assert.ok(e instanceof psftp.PsftpError, `a PsftpError: ${e && e.stack}`);
    return [e.code, e.psftpCode];
  };
  assert.deepEqual(await codesOf(sftp.stat(path.join(rdir, 'missing'))), ['ENOENT', 'ENOTFOUND']);
  assert.deepEqual(await codesOf(sftp.mkdir(path.join(rdir, 'f'))), ['EEXIST', 'EEXIST']);
  assert.deepEqual(await codesOf(sftp.rmdir(path.join(rdir, 'full'))), ['ENOTEMPTY', 'ENOTEMPTY']);
  assert.deepEqual(await codesOf(sftp.mkdir('/root/psftp-denied')), ['EACCES', 'EPERM']);
  assert.deepEqual(await codesOf(sftp.get(path.join(rdir, 'f'), '/proc/psftp-no/x')), ['ENOENT', 'ELOCALIO']);

  // ENOTFOUND only when a host name does not resolve, as for net.connect.
  // A label over 63 bytes is refused by the resolver itself: no DNS query leaves the machine.
  const unresolvable = `${'x'.repeat(64)}.invalid`;
  const dns = await codesOf(psftp.connect({ host: unresolvable, username: 'u', password: 'p' }));
  assert.deepEqual(dns, ['ENOTFOUND', 'ECONNECT']);
  const closed = net.createServer();
  await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = closed.address().port;
  await new Promise((resolve) => closed.close(resolve));
  assert.deepEqual(await codesOf(psftp.connect({ host: '127.0.0.1', port, username: 'u', password: 'p' })), ['ECONNREFUSED', 'ECONNECT']);
});
