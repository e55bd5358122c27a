// ssh2-sftp-client code, unchanged but for the import: checked by tsc --strict.
import Client = require('psftp/ssh2-sftp-client');
import { createWriteStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';

export async function migrated(): Promise<void> {
  const sftp = new Client();
  await sftp.connect({ host: 'example.com', port: 22, username: 'me', privateKey: readFileSync('/home/me/.ssh/id_ed25519'), readyTimeout: 20000 });
  const entries: Client.FileInfo[] = await sftp.list('/upload', (e) => e.type === '-');
  const kind: false | 'd' | '-' | 'l' = await sftp.exists('/upload/a.txt');
  const buf: Buffer = await sftp.get('/upload/a.txt');
  const file: string = await sftp.get('/upload/a.txt', '/tmp/a.txt');
  await sftp.get('/upload/a.txt', createWriteStream('/tmp/b.txt'));
  await sftp.put(Buffer.from('hello'), '/upload/hello.txt');
  await sftp.fastGet('/upload/big.iso', '/tmp/big.iso', { step: (done) => void done, signal: AbortSignal.timeout(60_000) });
  await sftp.put(Readable.from(['a', 'b']), '/upload/ab.txt');
  const stats: Client.FileStats = await sftp.stat('/upload/hello.txt');
  const where: string = await sftp.cwd();
  await sftp.rmdir('/upload/old', true);
  await sftp.delete('/upload/maybe.txt', true);
  try {
    await sftp.stat('/missing');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') console.log('missing');
  }
  await sftp.end();
  console.log(entries.length, kind, buf.length, file, stats.isDirectory, stats.modifyTime, where);
}
