'use strict';
// walktree (remote and local), the module helpers and the local cd.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { psftp, connectFor, remoteScratch, localScratch, chownToTestUser, rejectsWith } = require('./helpers');

/** a/x, a/b/y, skipme/z, top, and links: to a file, to a dir (a loop), broken; a fifo. */
function makeTree(root, own = () => {}) {
  for (const d of ['a/b', 'skipme', 'e']) fs.mkdirSync(path.join(root, d), { recursive: true });
  for (const f of ['a/x', 'a/b/y', 'skipme/z', 'top']) fs.writeFileSync(path.join(root, f), f);
  fs.symlinkSync('top', path.join(root, 'link_file'));
  fs.symlinkSync('.', path.join(root, 'a/loop'));
  fs.symlinkSync('nowhere', path.join(root, 'broken'));
  execFileSync('mkfifo', [path.join(root, 'pipe')]);
  for (const p of ['a', 'a/b', 'skipme', 'e', 'a/x', 'a/b/y', 'skipme/z', 'top', 'pipe']) own(path.join(root, p));
}

const EXPECTED = [
  'd {r}/a',
  'd {r}/a/b',
  'f {r}/a/b/y',
  'd {r}/a/loop@',
  'f {r}/a/x',
  'u {r}/broken@',
  'd {r}/e',
  'f {r}/link_file@',
  'u {r}/pipe',
  'd {r}/skipme',
  'f {r}/top',
];

/** Callbacks recording "tag path[@ for links]"; skipme is skipped. */
function recorder(events, stopAt) {
  const record = (tag) => (p, attrs) => {
    assert.ok(attrs instanceof psftp.Attributes);
    events.push(`${tag} ${p}${attrs.isSymbolicLink() ? '@' : ''}`);
    if (p === stopAt) return false;
    if (tag === 'd' && p.endsWith('skipme')) return psftp.WALK_SKIP;
    return undefined;
  };
  return [record('f'), record('d'), record('u')];
}

test('walktree is depth first, sorted, safe with links; skip and stop work', async (t) => {
  const sftp = await connectFor(t);
  const root = remoteScratch(t, 'walk');
  makeTree(root, chownToTestUser);
  const events = [];
  await sftp.walktree(root, ...recorder(events));
  assert.deepEqual(
    events,
    EXPECTED.map((e) => e.replace('{r}', root)),
  );
  const top = [];
  await sftp.walktree(root, ...recorder(top).slice(0, 2), null, false);
  assert.equal(top.length, 5, `a, e, link_file, skipme, top: ${top}`);
  const stopped = [];
  await rejectsWith(sftp.walktree(root, ...recorder(stopped, `${root}/a/x`)), 'EUSER', ['walktree', root]);
  assert.equal(stopped.at(-1), `f ${root}/a/x`);
  await rejectsWith(sftp.walktree('/no/such'), 'ENOTFOUND', ['/no/such']);
});

test('an exception in a walk callback stops the walk and rejects with it', async (t) => {
  const sftp = await connectFor(t);
  const root = remoteScratch(t, 'walkthrow');
  makeTree(root, chownToTestUser);
  const boom = new TypeError('walk callback failed');
  const seen = [];
  await assert.rejects(
    sftp.walktree(root, (p) => {
      seen.push(p);
      throw boom;
    }),
    (e) => e === boom,
  );
  assert.deepEqual(seen, [`${root}/a/b/y`], 'no callback after the exception');
  // Callbacks may queue calls on the same connection: they run after the walk.
  const sizes = [];
  await sftp.walktree(root, (p) => void sizes.push(sftp.stat(p).then((a) => a.size)));
  assert.deepEqual(await Promise.all(sizes), [5, 3, 3, 8, 3], 'a/b/y a/x link_file skipme/z top');
});

test('the module walktree walks a local directory the same way', async (t) => {
  const root = localScratch(t, 'lwalk');
  makeTree(root);
  const events = [];
  psftp.walktree(root, ...recorder(events));
  assert.deepEqual(
    events,
    EXPECTED.map((e) => e.replace('{r}', root)),
  );
  assert.throws(() => psftp.walktree('/no/such/dir'), (e) => e.code === 'ENOENT' && e.psftpCode === 'ELOCALIO' && e.message.includes('/no/such/dir'));
  const boom = new Error('local boom');
  assert.throws(
    () =>
      psftp.walktree(root, () => {
        throw boom;
      }),
    (e) => e === boom,
  );
});

test('module helpers give pysftp results', () => {
  assert.equal(psftp.st_mode_to_int(33188), 644);
  assert.equal(psftp.stModeToInt(0o40755), 755);
  assert.deepEqual(psftp.path_advance('./pub/example/example01'), ['.', './pub', './pub/example', './pub/example/example01']);
  assert.deepEqual(psftp.pathRetreat('./pub/example/example01'), ['./pub/example/example01', './pub/example', './pub', '.']);
  assert.equal(psftp.reparent('backup', '/home/test/pub'), 'backup/./home/test/pub');
  assert.equal(psftp.reparent('backup', '\\home\\test'), 'backup/.\\home\\test');
  assert.throws(() => psftp.pathAdvance(''), (e) => e.code === 'EINVAL' && /thepath/.test(e.message) && /empty/.test(e.message));
  assert.throws(() => psftp.reparent(null, 'x'), { code: 'ERR_INVALID_ARG_TYPE', message: /"newparent"/ });
  assert.match(psftp.version(), /^0\.1\.\d+$/);
  assert.equal(psftp.strerror(-6), 'PSFTP_E_NOT_FOUND');
});

test('the module cd runs a body in a local directory and restores the process cwd', async (t) => {
  const before = process.cwd();
  const dir = fs.realpathSync(localScratch(t, 'lcd'));
  const result = await psftp.cd(dir, async () => {
    assert.equal(process.cwd(), dir);
    return 7;
  });
  assert.equal(result, 7);
  assert.equal(process.cwd(), before);
  const boom = new Error('body');
  await assert.rejects(
    psftp.cd(dir, () => {
      throw boom;
    }),
    (e) => e === boom,
  );
  assert.equal(process.cwd(), before, 'restored after a failing body');
  psftp.localCdPush(dir);
  assert.equal(process.cwd(), dir);
  psftp.localCdPop();
  assert.equal(process.cwd(), before);
  await assert.rejects(psftp.cd('/no/such/dir', async () => {}), (e) => e.code === 'ENOENT' && e.message.includes('/no/such/dir'));
  assert.throws(() => psftp.localCdPop(), (e) => e.code === 'EINVAL' && /without a matching/.test(e.message));
});
