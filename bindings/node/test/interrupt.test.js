'use strict';
// Aborting calls on a stalled link: a relay between psftp and the sshd
// stops forwarding, so no callback comes and the call waits on the network.
// A call waiting between replies sees its cancel token (the reader looks
// at it every 20 ms); one stuck half way through a reply, or an extra
// connection's last round trip, cannot, so after the grace period the
// AbortSignal interrupts the connection (psftp_interrupt): the call
// rejects with an AbortError and the connection is unusable.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Relay } = require('./relay');
const { psftp, server, login, remoteScratch, localScratch, relayKnownHosts, putRemoteFile, chownToTestUser, pattern, rejectsWith } = require('./helpers');

const MiB = 1024 * 1024;

/** A relay to the test sshd and a connection through it, both closed after the test. */
async function relayed(t) {
  const relay = new Relay(server.port);
  await relay.listen();
  const sftp = await psftp.connect(login({ port: relay.port, cnopts: { knownHosts: relayKnownHosts(t, relay.port) } }));
  t.after(async () => {
    // The relay first: closing a connection over a frozen link would wait
    // in libssh2's channel close (see the first test).
    await relay.close();
    await sftp.close();
  });
  return { relay, sftp };
}

/** Every file under `dir` (relative paths). */
function filesUnder(dir) {
  return fs.readdirSync(dir, { recursive: true }).filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

test('an aborted get on a stalled link is interrupted: it rejects with an AbortError, the connection is unusable', async (t) => {
  const { relay, sftp } = await relayed(t);
  const rdir = remoteScratch(t, 'stall');
  putRemoteFile(path.join(rdir, 'big'), pattern(32 * MiB, 1));
  const ldir = localScratch(t, 'stall');
  const local = path.join(ldir, 'big');
  fs.writeFileSync(local, 'the old content');
  const controller = new AbortController();
  const reason = new Error('user gave up');
  let calls = 0;
  const get = sftp.get(path.join(rdir, 'big'), local, {
    signal: controller.signal,
    callback: () => {
      if (++calls === 1) {
        relay.freeze(); // stalled from here on: no reply comes any more
        setImmediate(() => controller.abort(reason));
      }
    },
  });
  await assert.rejects(get, (e) => e.name === 'AbortError' && e.code === 'ABORT_ERR' && e.cause === reason);
  assert.equal(fs.readFileSync(local, 'utf8'), 'the old content', 'the destination keeps its old content');
  assert.deepEqual(fs.readdirSync(ldir), ['big'], 'no partial download left');
  // Either the get was half way through a reply, could not see its token
  // and was interrupted after the grace period, or it was between replies,
  // saw its token and ended without cutting the connection.
  if (sftp.interrupted) await rejectsWith(sftp.listdir(rdir), 'ECANCELED', ['interrupted']);
});

test('an aborted getR with parallel connections on a stalled link interrupts every connection', async (t) => {
  const { relay, sftp } = await relayed(t);
  const rdir = remoteScratch(t, 'stalltree');
  for (let i = 0; i < 4; i++) putRemoteFile(path.join(rdir, `big${i}`), pattern(16 * MiB, i));
  fs.mkdirSync(path.join(rdir, 'small'));
  chownToTestUser(path.join(rdir, 'small'));
  for (let i = 0; i < 50; i++) putRemoteFile(path.join(rdir, `small/s${i}`), pattern(1000, i));
  const ldir = localScratch(t, 'stalltree');
  const controller = new AbortController();
  let frozen = false;
  let still = 0;
  let lastBytes = -1;
  const getR = sftp.getR(rdir, ldir, {
    parallelism: 3,
    signal: controller.signal,
    callback: (p) => {
      if (!frozen && p.bytesDone > 0) {
        frozen = true;
        relay.freeze();
      }
      // Called every 100 ms while nothing moves: abort once the link is clearly stalled.
      still = frozen && p.bytesDone === lastBytes ? still + 1 : 0;
      lastBytes = p.bytesDone;
      if (still === 3) controller.abort();
    },
  });
  await assert.rejects(getR, (e) => e.cause === controller.signal.reason && e.name === 'AbortError');
  assert.equal(relay.accepted, 3, 'the operation had its two extra connections');
  assert.equal(sftp.interrupted, true);
  assert.ok(filesUnder(ldir).every((f) => !f.includes('.psftp.part')), 'no partial downloads');
  await rejectsWith(sftp.stat(rdir), 'ECANCELED', ['interrupted']);
});

test('interrupt() ends a stalled call at once with ECANCELED', async (t) => {
  const { relay, sftp } = await relayed(t);
  const rdir = remoteScratch(t, 'intr');
  putRemoteFile(path.join(rdir, 'f'), 'data');
  assert.equal(await sftp.exists(path.join(rdir, 'f')), true);
  relay.freeze();
  const stat = sftp.stat(path.join(rdir, 'f')); // waits for a reply that never comes
  const other = sftp.listdir(rdir); // runs beside it, waits too
  setImmediate(() => sftp.interrupt());
  // Both at once: either may reject first.
  await Promise.all([rejectsWith(stat, 'ECANCELED', ['interrupted']), rejectsWith(other, 'ECANCELED', ['interrupted'])]);
  assert.equal(sftp.interrupted, true);
  sftp.interrupt(); // again: harmless
  await sftp.close();
  sftp.interrupt(); // after close: harmless
});
