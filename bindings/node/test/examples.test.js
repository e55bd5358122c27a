'use strict';
// The quick-start examples of the README, through both entry points
// (import 'psftp' and require('psftp')), against the test server.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { server, remoteScratch, localScratch } = require('./helpers');

function runExample(t, name) {
  const rdir = remoteScratch(t, name.replace('.', '-'));
  const cwd = localScratch(t, 'example');
  const env = {
    ...process.env,
    SFTP_HOST: server.host,
    SFTP_PORT: String(server.port),
    SFTP_USER: server.user,
    SFTP_PASSWORD: server.password,
    SFTP_KNOWN_HOSTS: server.knownHosts,
    SFTP_DIR: rdir,
  };
  const stdout = execFileSync(process.execPath, [path.join(__dirname, '..', 'examples', name)], { cwd, env, encoding: 'utf8' });
  return { stdout, rdir, cwd };
}

test('the ES module quick start runs', (t) => {
  const { stdout, rdir, cwd } = runExample(t, 'quickstart.mjs');
  const lines = stdout.trim().split('\n');
  assert.equal(lines.at(-4), 'downloaded 17 of 17 bytes');
  assert.equal(lines.at(-3), 'hello from psftp');
  assert.equal(lines.at(-2), 'hello.txt 17 file');
  assert.equal(lines.at(-1), `ENOENT stat '${rdir}/no-such-file': No such file`);
  assert.equal(fs.readFileSync(path.join(cwd, 'hello-copy.txt'), 'utf8'), 'hello from psftp\n');
  assert.deepEqual(fs.readdirSync(rdir), [], 'the example cleaned up');
});

test('the CommonJS quick start runs', (t) => {
  const { stdout, rdir } = runExample(t, 'quickstart.cjs');
  assert.equal(stdout, "[ 'hello.txt' ]\nhello from psftp\n");
  assert.deepEqual(fs.readdirSync(rdir), []);
});
