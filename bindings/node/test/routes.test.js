'use strict';
// ssh_config, proxies, a caller's socket, keys from memory and
// keyboard-interactive (issue 16) through the Node binding.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { psftp, server, login, localScratch, rejectsWith } = require('./helpers');

const RELAY =
  `python3 -c 'import os,socket,sys,threading; s=socket.create_connection((sys.argv[1],int(sys.argv[2]))); ` +
  `threading.Thread(target=lambda: [s.sendall(b) for b in iter(lambda: os.read(0,65536), b"")],daemon=True).start(); ` +
  `[os.write(1,b) for b in iter(lambda: s.recv(65536), b"")]' %h %p`;

test('an ssh_config alias connects, and the report shows what it resolves to', async (t) => {
  const config = path.join(localScratch(t, 'cfg'), 'config');
  fs.writeFileSync(
    config,
    `Host nodealias\n  HostName ${server.host}\n  Port ${server.port}\n  User ${server.user}\n` +
      `  IdentityFile ${server.key}\n  UserKnownHostsFile ${server.knownHosts}\n`,
  );
  const cnopts = new psftp.CnOpts({ sshConfig: config });
  const sftp = await psftp.connect({ host: 'nodealias', cnopts });
  assert.equal(await sftp.pwd(), server.home);
  await sftp.close();
  const report = cnopts.sshConfigReport('nodealias');
  assert.match(report, new RegExp(`^port ${server.port}$`, 'm'));
  fs.writeFileSync(config, 'Host x\n  Port nope\n');
  assert.throws(() => cnopts.sshConfigReport('x'), (e) => e.code === 'EINVAL' && /line 2/.test(e.message));
});

test('a key Buffer, a socket and a ProxyCommand each carry a connection', async (t) => {
  const key = fs.readFileSync(server.file('id_ed25519_enc'));
  const keyed = await psftp.connect(login({ password: undefined, privateKeyData: key, privateKeyPass: server.passphrase }));
  assert.equal(await keyed.pwd(), server.home);
  await keyed.close();
  // privateKey takes the key itself too, as ssh2 users pass it: a Buffer or the PEM/OpenSSH text.
  for (const privateKey of [key, key.toString('utf8')]) {
    const direct = await psftp.connect(login({ password: undefined, privateKey, privateKeyPass: server.passphrase }));
    assert.equal(await direct.pwd(), server.home);
    await direct.close();
  }
  // A wrong passphrase: the message names the parameter, never the key.
  await assert.rejects(
    psftp.connect(login({ password: undefined, privateKey: key, privateKeyPass: 'Pass-x7Q9' })),
    (e) => e instanceof psftp.PsftpError && !e.message.includes('BEGIN') && !e.message.includes('Pass-x7Q9'),
  );
  await assert.rejects(
    psftp.connect(login({ password: undefined, privateKey: key, privateKeyData: key })),
    (e) => e.code === 'EINVAL' && /give one/.test(e.message) && !e.message.includes('BEGIN'),
  );

  // A descriptor: of a socket paused before it connects, so Node never
  // reads from it (psftp must get the banner); psftp only duplicates it.
  const paused = await connected(net.connect(server.port, server.host).pause());
  const viaFd = await psftp.connect(login({ socket: paused._handle.fd }));
  paused.destroy();
  assert.equal(await viaFd.pwd(), server.home);
  await viaFd.close();

  const viaCommand = await psftp.connect(login({ cnopts: { knownHosts: server.knownHosts, proxyCommand: RELAY } }));
  assert.equal(await viaCommand.pwd(), server.home);
  await viaCommand.close();

  assert.throws(() => new psftp.CnOpts({ proxyJump: 'a@b,@c' }), (e) => e.code === 'EINVAL' && /hop 2/.test(e.message));
});

/** `sock` once it has connected. */
function connected(sock) {
  return new Promise((resolve, reject) => sock.once('connect', () => resolve(sock)).once('error', reject));
}

