// Compiled with `tsc --noEmit` (tsconfig.json) to check index.d.ts against real use.
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { createReadStream } from 'node:fs';
import psftp, { connect, CnOpts, PsftpError, AbortError, WALK_SKIP, SEEK_END } from 'psftp';
import type {
  Attributes,
  Connection,
  DirEntry,
  ErrorCode,
  HostKey,
  HostKeyCallback,
  HostKeyQuery,
  KeyboardInteractive,
  KeyboardInteractiveRequest,
  Name,
  SftpFile,
  TreeFailure,
  TreeOptions,
  TreeProgress,
  TreeResult,
} from 'psftp';

async function demo(): Promise<number> {
  const cnopts = new CnOpts({ knownHosts: '~/.ssh/known_hosts', compression: true }).setConnectTimeout(5);
  const key: HostKey = cnopts.getHostkey('example.com');
  const sftp: Connection = await connect({ host: 'example.com', username: 'me', privateKey: '~/.ssh/id_ed25519', cnopts });
  const names: Name[] = await sftp.listdir();
  const entries: DirEntry[] = await sftp.list('/srv');
  const attrs: Attributes = await sftp.put('local.bin', 'remote.bin', {
    callback: (done: number, total: number) => done < total,
    preserveMtime: true,
    atomic: true,
  });
  await sftp.get('remote.bin', null, { resume: true });
  const size: number = await sftp.getfo('remote.bin', (chunk: Buffer) => void chunk.length);
  const buf: Buffer = await sftp.getBuffer('remote.bin');
  await sftp.putfo((max: number) => (max > 0 ? null : Buffer.alloc(0)), 'out.bin', { fileSize: 0 });
  await sftp.mkdir('a/b/c', { recursive: true, mode: 0o755 });
  await sftp.chmod('a', '750');
  const pwd: Name = await sftp.cd('a', async (s) => s.pwd());
  await sftp.walktree('/srv', (path, a) => a.isFile() && path.length > 0, () => WALK_SKIP);
  // Walked paths are Names (a Buffer when not UTF-8) and work as path arguments.
  const walked: Name[] = [];
  await sftp.walktree('/srv', (path: Name) => void walked.push(path));
  for (const p of walked) await sftp.stat(p);
  const landing: Name = psftp.reparent('backup', walked[0] ?? '/srv');
  const steps: string[] = psftp.pathAdvance('./pub/a');
  // @ts-expect-error a walked path may be a Buffer
  const text: string = walked[0];
  const file: SftpFile = await sftp.open('remote.bin', 'r+');
  const end: number = await file.seek(0, SEEK_END);
  await file.close();
  await pipeline(createReadStream('local.bin'), sftp.createWriteStream('copy.bin'));
  const { lines, exitStatus } = await sftp.execute('uptime');
  try {
    await sftp.stat('missing');
  } catch (err) {
    if (err instanceof PsftpError) {
      const code: ErrorCode | 'EUNKNOWN' = err.psftpCode;
      if (err.code === 'ENOENT') console.log('no such file');
      console.log(code, err.errno, err.message);
    }
  }
  await sftp.end();
  console.log(key.fingerprint, names, entries[0]?.filename, attrs.size, size, buf.length, pwd, end, lines, exitStatus);
  console.log(landing, steps, text);
  return psftp.stModeToInt(33188) + psftp.codes.ENOTFOUND;
}

void demo();

