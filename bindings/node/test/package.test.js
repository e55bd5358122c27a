'use strict';
// `bash pack.sh` gives tarballs that install and run in a fresh directory
// on a machine without Rust or CMake: psftp and its optional dependency
// @psftp/linux-x64-gnu (the prebuilt library and its licenses), installed
// from the tarballs with no registry (koffi from its own tarballs too).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { server, remoteScratch, putRemoteFile } = require('./helpers');

const here = path.join(__dirname, '..');

function run(cmd, argv, options) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', ...options });
  assert.equal(r.status, 0, `${cmd} ${argv.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A bin directory with node, npm and sh only: no cargo, no cmake, no compiler. */
function bareBin(dir) {
  fs.mkdirSync(dir);
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  fs.symlinkSync('/bin/sh', path.join(dir, 'sh'));
  const npmCli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  assert.ok(fs.existsSync(npmCli), `npm's CLI at ${npmCli}`);
  fs.writeFileSync(path.join(dir, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${npmCli}" "$@"\n`, { mode: 0o755 });
  return dir;
}

test('the packed tarballs install offline into a fresh directory without Rust or CMake and do a get', (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'psftp-pack-'));
  t.after(() => fs.rmSync(work, { recursive: true, force: true }));
  const tarballs = path.join(work, 'tarballs');
  const listed = run('bash', [path.join(here, 'pack.sh'), tarballs]).trim().split('\n');
  assert.deepEqual(listed.map((f) => path.basename(f)).sort(), ['psftp-0.1.0.tgz', 'psftp-linux-x64-gnu-0.1.0.tgz']);
  // koffi and its prebuilt binary package, from the copies npm ci installed here.
  for (const dir of ['koffi', ...fs.readdirSync(path.join(here, 'node_modules', '@koromix')).map((d) => `@koromix/${d}`)]) {
    run('npm', ['pack', '--silent', '--pack-destination', tarballs], { cwd: path.join(here, 'node_modules', dir) });
  }

  const bin = bareBin(path.join(work, 'bin'));
  const env = { HOME: process.env.HOME, PATH: bin };
  const which = spawnSync('/bin/sh', ['-c', 'command -v cargo || command -v cmake || command -v cc || command -v rustc'], { env, encoding: 'utf8' });
  assert.notEqual(which.status, 0, `no build tool on the PATH: ${which.stdout}`);

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  const all = fs.readdirSync(tarballs).map((f) => path.join(tarballs, f));
  run(path.join(bin, 'npm'), ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', ...all], { cwd: app, env });
  const plat = path.join(app, 'node_modules', '@psftp', 'linux-x64-gnu');
  for (const f of ['libpsftp.so.0.1', 'LICENSE-MIT', 'LICENSE-APACHE', 'LICENSE-libssh2', 'LICENSE-libssh2-sys']) {
    assert.ok(fs.existsSync(path.join(plat, f)), `@psftp/linux-x64-gnu has ${f}`);
  }
  assert.ok(fs.existsSync(path.join(app, 'node_modules', 'psftp', 'LICENSE-MIT')));
  const manifest = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'psftp', 'package.json'), 'utf8'));
  assert.deepEqual(manifest.optionalDependencies, { '@psftp/linux-x64-gnu': '0.1.0' });

  const rdir = remoteScratch(t, 'pack');
  putRemoteFile(path.join(rdir, 'f.txt'), 'from the packed package\n');
  const script = `
    const Client = require('psftp/ssh2-sftp-client');
    const psftp = require('psftp');
    (async () => {
      const sftp = new Client();
      await sftp.connect({ host: process.env.H, port: Number(process.env.P), username: process.env.U,
        password: process.env.W, cnopts: { knownHosts: process.env.K } });
      const data = await sftp.get(process.env.F);
      await sftp.end();
      console.log(JSON.stringify({ version: psftp.version(), data: data.toString() }));
    })();`;
  const out = run(path.join(bin, 'node'), ['-e', script], {
    cwd: app,
    env: {
      ...env,
      H: server.host,
      P: String(server.port),
      U: server.user,
      W: server.password,
      K: server.knownHosts,
      F: path.join(rdir, 'f.txt'),
    },
  });
  assert.deepEqual(JSON.parse(out), { version: require('..').version(), data: 'from the packed package\n' });
});