test('a connected net.Socket carries a connection; one psftp cannot use is refused', async () => {
  // Not paused: Node reads a connected socket from its next turn of the
  // event loop, so the binding must stop it before the server's banner
  // arrives there.
  const sock = await connected(net.connect(server.port, server.host));
  const viaSocket = await psftp.connect(login({ socket: sock }));
  assert.equal(sock.bytesRead, 0, 'Node read none of what psftp needed');
  assert.ok(sock.isPaused());
  sock.destroy(); // psftp holds its own duplicate
  assert.equal(await viaSocket.pwd(), server.home);
  await viaSocket.close();

  // Node has read the banner: psftp would never see it.
  const late = await connected(net.connect(server.port, server.host));
  await new Promise((resolve) => late.once('readable', resolve));
  await rejectsWith(psftp.connect(login({ socket: late })), 'EINVAL', ['socket: Node has read', 'pause() it before it connects']);
  late.destroy();
  await rejectsWith(psftp.connect(login({ socket: late })), 'EINVAL', ['socket: the net.Socket is destroyed']);

  const pending = net.connect(server.port, server.host);
  const pendingConnected = connected(pending);
  await rejectsWith(psftp.connect(login({ socket: pending })), 'EINVAL', ['socket: the net.Socket is not connected']);
  (await pendingConnected).destroy();
  await rejectsWith(psftp.connect(login({ socket: new net.Socket() })), 'EINVAL', ['not connected']);
  await assert.rejects(psftp.connect(login({ socket: '127.0.0.1:22' })), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' });
});

test('proxyJump and proxyCommand together are refused, not one silently chosen', async () => {
  const both = { knownHosts: server.knownHosts, proxyJump: `${server.user}@${server.host}:${server.port}`, proxyCommand: RELAY };
  const message = 'proxyJump: given together with proxyCommand; set one';
  assert.throws(() => new psftp.CnOpts(both), (e) => e instanceof psftp.PsftpError && e.code === 'EINVAL' && e.message === message);
  await rejectsWith(psftp.connect(login({ cnopts: both })), 'EINVAL', [message]);
  // The setters replace each other, as in C: the last one set is used.
  const cnopts = new psftp.CnOpts(server.knownHosts).setProxyJump('a@b,c').setProxyCommand(RELAY);
  assert.match(cnopts.sshConfigReport(server.host), /^proxycommand python3 /m);
  assert.doesNotMatch(cnopts.sshConfigReport(server.host), /^proxyjump /m);
});

function hotp(secretHex, counter) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = crypto.createHmac('sha1', Buffer.from(secretHex, 'hex')).update(msg).digest();
  const o = mac[19] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

test('keyboardInteractive answers the one-time code after the password', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psftp-node-kbd-'));
  fs.chmodSync(dir, 0o755);
  const script = path.join(__dirname, '..', '..', '..', 'tests', 'fixture', 'sshd.sh');
  const out = execFileSync('bash', [script, 'start', path.join(dir, 's')], {
    env: { ...process.env, PSFTP_SSHD_KBD: '1' },
    encoding: 'utf8',
  });
  t.after(() => {
    execFileSync('bash', [script, 'stop', path.join(dir, 's')]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const env = Object.fromEntries(out.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2)));
  const asked = [];
  const askers = new Set();
  const isCode = (p) => p.prompt.startsWith('One-time password');
  const options = {
    host: '127.0.0.1',
    port: Number(env.PSFTP_TEST_PORT),
    username: env.PSFTP_TEST_USER,
    password: env.PSFTP_TEST_PASSWORD,
    cnopts: { knownHosts: env.PSFTP_TEST_KNOWN_HOSTS },
    keyboardInteractive: ({ host, port, user, prompts }) => {
      asked.push(...prompts.map((p) => p.prompt));
      askers.add(`${user}@${host}:${port}`);
      if (!prompts.some(isCode)) return undefined; // the password answers "Password:"
      // One answer per prompt, by index: a round may mix the password and the code.
      return prompts.map((p) => (isCode(p) ? hotp(env.PSFTP_TEST_OATH_SECRET, 0) : env.PSFTP_TEST_PASSWORD));
    },
  };
  const sftp = await psftp.connect(options);
  assert.equal(await sftp.pwd(), env.PSFTP_TEST_HOME);
  await sftp.close();
  assert.equal(asked[0], 'Password: ');
  assert.match(asked[1], /^One-time password/);
  assert.deepEqual([...askers], [`${env.PSFTP_TEST_USER}@127.0.0.1:${env.PSFTP_TEST_PORT}`]);
  await rejectsWith(psftp.connect({ ...options, keyboardInteractive: () => false }), 'EUSER', [
    'stopped by the keyboard-interactive callback (it returned 1)',
  ]);
  const oops = new Error('no code');
  await assert.rejects(psftp.connect({ ...options, keyboardInteractive: () => { throw oops; } }), (e) => e === oops);
});
