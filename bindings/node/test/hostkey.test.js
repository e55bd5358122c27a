'use strict';
// connect()'s hostKeyCallback: unknown and changed keys, the answers
// reject / accept / accept-and-save, synchronous and asynchronous.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { psftp, server, login, localScratch, remoteScratch, putRemoteFile, rejectsWith } = require('./helpers');

function serverKey() {
  const [type, base64] = fs.readFileSync(server.file('ssh_host_ed25519_key.pub'), 'utf8').split(' ');
  return { type, base64 };
}

/** An empty known_hosts file. */
function emptyKnownHosts(t) {
  const file = path.join(localScratch(t, 'hk'), 'known_hosts');
  fs.writeFileSync(file, '');
  return file;
}

const lines = (file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);

test('an unknown key reaches the callback; false rejects with EHOSTKEY', async (t) => {
  const kh = emptyKnownHosts(t);
  const asked = [];
  const err = await rejectsWith(
    psftp.connect(login({ cnopts: { knownHosts: kh }, hostKeyCallback: (key) => void asked.push(key) || false })),
    'EHOSTKEY',
    ['host-key callback rejected', 'SHA256:'],
  );
  assert.equal(err.errno, psftp.codes.EHOSTKEY);
  assert.equal(asked.length, 1);
  const [key] = asked;
  assert.deepEqual(
    { host: key.host, port: key.port, status: key.status, keyType: key.keyType, base64: key.base64 },
    { host: server.host, port: server.port, status: 'unknown', keyType: 'ssh-ed25519', base64: serverKey().base64 },
  );
  assert.match(key.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  assert.deepEqual(lines(kh), [], 'nothing saved');
  // No answer (undefined) is no trust either.
  await rejectsWith(psftp.connect(login({ cnopts: { knownHosts: kh }, hostKeyCallback: () => {} })), 'EHOSTKEY');
  await rejectsWith(psftp.connect(login({ cnopts: { knownHosts: kh }, hostKeyCallback: () => 'reject' })), 'EHOSTKEY');
});

test("'accept' trusts the key for this connection only; 'accept-and-save' records it once", async (t) => {
  const kh = emptyKnownHosts(t);
  let asked = 0;
  const accept = (answer) => () => {
    asked++;
    return answer;
  };
  for (const answer of [true, 'accept']) {
    const sftp = await psftp.connect(login({ cnopts: { knownHosts: kh }, hostKeyCallback: accept(answer) }));
    assert.equal(await sftp.pwd(), server.home);
    await sftp.close();
  }
  assert.equal(asked, 2, 'asked at every connect');
  assert.deepEqual(lines(kh), [], 'accept does not save');

  const sftp = await psftp.connect(login({ cnopts: { knownHosts: kh }, hostKeyCallback: accept('accept-and-save') }));
  await sftp.close();
  assert.equal(asked, 3);
  assert.deepEqual(lines(kh), [`[127.0.0.1]:${server.port} ssh-ed25519 ${serverKey().base64}`]);
  // Now known: the callback is not asked, and the key matches without it too.
  await (await psftp.connect(login({ cnopts: { knownHosts: kh }, hostKeyCallback: accept(false) }))).close();
  await (await psftp.connect(login({ cnopts: { knownHosts: kh } }))).close();
  assert.equal(asked, 3);
  assert.equal(lines(kh).length, 1, 'saved once');
});

test('a changed key reaches the callback as changed; accepting it never saves it', async (t) => {
  const changed = path.join(localScratch(t, 'changed'), 'known_hosts');
  fs.copyFileSync(server.file('known_hosts_changed'), changed);
  const before = fs.readFileSync(changed, 'utf8');
  const statuses = [];
  const hostKeyCallback = (key) => {
    statuses.push(key.status);
    return 'accept-and-save';
  };
  await rejectsWith(psftp.connect(login({ cnopts: { knownHosts: changed } })), 'EHOSTKEYMISMATCH', ['MISMATCH']);
  const sftp = await psftp.connect(login({ cnopts: { knownHosts: changed }, hostKeyCallback }));
  await sftp.close();
  assert.deepEqual(statuses, ['changed']);
  assert.equal(fs.readFileSync(changed, 'utf8'), before, 'a changed key is accepted, not saved');
  await rejectsWith(
    psftp.connect(login({ cnopts: { knownHosts: changed }, hostKeyCallback: () => false })),
    'EHOSTKEYMISMATCH',
  );
});

test('an asynchronous decision: a Promise of the answer, for exactly the key it was asked about', async (t) => {
  const kh = emptyKnownHosts(t);
  const asked = [];
  const later = (answer) => async (key) => {
    asked.push(key.fingerprint);
    await new Promise((resolve) => setTimeout(resolve, 20)); // a prompt, a lookup...
    return answer;
  };
  const sftp = await psftp.connect(login({ cnopts: { knownHosts: kh }, hostKeyCallback: later(true) }));
  assert.equal(await sftp.pwd(), server.home);
  await sftp.close();
  assert.equal(asked.length, 1, 'asked once; the second attempt reuses the answer');
  assert.deepEqual(lines(kh), []);

  await rejectsWith(psftp.connect(login({ cnopts: { knownHosts: kh }, hostKeyCallback: later('reject') })), 'EHOSTKEY', [
    'rejected',
  ]);
  await (await psftp.connect(login({ cnopts: { knownHosts: kh }, hostKeyCallback: later('accept-and-save') }))).close();
  assert.equal(lines(kh).length, 1, 'saved by the second attempt');
  assert.equal(asked.length, 3);
  const denied = new Error('no prompt available');
  const kh2 = emptyKnownHosts(t);
  await assert.rejects(
    psftp.connect(login({ cnopts: { knownHosts: kh2 }, hostKeyCallback: () => Promise.reject(denied) })),
    (e) => e === denied,
  );
});

test('a throwing callback or a wrong answer rejects the connect with that error', async (t) => {
  const kh = emptyKnownHosts(t);
  const boom = new Error('callback exploded');
  await assert.rejects(
    psftp.connect(
      login({
        cnopts: { knownHosts: kh },
        hostKeyCallback: () => {
          throw boom;
        },
      }),
    ),
    (e) => e === boom,
  );
  await assert.rejects(psftp.connect(login({ cnopts: { knownHosts: kh }, hostKeyCallback: () => 'yes' })), {
    code: 'ERR_INVALID_ARG_TYPE',
    message: /hostKeyCallback's answer.*accept-and-save/,
  });
  await assert.rejects(psftp.connect(login({ cnopts: { knownHosts: kh }, hostKeyCallback: 'accept' })), {
    code: 'ERR_INVALID_ARG_TYPE',
    message: /"hostKeyCallback"/,
  });
  assert.deepEqual(lines(kh), []);
});

test("the program's CnOpts is never changed; tree operations do not ask again", async (t) => {
  const kh = emptyKnownHosts(t);
  const cnopts = new psftp.CnOpts({ knownHosts: kh, compression: true });
  t.after(() => cnopts.free());
  let asked = 0;
  const sftp = await psftp.connect(
    login({
      cnopts,
      hostKeyCallback: () => {
        asked++;
        return true;
      },
    }),
  );
  t.after(() => sftp.close());
  assert.match((await sftp.activeCompression()).local, /^zlib/, 'the copy keeps the settings');
  await rejectsWith(psftp.connect(login({ cnopts })), 'EHOSTKEY'); // no callback left behind
  // Extra connections of a tree operation trust the key the first one verified.
  const rdir = remoteScratch(t, 'hk-tree');
  for (let i = 0; i < 8; i++) putRemoteFile(path.join(rdir, `f${i}`), `file ${i}`);
  const result = await sftp.getD(rdir, localScratch(t, 'hk-tree'), { parallelism: 4 });
  assert.equal(result.filesDone, 8);
  assert.equal(asked, 1);
  const freed = new psftp.CnOpts(kh);
  freed.free();
  await rejectsWith(psftp.connect(login({ cnopts: freed, hostKeyCallback: () => true })), 'EINVAL', ['cnopts']);
});
