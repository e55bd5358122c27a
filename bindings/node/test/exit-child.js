'use strict';
// A program that ends its process in the middle of a transfer (run by
// exit.test.js): node exit-child.js KIND HOW REMOTEDIR LOCALDIR.
// KIND: the transfer and its callback: get (progress), put (progress),
// getfo (the sink), getBuffer (progress), putfo (the reader), getR (tree
// progress). HOW: 'exit' calls process.exit(7) inside the callback, 'timer'
// calls it from a timer while the transfer runs, 'throw' throws from a
// timer (an uncaught exception: exit status 1 and the error printed).

const path = require('node:path');
const { psftp, login } = require('./helpers');

const [kind, how, rdir, ldir] = process.argv.slice(2);

let ended = false;
function end() {
  if (ended) return;
  ended = true;
  process.stdout.write('ending\n');
  if (how === 'exit') process.exit(7);
  if (how === 'timer') setTimeout(() => process.exit(7), 1);
  if (how === 'throw') {
    setTimeout(() => {
      throw new Error('boom in the middle of a transfer');
    }, 1);
  }
}

(async () => {
  const sftp = await psftp.connect(login());
  const big = path.join(rdir, 'big');
  const local = path.join(ldir, 'big');
  const progress = { callback: end };
  switch (kind) {
    case 'get':
      await sftp.get(big, local, progress);
      break;
    case 'put':
      await sftp.put(path.join(ldir, 'up'), path.join(rdir, 'up'), progress);
      break;
    case 'getfo':
      await sftp.getfo(big, () => end());
      break;
    case 'getBuffer':
      await sftp.getBuffer(big, progress);
      break;
    case 'putfo': {
      const block = Buffer.alloc(64 * 1024, 7);
      let sent = 0;
      await sftp.putfo(() => {
        if (++sent > 4) end();
        return sent < 100000 ? block : null;
      }, path.join(rdir, 'fo'));
      break;
    }
    case 'getR':
      await sftp.getR(rdir, path.join(ldir, 'tree'), progress);
      break;
    default:
      throw new Error(`unknown kind ${kind}`);
  }
  // The transfer must not win the race: the test fails on this.
  process.stdout.write('transfer finished before the end\n');
  process.exit(3);
})();
