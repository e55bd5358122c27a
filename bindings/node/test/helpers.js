'use strict';
// The test server (tests/fixture/sshd.sh, a real OpenSSH sshd) and small
// helpers. A missing server is a failure, never a skip.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const psftp = require('..');

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: start the test server with tests/fixture/sshd.sh start DIR ` +
        'and export the PSFTP_TEST_* variables it prints (bindings/node/test.sh expects them)',
    );
  }
  return value;
}

const server = {
  host: requireEnv('PSFTP_TEST_HOST'),
  port: Number(requireEnv('PSFTP_TEST_PORT')),
  user: requireEnv('PSFTP_TEST_USER'),
  password: requireEnv('PSFTP_TEST_PASSWORD'),
  passphrase: requireEnv('PSFTP_TEST_PASSPHRASE'),
  home: requireEnv('PSFTP_TEST_HOME'),
  dir: requireEnv('PSFTP_TEST_DIR'),
  knownHosts: requireEnv('PSFTP_TEST_KNOWN_HOSTS'),
  key: requireEnv('PSFTP_TEST_KEY'),
  file: (name) => path.join(requireEnv('PSFTP_TEST_DIR'), name),
};

/** Connect options for the test server: password login, its known_hosts. */
function login(extra = {}) {
  return {
    host: server.host,
    port: server.port,
    username: server.user,
    password: server.password,
    cnopts: { knownHosts: server.knownHosts },
    ...extra,
  };
}

/** A known_hosts file vouching for the test server's key at 127.0.0.1:`port` (a relay's port). */
function relayKnownHosts(t, port) {
  const [type, key] = fs.readFileSync(server.file('ssh_host_ed25519_key.pub'), 'utf8').split(' ');
  const file = path.join(localScratch(t, 'relay-kh'), 'known_hosts');
  fs.writeFileSync(file, `[127.0.0.1]:${port} ${type} ${key}\n`);
  return file;
}

/** A password connection to the test server, closed after the test. */
async function connectFor(t, extra) {
  const sftp = await psftp.connect(login(extra));
  t.after(() => sftp.close());
  return sftp;
}

let seq = 0;
const homeOwner = fs.statSync(server.home);

function chownToTestUser(p) {
  fs.chownSync(p, homeOwner.uid, homeOwner.gid);
}

/** A fresh directory in the test user's home, removed after the test. */
function remoteScratch(t, tag) {
  const dir = path.join(server.home, `node-${tag}-${process.pid}-${seq++}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  chownToTestUser(dir);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh local directory, removed after the test. */
function localScratch(t, tag) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `psftp-node-${tag}-`));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Write a remote file directly on disk (the server is local), owned by the test user. */
function putRemoteFile(p, data) {
  fs.writeFileSync(p, data);
  chownToTestUser(p);
}

function mkdirRemote(p) {
  fs.mkdirSync(p, { recursive: true });
  chownToTestUser(p);
}

/** Deterministic bytes (xorshift), so a wrong offset shows. */
function pattern(len, seed) {
  const out = Buffer.allocUnsafe(len);
  let x = (0x9e3779b9 ^ seed) >>> 0;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function modeOf(p) {
  return fs.statSync(p).mode & 0o7777;
}

/**
 * Assert `promise` rejects with a PsftpError of `code` whose message
 * contains every string of `parts`; resolves with the error.
 */
async function rejectsWith(promise, code, parts = []) {
  let error;
  await assert.rejects(promise, (e) => {
    error = e;
    return true;
  });
  assertPsftpError(error, code, parts);
  return error;
}

function assertPsftpError(error, code, parts = []) {
  assert.ok(error instanceof psftp.PsftpError, `expected a PsftpError, got ${error && error.stack}`);
  assert.equal(error.psftpCode, code, `psftp code of: ${error.message}`);
  assert.equal(error.errno, psftp.codes[code]);
  for (const part of parts) {
    assert.ok(error.message.includes(part), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(part)}`);
  }
}

module.exports = {
  psftp,
  server,
  login,
  connectFor,
  remoteScratch,
  localScratch,
  relayKnownHosts,
  putRemoteFile,
  mkdirRemote,
  chownToTestUser,
  pattern,
  modeOf,
  rejectsWith,
  assertPsftpError,
};
