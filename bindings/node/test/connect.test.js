'use strict';
// connect, CnOpts, host keys, authentication and the connection's own members.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { psftp, server, login, connectFor, localScratch, rejectsWith } = require('./helpers');

function pubKeyBase64(file) {
  return fs.readFileSync(file, 'utf8').split(' ')[1];
}

test('password login checks the host key and reports it', async (t) => {
  const sftp = await connectFor(t);
  const key = await sftp.remoteServerKey();
  assert.equal(key.keyType, 'ssh-ed25519');
  assert.equal(key.base64, pubKeyBase64(server.file('ssh_host_ed25519_key.pub')));
  assert.match(key.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  assert.deepEqual(await sftp.remote_server_key(), key, 'pysftp alias');
  assert.equal(await sftp.pwd(), server.home);
});

test('every key format authenticates, encrypted ones with privateKeyPass', async (t) => {
  const cases = [
    ['id_ed25519', undefined],
    ['id_ecdsa_pem', undefined],
    ['id_rsa_pem', undefined],
    ['id_ed25519_enc', server.passphrase],
    ['id_rsa_enc_pem', server.passphrase],
  ];
  for (const [name, privateKeyPass] of cases) {
    const sftp = await connectFor(t, { password: undefined, privateKey: server.file(name), privateKeyPass });
    assert.equal(await sftp.pwd(), server.home, name);
  }
});

test('authentication failures are EAUTH naming user, host and cause', async () => {
  await rejectsWith(psftp.connect(login({ password: 'wrong' })), 'EAUTH', [
    server.user,
    '127.0.0.1',
    String(server.port),
    'wrong password',
  ]);
  const enc = server.file('id_ed25519_enc');
  await rejectsWith(psftp.connect(login({ password: undefined, privateKey: enc })), 'EAUTH', [
    'id_ed25519_enc',
    'encrypted',
  ]);
  await rejectsWith(
    psftp.connect(login({ password: undefined, privateKey: enc, privateKeyPass: 'not it' })),
    'EAUTH',
    ['wrong passphrase'],
  );
  await rejectsWith(
    psftp.connect(login({ password: undefined, privateKey: server.file('id_unauthorized') })),
    'EAUTH',
    ['refused', 'id_unauthorized'],
  );
  const missing = await rejectsWith(
    psftp.connect(login({ password: undefined, privateKey: server.file('no_such_key') })),
    'ELOCALIO',
    ['private_key', 'No such file', 'not shown'],
  );
  assert.ok(!missing.message.includes('no_such_key'), 'a path naming no file is not repeated');
});

test('an unknown host is EHOSTKEY with type and fingerprint; a changed key EHOSTKEYMISMATCH', async (t) => {
  const empty = path.join(localScratch(t, 'kh'), 'known_hosts');
  fs.writeFileSync(empty, '');
  const err = await rejectsWith(psftp.connect(login({ cnopts: { knownHosts: empty } })), 'EHOSTKEY', [
    `[127.0.0.1]:${server.port}`,
    'ssh-ed25519',
    'SHA256:',
    empty,
  ]);
  assert.equal(err.errno, -3);
  await rejectsWith(
    psftp.connect(login({ cnopts: { knownHosts: server.file('known_hosts_changed') } })),
    'EHOSTKEYMISMATCH',
    ['MISMATCH', 'ssh-ed25519'],
  );
});

test('hostkeys null turns checking off; load() merges another file', async (t) => {
  const empty = path.join(localScratch(t, 'kh'), 'known_hosts');
  fs.writeFileSync(empty, '# nothing\n');
  const off = await connectFor(t, { cnopts: { knownHosts: empty, hostkeys: null } });
  assert.equal(await off.pwd(), server.home);
  const merged = new psftp.CnOpts(empty).load(server.file('known_hosts_hashed'));
  t.after(() => merged.free());
  const sftp = await connectFor(t, { cnopts: merged });
  assert.equal(await sftp.pwd(), server.home);
  const disabled = new psftp.CnOpts({ knownHosts: empty, hostkeys: null });
  assert.throws(() => disabled.load(server.knownHosts), (e) => e.code === 'EINVAL' && /hostkeys is None/.test(e.message));
  assert.throws(
    () => new psftp.CnOpts(empty).load('/nonexistent/known_hosts'),
    (e) => e.code === 'ENOENT' && e.psftpCode === 'ELOCALIO' && e.message.includes('/nonexistent/known_hosts'),
  );
});

test('CnOpts.getHostkey finds plain and hashed entries', () => {
  const expected = pubKeyBase64(server.file('ssh_host_ed25519_key.pub'));
  for (const file of ['known_hosts', 'known_hosts_hashed']) {
    const cnopts = new psftp.CnOpts(server.file(file));
    const key = cnopts.getHostkey(`[127.0.0.1]:${server.port}`);
    assert.deepEqual([key.keyType, key.base64], ['ssh-ed25519', expected], file);
    cnopts.free();
  }
  const cnopts = new psftp.CnOpts(server.knownHosts);
  assert.throws(() => cnopts.getHostkey('unknown.example'), (e) => e.code === 'EHOSTKEY' && e.message.includes('unknown.example'));
});

test('acceptNew records an unknown host once', async (t) => {
  const kh = path.join(localScratch(t, 'tofu'), 'known_hosts');
  const cnopts = new psftp.CnOpts({ knownHosts: kh, acceptNew: true });
  await (await psftp.connect(login({ cnopts }))).close();
  await (await psftp.connect(login({ cnopts }))).close();
  const lines = fs.readFileSync(kh, 'utf8').trim().split('\n');
  assert.equal(lines.length, 1);
  assert.ok(lines[0].startsWith(`[127.0.0.1]:${server.port} ssh-ed25519 `), lines[0]);
  cnopts.free();
});

test('connection options: ciphers, compression, log, timeouts, defaultPath', async (t) => {
  const dir = localScratch(t, 'log');
  const logPath = path.join(dir, 'psftp.log');
  const sftp = await connectFor(t, {
    defaultPath: '/tmp',
    cnopts: {
      knownHosts: server.knownHosts,
      ciphers: ['aes128-ctr'],
      compression: true,
      log: logPath,
      connectTimeout: 10,
      timeout: 30,
      keepalive: 60,
    },
  });
  assert.equal(await sftp.pwd(), '/tmp');
  assert.deepEqual(await sftp.activeCiphers(), { local: 'aes128-ctr', remote: 'aes128-ctr' });
  const compression = await sftp.activeCompression();
  assert.match(compression.local, /^zlib/);
  assert.equal(await sftp.logfile(), logPath);
  assert.ok(fs.statSync(logPath).size > 0, 'the log has lines');
  assert.equal(await sftp.timeout(), 30);
  await sftp.setTimeout(12.5);
  assert.equal(await sftp.timeout(), 12.5);
  await sftp.set_timeout(0);
  assert.equal(await sftp.timeout(), 0);
  const security = await sftp.securityOptions();
  assert.ok(security.ciphers.includes('aes128-ctr'), security.ciphers.join());
  for (const list of Object.values(security)) assert.ok(list.length > 0);
  assert.throws(
    () => new psftp.CnOpts({ ciphers: 'rot13' }),
    (e) => e.code === 'EINVAL' && e.message.includes('rot13'),
  );
  assert.throws(() => new psftp.CnOpts({ colour: 'blue' }), { code: 'ERR_INVALID_ARG_VALUE', message: /Unknown CnOpts option colour/ });
});

test('execute returns lines and the exit status; hasExtension; sftpClient', async (t) => {
  const sftp = await connectFor(t);
  const { lines, exitStatus } = await sftp.execute('echo one; echo two; echo oops >&2; exit 3');
  assert.deepEqual(lines, ['one\n', 'two\n', 'oops\n']);
  assert.equal(exitStatus, 3);
  assert.equal(await sftp.hasExtension('posix-rename@openssh.com'), true);
  assert.equal(await sftp.has_extension('no-such@example.com'), false);
  const raw = await sftp.sftpClient();
  assert.equal(typeof raw.session, 'bigint');
  assert.equal(typeof raw.sftp, 'bigint');
  assert.notEqual(raw.session, 0n);
  // withSftpClient holds the connection: a call made meanwhile runs after.
  let later = null;
  let settled = false;
  const result = await sftp.withSftpClient((pointers) => {
    assert.deepEqual(pointers, raw);
    later = sftp.pwd().then((p) => {
      settled = true;
      return p;
    });
    return 'fn result';
  });
  assert.equal(result, 'fn result');
  assert.equal(settled, false);
  assert.equal(typeof (await later), 'string');
  await assert.rejects(sftp.withSftpClient('nope'), TypeError);
});

test('privateKeyData: every key format the fixture makes, from memory', async () => {
  for (const [file, pass] of [
    ['id_ed25519', undefined],
    ['id_ecdsa_pem', undefined],
    ['id_rsa_pem', undefined],
    ['id_ed25519_enc', server.passphrase],
    ['id_rsa_enc_pem', server.passphrase],
  ]) {
    const data = fs.readFileSync(server.file(file));
    for (const privateKeyData of [data, data.toString('utf8')]) {
      const sftp = await psftp.connect(login({ password: undefined, privateKeyData, privateKeyPass: pass }));
      assert.equal(await sftp.pwd(), server.home, file);
      await sftp.close();
    }
  }
  const enc = fs.readFileSync(server.file('id_ed25519_enc'));
  const err = await rejectsWith(
    psftp.connect(login({ password: undefined, privateKeyData: enc, privateKeyPass: 'wrong' })),
    'EAUTH',
    ['private_key_data', 'wrong passphrase'],
  );
  assert.ok(!err.message.includes(enc.toString().split('\n')[1]));
  await assert.rejects(
    psftp.connect(login({ privateKey: server.key, privateKeyData: enc })),
    { code: 'ERR_INVALID_ARG_TYPE' },
  );
});

// Host and user name are repeated in messages (they name what failed), so
// a password there cannot be told from a name; key material is recognized
// in every argument.
test('no password or key shows in an error, whatever argument it was given in', async () => {
  const key = fs.readFileSync(path.join(server.dir, 'id_ed25519'), 'utf8');
  const keyLines = key.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'));
  const credentials = ['privateKey', 'password', 'privateKeyPass', 'port'];
  const cases = [
    [server.password, credentials],
    [server.passphrase, credentials],
    [key, [...credentials, 'username', 'host', 'defaultPath']],
  ];
  for (const [secret, slots] of cases) {
    for (const slot of slots) {
      const base = login({ password: undefined });
      let error = null;
      try {
        const sftp = await psftp.connect({ ...base, [slot]: secret });
        await sftp.close();
      } catch (e) {
        error = e;
      }
      const text = error ? `${error.message} ${error.stack}` : '';
      assert.ok(!text.includes(secret), `the secret given as ${slot} shows: ${text}`);
      for (const line of keyLines) assert.ok(!text.includes(line), `a key line given as ${slot} shows: ${text}`);
    }
  }
  // The key's contents given as privateKey are the key (as with ssh2), never a path.
  const sftp = await psftp.connect(login({ password: undefined, privateKey: key }));
  assert.equal(await sftp.pwd(), server.home);
  await sftp.close();
});

test('connect errors: refused port, silent server, not SSH, bad arguments', async (t) => {
  const closed = await freePort();
  await rejectsWith(psftp.connect(login({ port: closed })), 'ECONNECT', ['127.0.0.1', String(closed), 'refused']);

  const silent = await listen((socket) => t.after(() => socket.destroy()));
  t.after(() => silent.close());
  const timeout = { knownHosts: server.knownHosts, connectTimeout: 1 };
  await rejectsWith(psftp.connect(login({ port: silent.address().port, cnopts: timeout })), 'ETIMEDOUT', [
    'handshake',
  ]);

  const http = await listen((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  t.after(() => http.close());
  await rejectsWith(psftp.connect(login({ port: http.address().port })), 'ESSH', ['handshake']);

  await rejectsWith(psftp.connect(login({ port: 70000 })), 'EINVAL', ['port', '70000']);
  // Not silently wrapped to the server's port by the 32-bit C int.
  await assert.rejects(psftp.connect(login({ port: 2 ** 32 + server.port })), { code: 'ERR_OUT_OF_RANGE', message: /"port"/ });
  await assert.rejects(psftp.connect(login({ port: 22.5 })), { code: 'ERR_INVALID_ARG_TYPE', message: /22\.5/ });
  await assert.rejects(psftp.connect(login({ host: 42 })), { code: 'ERR_INVALID_ARG_TYPE', message: /"host"/ });
  await assert.rejects(psftp.connect(login({ passwd: 'x' })), { name: 'TypeError', message: /passwd/ });
  await assert.rejects(psftp.connect(login({ host: 'a\0b' })), { code: 'ERR_INVALID_ARG_VALUE' });
  await assert.rejects(psftp.connect(), { code: 'ERR_INVALID_ARG_TYPE' });
});

test('close is explicit, idempotent, and later calls fail with EINVAL', async () => {
  const sftp = await psftp.connect(login());
  await sftp.end();
  await sftp.close();
  await rejectsWith(sftp.stat('/'), 'EINVAL', ['not a live psftp_conn']);
  await rejectsWith(sftp.listdir('/'), 'EINVAL', ['conn']);
  assert.throws(() => new psftp.Connection(), /psftp.connect/);
});

test('await using closes the connection (Symbol.asyncDispose)', async () => {
  let kept;
  {
    const sftp = await psftp.connect(login());
    kept = sftp;
    await sftp[Symbol.asyncDispose]();
  }
  await rejectsWith(kept.pwd(), 'EINVAL');
});

function listen(onConnection) {
  return new Promise((resolve) => {
    const srv = net.createServer(onConnection);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

async function freePort() {
  const srv = await listen(() => {});
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}
