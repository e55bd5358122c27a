// psftp quick start (ES module). Run: SFTP_HOST=... SFTP_USER=... SFTP_PASSWORD=... node quickstart.mjs
import { connect } from 'psftp';

const sftp = await connect({
  host: process.env.SFTP_HOST,
  port: Number(process.env.SFTP_PORT ?? 22),
  username: process.env.SFTP_USER,
  password: process.env.SFTP_PASSWORD, // or privateKey: '/home/me/.ssh/id_ed25519'
  cnopts: { knownHosts: process.env.SFTP_KNOWN_HOSTS }, // default: ~/.ssh/known_hosts
  defaultPath: process.env.SFTP_DIR, // default: the login directory
});
try {
  await sftp.putfo('hello from psftp\n', 'hello.txt'); // upload a string or Buffer
  await sftp.fastGet('hello.txt', 'hello-copy.txt', {
    callback: (done, total) => console.log(`downloaded ${done} of ${total} bytes`),
  });
  console.log((await sftp.getBuffer('hello.txt')).toString().trim());
  for (const entry of await sftp.listdir_attr()) {
    console.log(entry.filename, entry.size, entry.isDirectory() ? 'dir' : 'file');
  }
  try {
    await sftp.stat('no-such-file');
  } catch (err) {
    console.log(err.code, err.message); // ENOENT stat '...': No such file
  }
  await sftp.remove('hello.txt');
} finally {
  await sftp.close();
}
