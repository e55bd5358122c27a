'use strict';
// A process that exits (process.exit() or an uncaught exception) in the
// middle of a transfer with a JS callback exits, with its status: the
// transfer's worker thread never waits for the event loop (relay.js).
// Before the relay, every one of these hung forever.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { remoteScratch, localScratch, putRemoteFile, pattern } = require('./helpers');

const MiB = 1024 * 1024;
// Far longer than an exit takes; a hang would be the whole of it.
const TIMEOUT_MS = 60000;

function runChild(kind, how, rdir, ldir) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [path.join(__dirname, 'exit-child.js'), kind, how, rdir, ldir], {
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
    env: process.env,
  });
  return { ...r, ms: Date.now() - started };
}

const KINDS = ['get', 'put', 'getfo', 'getBuffer', 'putfo', 'getR'];

for (const how of ['exit', 'timer', 'throw']) {
  test(`a process ending by ${how} in the middle of each kind of transfer exits with its status`, async (t) => {
    const rdir = remoteScratch(t, `exit-${how}`);
    const ldir = localScratch(t, `exit-${how}`);
    const data = pattern(8 * MiB, 11);
    // Large enough that no transfer ends before the callback ends the process.
    for (let i = 0; i < 24; i++) fs.appendFileSync(path.join(rdir, 'big'), data);
    putRemoteFile(path.join(rdir, 'small'), 'x');
    fs.chownSync(path.join(rdir, 'big'), fs.statSync(rdir).uid, fs.statSync(rdir).gid);
    fs.copyFileSync(path.join(rdir, 'big'), path.join(ldir, 'up'));
    for (const kind of KINDS) {
      const r = runChild(kind, how, rdir, ldir);
      const what = `${kind}/${how} (${r.ms} ms): status ${r.status}, signal ${r.signal}, stderr ${r.stderr}`;
      assert.equal(r.error, undefined, `the child ran and did not time out: ${what}`);
      assert.equal(r.signal, null, what);
      assert.equal(r.stdout, 'ending\n', `the callback ended the process mid-transfer: ${what}`);
      if (how === 'throw') {
        assert.equal(r.status, 1, what);
        assert.match(r.stderr, /Error: boom in the middle of a transfer/, 'a crash stays a crash: the error is printed');
      } else {
        assert.equal(r.status, 7, what);
        assert.equal(r.stderr, '', what);
      }
    }
  });
}