// Tree operations, AbortSignal, the host-key callback.
async function trees(): Promise<void> {
  const hostKeyCallback: HostKeyCallback = async (key: HostKeyQuery) =>
    key.status === 'unknown' && key.fingerprint.startsWith('SHA256:') ? 'accept-and-save' : 'reject';
  const sftp = await connect({ host: 'example.com', username: 'me', cnopts: { acceptNew: false }, hostKeyCallback });
  const controller = new AbortController();
  const options: TreeOptions = {
    parallelism: 8,
    sync: true,
    include: ['*.c', 'docs/**'],
    exclude: 'build',
    symlinks: 'follow',
    preserveMode: true,
    onError: 'continue',
    preserveMtime: true,
    signal: controller.signal,
    callback: (p: TreeProgress) => void console.log(`${p.filesDone}/${p.filesTotal} ${p.bytesDone}/${p.bytesTotal} ${p.currentPath}`),
  };
  try {
    const result: TreeResult = await sftp.getR('public', 'backup', options);
    console.log(result.filesDone, result.failures.length);
    await sftp.putR('site', '/srv/www', { confirm: false, symlinks: 'copy', signal: AbortSignal.timeout(60_000) });
    await sftp.get_d('incoming', 'in');
    await sftp.put_d('out', 'outgoing', { onError: 'stop' });
    await sftp.downloadDir('/srv/www', 'mirror', { useFastget: true, exclude: ['*.tmp'] });
    await sftp.uploadDir('mirror', '/srv/www2');
    // @ts-expect-error ssh2-sftp-client's filter function is not supported (include/exclude globs are)
    await sftp.downloadDir('/srv/www', 'mirror', { filter: (path: string) => !path.endsWith('.tmp') });
    // @ts-expect-error symlink policies are 'skip', 'follow' and 'copy'
    await sftp.getR('public', 'backup', { symlinks: 'sometimes' });
    // @ts-expect-error confirm is an upload option
    await sftp.getR('public', 'backup', { confirm: true });
    await sftp.get('big.iso', 'big.iso', { signal: controller.signal });
    // Every call that does I/O takes a signal; the others on the connection go on.
    const signal = AbortSignal.timeout(5_000);
    const [attrs, names] = await Promise.all([sftp.stat('big.iso', { signal }), sftp.listdir('.', { signal })]);
    console.log(attrs.size, names.length);
    await sftp.mkdir('made', { mode: 0o750, signal });
    await sftp.rename('made', 'renamed', { signal });
    await sftp.walktree('.', null, null, null, { recurse: false, signal });
    // @ts-expect-error a signal is an AbortSignal
    await sftp.stat('big.iso', { signal: 'stop' });
  } catch (err) {
    if (err instanceof AbortError) {
      console.log(err.code, err.cause); // 'ABORT_ERR', the signal's reason
    }
    if (err instanceof PsftpError) {
      const failed: TreeFailure[] = err.failures ?? [];
      for (const f of failed) console.log(f.path, f.code, f.errno, f.message);
      const retry: Name[] = failed.map((f) => f.path); // relative to the root, bytes when not UTF-8
      console.log(retry);
      console.log(err.progress?.filesDone);
    } else if (err instanceof Error && err.name === 'AbortError') {
      console.log('aborted; usable:', !sftp.interrupted);
    }
  }
  if (sftp.interrupted) sftp.interrupt();
  await sftp.close();
}

void trees();

// Routes: ssh_config, a jump host, a ProxyCommand, a socket, keyboard-interactive.
async function routes(totp: () => string): Promise<void> {
  const cnopts = new CnOpts({ sshConfig: true, proxyJump: 'ops@bastion:2222' });
  console.log(cnopts.sshConfigReport('prod-db'));
  const keyboardInteractive: KeyboardInteractive = (r: KeyboardInteractiveRequest) => {
    if (r.host === 'bastion' && r.port === 2222 && r.user === 'ops') return false; // the jump host asks: give up
    if (!r.prompts.some((p) => /code/i.test(p.prompt))) return undefined; // the password answers
    return r.prompts.map((p) => (/code/i.test(p.prompt) ? totp() : 'secret')); // by index
  };
  const viaHop = await connect({ host: 'prod-db', username: 'me', password: 'secret', cnopts, keyboardInteractive });
  await viaHop.close();
  const viaCommand = await connect({ host: 'db.internal', cnopts: { proxyCommand: 'nc %h %p' } });
  await viaCommand.close();
  const sock = tcpConnect(22, 'db.internal');
  await once(sock, 'connect');
  const viaSocket = await connect({ host: 'db.internal', username: 'me', socket: sock });
  sock.destroy();
  await viaSocket.close();
  const viaFd = await connect({ host: 'db.internal', socket: 7 }); // a descriptor works too
  await viaFd.close();
}

void routes(() => '123456');
