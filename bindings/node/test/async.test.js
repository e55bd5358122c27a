'use strict';
// The event loop never waits for the network; many connections and many
// calls at once; the finalizer closes dropped connections.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { psftp, login, connectFor, remoteScratch, putRemoteFile, pattern, rejectsWith, assertPsftpError } = require('./helpers');

const GiB = 1024 * 1024 * 1024;
const MARKS = [
  [0, 'first bytes'],
  [GiB / 2, 'the middle'],
  [GiB - 8, 'the end'.slice(0, 8)],
];

/** A sparse 1 GiB local file (cheap to make) with a few marks to check. */
function sparseGiB(file) {
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, GiB);
    for (const [pos, text] of MARKS) fs.writeSync(fd, text, pos);
  } finally {
    fs.closeSync(fd);
  }
}

function readAt(file, pos, len) {
  const buf = Buffer.alloc(len);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, buf, 0, len, pos);
  } finally {
    fs.closeSync(fd);
  }
  return buf.toString();
}

test('a timer keeps firing while a 1 GiB put runs', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'gib');
  const local = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'psftp-gib-')), 'big');
  t.after(() => fs.rmSync(path.dirname(local), { recursive: true, force: true }));
  sparseGiB(local);
  const remote = path.join(rdir, 'big');

  let ticks = 0;
  const timer = setInterval(() => ticks++, 2);
  let ticksWhenDone;
  const started = Date.now();
  try {
    const attrs = await sftp.put(local, remote);
    ticksWhenDone = ticks;
    assert.equal(attrs.size, GiB);
  } finally {
    clearInterval(timer);
  }
  t.diagnostic(`1 GiB put: ${Date.now() - started} ms, ${ticksWhenDone} timer callbacks meanwhile`);
  // A blocked loop would run no timer callback until the call returned.
  assert.ok(ticksWhenDone >= 20, `the timer fired only ${ticksWhenDone} times during the transfer`);
  assert.equal(fs.statSync(remote).size, GiB);
  for (const [pos, text] of MARKS) assert.equal(readAt(remote, pos, text.length), text);
});

test('8 connections transfer at once, each with its own data', async (t) => {
  const rdir = remoteScratch(t, 'eight');
  const conns = await Promise.all(Array.from({ length: 8 }, () => psftp.connect(login())));
  t.after(() => Promise.all(conns.map((c) => c.close())));
  const datas = conns.map((_, i) => pattern(2 * 1024 * 1024 + i, 100 + i));
  await Promise.all(conns.map((c, i) => c.putfo(datas[i], path.join(rdir, `f${i}`))));
  const back = await Promise.all(conns.map((c, i) => c.getBuffer(path.join(rdir, `f${i}`))));
  back.forEach((buf, i) => assert.ok(buf.equals(datas[i]), `connection ${i}`));
  const keys = await Promise.all(conns.map((c) => c.remoteServerKey()));
  assert.equal(new Set(keys.map((k) => k.fingerprint)).size, 1);
  assert.deepEqual(fs.readdirSync(rdir).sort(), datas.map((_, i) => `f${i}`));
});

test('many calls at once on one connection each get their own result or error', async (t) => {
  const sftp = await connectFor(t);
  const rdir = remoteScratch(t, 'many');
  for (let i = 0; i < 10; i++) putRemoteFile(path.join(rdir, `f${i}`), 'x'.repeat(i));
  const calls = [];
  for (let i = 0; i < 20; i++) {
    const name = i < 10 ? `f${i}` : `missing${i}`;
    calls.push(sftp.stat(path.join(rdir, name)).then((a) => a.size, (e) => e));
  }
  const results = await Promise.all(calls);
  for (let i = 0; i < 20; i++) {
    if (i < 10) {
      assert.equal(results[i], i);
    } else {
      assertPsftpError(results[i], 'ENOTFOUND', [`missing${i}`]);
    }
  }
});

test('close waits for calls already queued; calls after it fail', async () => {
  const sftp = await psftp.connect(login());
  const pending = [sftp.pwd(), sftp.listdir('/')];
  const closing = sftp.close();
  const after = sftp.pwd();
  assert.equal(typeof (await pending[0]), 'string');
  assert.ok((await pending[1]).includes('home'));
  await closing;
  await rejectsWith(after, 'EINVAL', ['not a live psftp_conn']);
});

test('dropped files and connections are closed by the finalizers', (t) => {
  // A child process with --expose-gc drops a file with buffered data and
  // then its connection, and collects them: the data must reach the server
  // and the connection's handle must be closed (no longer live).
  const remote = path.join(remoteScratch(t, 'finalize'), 'f');
  const script = `
    const fs = require('node:fs');
    const { fns } = require('./lib/native');
    const psftp = require('.');
    const close = fns.psftp_close;
    let closing = null;
    const closed = new Promise((resolve) => {
      fns.psftp_close = { async: (h, cb) => { closing = h; close.async(h, () => resolve(h)); } };
    });
    const collectUntil = async (done) => {
      for (let i = 0; i < 200 && !done(); i++) {
        global.gc();
        await new Promise((r) => setImmediate(r));
      }
    };
    (async () => {
      let sftp = await psftp.connect(${JSON.stringify(login())});
      await (async () => { await (await sftp.open(${JSON.stringify(remote)}, 'w')).write('kept by the finalizer'); })();
      const flushed = () => fs.existsSync(${JSON.stringify(remote)}) && fs.readFileSync(${JSON.stringify(remote)}, 'utf8') !== '';
      await collectUntil(flushed);
      console.log(fs.readFileSync(${JSON.stringify(remote)}, 'utf8'));
      sftp = null;
      await collectUntil(() => closing !== null);
      console.log(fns.psftp_conn_last_error_code(await closed));
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
  });
  assert.equal(out, `kept by the finalizer\n${psftp.codes.EINVAL}\n`, 'flushed, then the handle was closed');
});
