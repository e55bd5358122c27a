// psftp quick start (CommonJS). Run: SFTP_HOST=... SFTP_USER=... SFTP_PASSWORD=... node quickstart.cjs
const psftp = require('psftp');

async function main() {
  const sftp = await psftp.connect({
    host: process.env.SFTP_HOST,
    port: Number(process.env.SFTP_PORT ?? 22),
    username: process.env.SFTP_USER,
    password: process.env.SFTP_PASSWORD,
    cnopts: { knownHosts: process.env.SFTP_KNOWN_HOSTS },
    defaultPath: process.env.SFTP_DIR,
  });
  try {
    await sftp.putfo(Buffer.from('hello from psftp\n'), 'hello.txt');
    await sftp.cd('.', async () => console.log(await sftp.listdir()));
    console.log((await sftp.getBuffer('hello.txt')).toString().trim());
    await sftp.remove('hello.txt');
  } finally {
    await sftp.close();
  }
}

main().catch((err) => {
  console.error(err.code, err.message);
  process.exitCode = 1;
});
