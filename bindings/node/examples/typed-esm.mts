// The ES module entry point's types (tsc --noEmit; see tsconfig.json).
import psftp, { connect, PsftpError } from 'psftp';

const sftp = await connect({ host: 'example.com', username: 'me', password: 'secret', port: 2222 });
try {
  await sftp.fastPut('local.txt', 'remote.txt');
  const exists: boolean = await sftp.exists('remote.txt');
  console.log(exists, psftp.version());
} catch (err) {
  if (err instanceof PsftpError && err.code === 'EAUTH') console.log('bad password');
} finally {
  await sftp.close();
}
