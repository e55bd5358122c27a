// Type declarations of psftp for Node (CommonJS and ES module entry points).
// Every Connection and SftpFile method returns a Promise and runs its C call
// on a worker thread: the event loop never waits for the network.

/// <reference types="node" />

import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

/**
 * psftp error names, and their numbers (the C codes PSFTP_E_*). The names
 * come from the library (psftp_error_name); the tests check this list
 * against it.
 */
export type ErrorCode =
  | 'EINVAL'
  | 'ECONNECT'
  | 'EHOSTKEY'
  | 'EHOSTKEYMISMATCH'
  | 'EAUTH'
  | 'ENOTFOUND'
  | 'EPERM'
  | 'EEXIST'
  | 'ENOTDIR'
  | 'ELOCALIO'
  | 'ESFTP'
  | 'ESSH'
  | 'ETIMEDOUT'
  | 'ECANCELED'
  | 'ECONNLOST'
  | 'EUNSAFEPATH'
  | 'EPANIC'
  | 'EUNSUPPORTED'
  | 'ENOTEMPTY'
  | 'EUSER'
  | 'EINTEGRITY';

export declare const codes: Readonly<Record<ErrorCode, number>>;

/**
 * Node's code of a failure: an OS errno name where one fits (ENOENT,
 * EACCES, EEXIST, ENOTEMPTY, ENOTDIR, ECONNREFUSED, ECONNRESET, ETIMEDOUT,
 * ENOTSUP, ENOSPC...; ENOTFOUND only for a host name that did not
 * resolve), else psftp's own name (EAUTH, EHOSTKEY, ESSH, EUSER...).
 */
export type NodeErrorCode = string;

/**
 * A failed psftp call: `code` is Node's name for it (as fs and net use),
 * `psftpCode` psftp's, `errno` the C code, `message` is psftp's.
 */
export declare class PsftpError extends Error {
  constructor(errno: number, message: string, osErrno?: number);
  readonly name: 'PsftpError';
  readonly code: NodeErrorCode;
  readonly psftpCode: ErrorCode | 'EUNKNOWN';
  readonly errno: number;
  /** Tree operations: every entry that failed (all of them with onError 'continue'); may be empty. */
  readonly failures?: TreeFailure[];
  /** Tree operations: how far it got. */
  readonly progress?: TreeTotals;
}

/** paramiko's SFTPAttributes: a field the server did not send is undefined. */
export declare class Attributes {
  /** PSFTP_ATTR_* bits: SIZE 1, UIDGID 2, PERMISSIONS 4, ACMODTIME 8. */
  readonly flags: number;
  readonly size: number | undefined;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  /** st_mode: file type and permission bits (stModeToInt gives 644). */
  readonly mode: number | undefined;
  /** Seconds since the epoch. */
  readonly atime: number | undefined;
  readonly mtime: number | undefined;
  isDirectory(): boolean;
  isFile(): boolean;
  isSymbolicLink(): boolean;
}

/**
 * A path argument: a string, or the bytes of a name that is not UTF-8 (as
 * fs accepts Buffer paths).
 */
export type PathLike = string | Uint8Array;
/**
 * A name or path psftp returns: a string, or a Buffer of its bytes when they
 * are not UTF-8 (Linux names are bytes), so it still names its file.
 */
export type Name = string | Buffer;

/** An entry of listdir_attr(). */
export declare class DirEntry extends Attributes {
  readonly filename: Name;
  /** The server's `ls -l` style line (may be empty). */
  readonly longname: string;
}

export interface HostKey {
  /** 'ssh-ed25519', 'ecdsa-sha2-nistp256', ... */
  keyType: string;
  /** The key as known_hosts holds it. */
  base64: string;
  /** 'SHA256:...' as OpenSSH prints it. */
  fingerprint: string;
}

/**
 * Options of `new CnOpts({...})` or of connect()'s `cnopts`. proxyJump and
 * proxyCommand together throw EINVAL (setProxyJump() and setProxyCommand()
 * replace each other instead).
 */
export interface CnOptsOptions {
  /** pysftp CnOpts(knownhosts): default ~/.ssh/known_hosts. */
  knownHosts?: string;
  /** null turns host-key checking off (NOT ADVISED); a path makes it the only known_hosts file. */
  hostkeys?: string | null;
  /** Extra known_hosts files to merge (pysftp hostkeys.load). */
  load?: string | string[];
  /** Trust on first use: record an unknown host's key. */
  acceptNew?: boolean;
  /** false, true (a temporary log file) or the log file's path. */
  log?: boolean | string;
  compression?: boolean;
  /** Cipher preference, e.g. ['aes128-gcm@openssh.com']; null restores the default. */
  ciphers?: string | string[] | null;
  /** Seconds for resolution, TCP connect, handshake and authentication in total (default 30; 0 waits forever). */
  connectTimeout?: number;
  /** Seconds any later read or write may wait (default 0: forever). */
  timeout?: number;
  /** Seconds a call may go without a byte moving before it fails with TIMEOUT (default 60; 0: off). */
  stallTimeout?: number;
  /** Seconds of silence before a keepalive asking for a reply (ServerAliveInterval; default 0: never). */
  keepalive?: number;
  /** A server silent for keepalive x this many is lost (ServerAliveCountMax; default 3). */
  keepaliveCountMax?: number;
  /** Read ssh_config: true for ~/.ssh/config and /etc/ssh/ssh_config, or one file's path (ssh -F). Default false. */
  sshConfig?: boolean | string;
  /** Jump hosts, as ssh -J: 'user@host:port,host2'; 'none' ignores ssh_config's. */
  proxyJump?: string | null;
  /** A command carrying the connection on stdin/stdout (%h %p %r tokens), as ssh's ProxyCommand. */
  proxyCommand?: string | null;
}

/** pysftp CnOpts. Its calls read local files only, so they are synchronous. */
export declare class CnOpts {
  constructor(knownHostsOrOptions?: string | CnOptsOptions);
  load(path: string): this;
  setHostkeys(knownHosts: string | null): this;
  setAcceptNew(acceptNew: boolean): this;
  setLog(log: boolean | string): this;
  setCompression(compression: boolean): this;
  setCiphers(ciphers: string | string[] | null): this;
  setConnectTimeout(seconds: number): this;
  setTimeout(seconds: number): this;
  setKeepalive(seconds: number): this;
  setKeepaliveCountMax(count: number): this;
  setStallTimeout(seconds: number): this;
  setSshConfig(useOrPath: boolean | string): this;
  /** What connecting to `host` would use, as `ssh -G host` prints it. */
  sshConfigReport(host: string): string;
  /** Jump hosts, as ssh -J; replaces a proxyCommand set before; null removes. */
  setProxyJump(hops: string | null): this;
  /** A ProxyCommand (%h %p %r tokens); replaces a proxyJump set before; null removes. */
  setProxyCommand(command: string | null): this;
  /** Write '[host]:port' for a port other than 22. */
  getHostkey(host: string): HostKey;
  /** Release now (a connection keeps its own copy); otherwise garbage collection does. */
  free(): void;
}

/** A host key known_hosts does not vouch for, as the hostKeyCallback sees it. */
export interface HostKeyQuery {
  /** As given to connect(). */
  host: string;
  port: number;
  /** 'unknown': not in known_hosts; 'changed': known_hosts holds a different key (a possible attack). */
  status: 'unknown' | 'changed';
  keyType: string;
  base64: string;
  /** 'SHA256:...' as OpenSSH prints it. */
  fingerprint: string;
}

/**
 * true or 'accept': trust the key for this connection; 'accept-and-save': also
 * append it to the known_hosts file (unknown hosts only; a changed key is only
 * accepted); false, 'reject' or nothing: refuse (EHOSTKEY / EHOSTKEYMISMATCH).
 */
export type HostKeyAnswer = boolean | 'accept' | 'accept-and-save' | 'reject' | undefined | void;

/**
 * Decides about unknown and changed host keys. A Promise is fine: connect()
 * then connects again once it resolves, trusting exactly the key that was
 * decided on. Throwing (or rejecting) makes connect() reject with that error.
 */
export type HostKeyCallback = (key: HostKeyQuery) => HostKeyAnswer | PromiseLike<HostKeyAnswer>;

/** pysftp Connection(host, username, private_key, password, port, private_key_pass, cnopts, default_path). */
export interface ConnectOptions {
  host: string;
  /** Default: $LOGNAME, $USER, then the password database. */
  username?: string;
  /**
   * A key file's path (OpenSSH or PEM), 'agent' / 'agent:NAME' for ssh-agent
   * keys, or the key itself as ssh2 takes it: a Buffer, or a string beginning
   * with '-----BEGIN ' (never shown in an error).
   */
  privateKey?: string | Buffer;
  /** A private key's contents (OpenSSH or PEM) instead of privateKey; never shown in an error; offered to jump hosts too. */
  privateKeyData?: Buffer | Uint8Array | string;
  password?: string;
  /** Default 22 (or ssh_config's Port when cnopts.sshConfig is on). */
  port?: number;
  /** Passphrase of an encrypted privateKey or privateKeyData. */
  privateKeyPass?: string;
  cnopts?: CnOpts | CnOptsOptions;
  /** Directory to change to after connecting. */
  defaultPath?: string;
  /** Decides about unknown and changed host keys (instead of refusing them, or of cnopts.acceptNew). */
  hostKeyCallback?: HostKeyCallback;
  /**
   * Answers keyboard-interactive prompts (a one-time code, a PAM conversation)
   * for the server and jump hosts, synchronously, one answer per prompt by
   * index. Prompts left unanswered (a shorter array, [] or undefined) get
   * `password`; false or null gives up (EUSER); a throw rejects connect()
   * with it.
   */
  keyboardInteractive?: KeyboardInteractive;
  /**
   * A stream socket the program connected (through a SOCKS proxy, say) to the
   * server or the first jump host: a connected net.Socket or a file
   * descriptor. psftp duplicates it; the program keeps its own and destroys
   * (or closes) it when it likes, but never end()s it (that shuts the shared
   * connection down). It carries this connection only. Nothing else may read
   * from it: connect() pauses a net.Socket and stops Node reading from it,
   * and refuses one Node has read from already (pause() it before it
   * connects if anything may delay connect()), or one not connected, with
   * EINVAL.
   */
  socket?: Socket | number;
}

/** One keyboard-interactive round as the callback sees it. */
export interface KeyboardInteractiveRequest {
  /** The endpoint asking: the server or a jump host. */
  host: string;
  port: number;
  user: string;
  name: string;
  instruction: string;
  /** echo false: a secret, not to be shown as typed. */
  prompts: { prompt: string; echo: boolean }[];
}

export type KeyboardInteractive = (request: KeyboardInteractiveRequest) => string[] | undefined | false | null;

/**
 * Called with bytes done and the total (0 when unknown), sampled on the event
 * loop while they change and once at the end (the transfer never waits for
 * it); returning false stops the call (EUSER).
 */
export type ProgressCallback = (bytesDone: number, bytesTotal: number) => boolean | void;

/** Atomic replacement, resume and fsync of a transfer (psftp_transfer_opts). */
export interface TransferOptions {
  /** Write '.NAME.psftp.part' and rename it into place (default true). */
  atomic?: boolean;
  /** Continue from an earlier transfer's part file (default false). */
  resume?: boolean;
  /** Flush to stable storage before the rename (default false). */
  fsync?: boolean;
  /**
   * Reconnect and go on up to this many times (0 to 1000, default 0) after the link failed
   * (ECONNLOST, ETIMEDOUT), continuing part files and skipping completed files of a tree.
   */
  retries?: number;
  /** Seconds before the first retry (default 1), doubled each time up to 60. */
  retryDelay?: number;
  /**
   * Check each file against its source before it is put in place: 'on' compares digests, the
   * server's (check-file) when offered, else reading the file back; 'allow-exec' also asks
   * sha256sum on the server;
   * a difference rejects with EINTEGRITY and the destination keeps its old content (default 'off').
   */
  verify?: 'off' | 'on' | 'allow-exec';
}

/**
 * Cancels one call: every method that does I/O takes it (the last argument,
 * or in the options it already has). Aborted before the call starts, it
 * rejects at once and nothing happens. Aborted while it runs, the call's own
 * cancel token stops it: its outstanding requests are abandoned, its remote
 * handles closed, no part file is left and a destination keeps its old
 * content; the connection and the other calls go on. A call reading a stalled
 * link sees the token only when something arrives: if it has not ended 2 s
 * after the abort, the connection is interrupted (`interrupted` becomes true:
 * close it). A call that did not complete rejects with an {@link AbortError}
 * (`cause`: `signal.reason`); one that completed resolves. The listener is
 * removed when the call ends. `AbortSignal.timeout(ms)` works.
 */
export interface AbortOptions {
  signal?: AbortSignal;
}

/**
 * How an aborted call rejects, as Node's own APIs do (fs, streams,
 * timers/promises): name 'AbortError', code 'ABORT_ERR', the signal's
 * reason as `cause`.
 */
export declare class AbortError extends Error {
  constructor(message?: string, options?: { cause?: unknown });
  readonly name: 'AbortError';
  readonly code: 'ABORT_ERR';
}

/**
 * Connections one file of 64 MiB or more may use: a put over a link with a
 * round trip of 5 ms or more, a get from 30 ms (1 to 64, default 4; 1 never
 * opens extra ones).
 */
export interface SplitOptions {
  parallelism?: number;
}

export interface GetOptions extends TransferOptions, SplitOptions, AbortOptions {
  callback?: ProgressCallback;
  preserveMtime?: boolean;
}

export interface PutOptions extends TransferOptions, SplitOptions, AbortOptions {
  callback?: ProgressCallback;
  /** Check the remote size afterwards (default true). */
  confirm?: boolean;
  preserveMtime?: boolean;
}

export interface GetfoOptions extends AbortOptions {
  callback?: ProgressCallback;
}

export interface PutfoOptions extends AbortOptions {
  /** The progress total (default: the Buffer's length, or 0 for a function). */
  fileSize?: number;
  callback?: ProgressCallback;
  confirm?: boolean;
  atomic?: boolean;
  fsync?: boolean;
}

/** Files and bytes of a tree operation, done and in all (skipped files count as done). */
export interface TreeTotals {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface TreeProgress extends TreeTotals {
  /** The file most recently started or finished, relative to the root (a Buffer when not UTF-8). */
  currentPath: Name;
}

/**
 * Sampled on the event loop (every 10 ms while the figures change, and once
 * at the end with the last ones: the transfer never waits for it). Must be
 * a synchronous function; returning false stops the operation (EUSER),
 * throwing stops it and rejects with the exception.
 */
export type TreeProgressCallback = (progress: TreeProgress) => boolean | void;

/** An entry a tree operation could not copy. */
export interface TreeFailure {
  /** The source path, relative to the root (a Buffer when not UTF-8). */
  path: Name;
  /** Node's name (as PsftpError.code). */
  code: NodeErrorCode;
  psftpCode: ErrorCode | 'EUNKNOWN';
  errno: number;
  message: string;
}

/** What a tree operation did; `failures` is empty when it resolves (failures reject). */
export interface TreeResult extends TreeTotals {
  failures: TreeFailure[];
}

/** Options of getD, getR (and downloadDir). */
export interface TreeOptions extends TransferOptions, AbortOptions {
  callback?: TreeProgressCallback;
  /** Give copies the source's times (default false; sync implies it). */
  preserveMtime?: boolean;
  /** Connections working at once, 1 to 64 (default 4). */
  parallelism?: number;
  /** Skip files whose destination has the same size and mtime (default false). */
  sync?: boolean;
  /** Copy only files matching one of these globs ('*.c' at any depth; 'docs/**' from the root). */
  include?: string | readonly string[];
  /** Leave out files and directories matching these globs (an excluded directory is not entered). */
  exclude?: string | readonly string[];
  /**
   * Symbolic links: 'skip' (default), 'follow' (within the tree, loops detected), 'copy' (as links,
   * when the target stays inside the tree), 'copy-all' (every link verbatim).
   */
  symlinks?: 'skip' | 'follow' | 'copy' | 'copy-all';
  /** Copy permission bits (default false: the umask decides). */
  preserveMode?: boolean;
  /** 'stop' at the first failure (default) or 'continue' and reject with every failure. */
  onError?: 'stop' | 'continue';
}

/** Options of putD, putR (and uploadDir). */
export interface TreePutOptions extends TreeOptions {
  /** Check each remote size afterwards (default true). */
  confirm?: boolean;
}

/** ssh2-sftp-client's downloadDir options: psftp's tree options; its filter function is not supported. */
export interface DownloadDirOptions extends TreeOptions {
  /** Accepted and ignored: psftp always pipelines. */
  useFastget?: boolean;
  /** Not supported: use include and exclude globs. */
  filter?: never;
}

export interface UploadDirOptions extends TreePutOptions {
  /** Accepted and ignored: psftp always pipelines. */
  useFastput?: boolean;
  /** Not supported: use include and exclude globs. */
  filter?: never;
}

/** getfo's destination: a function (returning false stops) or anything with write(). */
export type GetfoSink = ((chunk: Buffer) => boolean | void) | { write(chunk: Buffer): unknown };

/** putfo's source: bytes, or a function giving the next chunk of at most maxBytes (null or empty at the end). */
export type PutfoSource =
  | Buffer
  | Uint8Array
  | string
  | NodeJS.ReadableStream
  | ((maxBytes: number) => Uint8Array | string | null | undefined);

/** Return from a walktree directory callback to skip that directory's contents. */
export declare const WALK_SKIP: 'skip';

/**
 * A walktree callback; runs synchronously. false stops the walk (EUSER).
 * `path` is a Buffer when it is not UTF-8, and works as a path argument.
 */
export type WalkCallback = (path: Name, attrs: Attributes) => boolean | 'skip' | void;

export interface StreamOptions {
  highWaterMark?: number;
  /** Close the file when the stream ends (default true). */
  autoClose?: boolean;
}

export interface StatvfsInfo {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

export interface SecurityOptions {
  ciphers: string[];
  digests: string[];
  keyTypes: string[];
  kex: string[];
  compression: string[];
}

/**
 * A mode as Node's fs.chmod takes it: POSIX bits, 0o755 (or the string
 * '755') is rwxr-xr-x. Bits above 0o7777 are rejected (EINVAL).
 */
export type Mode = number | string;

export declare const SEEK_SET: 0;
export declare const SEEK_CUR: 1;
export declare const SEEK_END: 2;

/** pysftp open(): a binary remote file. */
export declare class SftpFile {
  private constructor();
  /** Up to size bytes (fewer only at the end); without size, the rest of the file. */
  read(size?: number): Promise<Buffer>;
  /** A line with its '\n' (or size bytes); empty at the end. */
  readline(size?: number): Promise<Buffer>;
  write(data: Buffer | Uint8Array | string): Promise<void>;
  seek(offset: number | bigint, whence?: 0 | 1 | 2): Promise<number>;
  tell(): Promise<number>;
  stat(): Promise<Attributes>;
  flush(): Promise<void>;
  fsync(): Promise<void>;
  truncate(size: number | bigint): Promise<void>;
  close(): Promise<void>;
  createReadStream(options?: StreamOptions): Readable;
  createWriteStream(options?: StreamOptions): Writable;
}

/**
 * pysftp Connection. Its calls run at the same time on the one connection (a stat
 * does not wait behind a get); chdir, cwd, cdPush, cdPop, setTimeout, downloadDir,
 * withSftpClient and close wait for the calls made before them, and the calls made
 * after them wait for them. Each call takes an AbortSignal ({@link AbortOptions}).
 */
export declare class Connection {
  private constructor();

  close(): Promise<void>;
  end(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  /**
   * Abort whatever runs now, even on a stalled link: it rejects with ECANCELED
   * and the connection is unusable afterwards (close it). Synchronous.
   */
  interrupt(): void;
  /** true once interrupt() ran, or an AbortSignal had to interrupt a call reading a stalled link. */
  readonly interrupted: boolean;
  /** Retries (reconnects) of the last get, put or tree operation to finish. */
  readonly lastRetries: number;

  remoteServerKey(options?: AbortOptions): Promise<HostKey>;
  remote_server_key(options?: AbortOptions): Promise<HostKey>;
  activeCiphers(options?: AbortOptions): Promise<{ local: string; remote: string }>;
  active_ciphers(options?: AbortOptions): Promise<{ local: string; remote: string }>;
  activeCompression(options?: AbortOptions): Promise<{ local: string; remote: string }>;
  active_compression(options?: AbortOptions): Promise<{ local: string; remote: string }>;
  securityOptions(options?: AbortOptions): Promise<SecurityOptions>;
  security_options(options?: AbortOptions): Promise<SecurityOptions>;
  timeout(options?: AbortOptions): Promise<number>;
  setTimeout(seconds: number, options?: AbortOptions): Promise<void>;
  set_timeout(seconds: number, options?: AbortOptions): Promise<void>;
  logfile(options?: AbortOptions): Promise<string | null>;
  /** stdout's lines then stderr's, each with its newline, and the exit status. */
  execute(command: string, options?: AbortOptions): Promise<{ lines: string[]; exitStatus: number }>;
  /** Raw LIBSSH2_SESSION and LIBSSH2_SFTP pointers, for koffi users: use them only inside withSftpClient(). */
  sftpClient(options?: AbortOptions): Promise<{ session: bigint; sftp: bigint }>;
  /**
   * Runs `fn` synchronously while holding the connection (keepalives paused,
   * later calls queued), for direct libssh2 calls on the pointers; resolves
   * with fn's result. fn must not use this Connection.
   */
  withSftpClient<T>(fn: (pointers: { session: bigint; sftp: bigint }) => T): Promise<T>;
  sftp_client(options?: AbortOptions): Promise<{ session: bigint; sftp: bigint }>;
  hasExtension(name: string, options?: AbortOptions): Promise<boolean>;
  has_extension(name: string, options?: AbortOptions): Promise<boolean>;

  listdir(remotepath?: PathLike, options?: AbortOptions): Promise<Name[]>;
  listdirAttr(remotepath?: PathLike, options?: AbortOptions): Promise<DirEntry[]>;
  listdir_attr(remotepath?: PathLike, options?: AbortOptions): Promise<DirEntry[]>;
  list(remotepath?: PathLike, options?: AbortOptions): Promise<DirEntry[]>;
  stat(remotepath: PathLike, options?: AbortOptions): Promise<Attributes>;
  lstat(remotepath: PathLike, options?: AbortOptions): Promise<Attributes>;
  exists(remotepath: PathLike, options?: AbortOptions): Promise<boolean>;
  lexists(remotepath: PathLike, options?: AbortOptions): Promise<boolean>;
  isdir(remotepath: PathLike, options?: AbortOptions): Promise<boolean>;
  isfile(remotepath: PathLike, options?: AbortOptions): Promise<boolean>;
  chdir(remotepath?: PathLike | null, options?: AbortOptions): Promise<void>;
  cwd(remotepath?: PathLike | null, options?: AbortOptions): Promise<void>;
  /** pysftp `with sftp.cd(remotepath):` — runs body there, then returns to where it was. */
  cd<T>(remotepath: PathLike | null, body: (sftp: Connection) => T | Promise<T>): Promise<T>;
  cd<T>(body: (sftp: Connection) => T | Promise<T>): Promise<T>;
  cdPush(remotepath?: PathLike | null, options?: AbortOptions): Promise<void>;
  cd_push(remotepath?: PathLike | null, options?: AbortOptions): Promise<void>;
  cdPop(options?: AbortOptions): Promise<void>;
  cd_pop(options?: AbortOptions): Promise<void>;
  /** null until the first chdir. */
  getcwd(options?: AbortOptions): Promise<Name | null>;
  pwd(options?: AbortOptions): Promise<Name>;
  normalize(remotepath: PathLike, options?: AbortOptions): Promise<Name>;
  readlink(remotelink: PathLike, options?: AbortOptions): Promise<Name>;
  mkdir(remotepath: PathLike, mode?: Mode | boolean | { mode?: Mode; recursive?: boolean; signal?: AbortSignal }, options?: AbortOptions): Promise<void>;
  makedirs(remotedir: PathLike, mode?: Mode, options?: AbortOptions): Promise<void>;
  /** Rejects with ENOTEMPTY when the directory still has entries. */
  rmdir(remotepath: PathLike, options?: AbortOptions): Promise<void>;
  remove(remotefile: PathLike, options?: AbortOptions): Promise<void>;
  unlink(remotefile: PathLike, options?: AbortOptions): Promise<void>;
  delete(remotefile: PathLike, options?: AbortOptions): Promise<void>;
  rename(remoteSrc: PathLike, remoteDest: PathLike, options?: AbortOptions): Promise<void>;
  posixRename(remoteSrc: PathLike, remoteDest: PathLike, options?: AbortOptions): Promise<void>;
  posix_rename(remoteSrc: PathLike, remoteDest: PathLike, options?: AbortOptions): Promise<void>;
  hardlink(remoteSrc: PathLike, remoteDest: PathLike, options?: AbortOptions): Promise<void>;
  symlink(remoteSrc: PathLike, remoteDest: PathLike, options?: AbortOptions): Promise<void>;
  chmod(remotepath: PathLike, mode?: Mode, options?: AbortOptions): Promise<void>;
  /** An id left out (or null) is kept. */
  chown(remotepath: PathLike, uid?: number | null, gid?: number | null, options?: AbortOptions): Promise<void>;
  /** Resolves with the size the server reports afterwards. */
  truncate(remotepath: PathLike, size: number | bigint, options?: AbortOptions): Promise<number>;
  utime(remotepath: PathLike, atime: number | Date, mtime: number | Date, options?: AbortOptions): Promise<void>;
  statvfs(remotepath: PathLike, options?: AbortOptions): Promise<StatvfsInfo>;
  walktree(
    remotepath: PathLike,
    fcallback?: WalkCallback | null,
    dcallback?: WalkCallback | null,
    ucallback?: WalkCallback | null,
    recurse?: boolean | { recurse?: boolean; signal?: AbortSignal },
  ): Promise<void>;

  /** mode: 'r', 'w', 'a', 'x', each optionally with '+' and 'b'. bufsize -1: 1 MiB buffer. */
  open(remoteFile: PathLike, mode?: string, bufsize?: number): Promise<SftpFile>;
  createReadStream(remotepath: PathLike, options?: StreamOptions & { start?: number }): Readable;
  /** Written in place (not atomically); flags 'w', 'a' or 'x'. */
  createWriteStream(remotepath: PathLike, options?: StreamOptions & { flags?: string }): Writable;

  /** localpath default: the remote name in the local working directory. */
  get(remotepath: PathLike, localpath?: PathLike | null, options?: GetOptions): Promise<void>;
  /** remotepath default: the local name in the remote working directory. */
  put(localpath: PathLike, remotepath?: PathLike | null, options?: PutOptions): Promise<Attributes>;
  fastGet(remotepath: PathLike, localpath: PathLike, options?: GetOptions): Promise<void>;
  fastPut(localpath: PathLike, remotepath: PathLike, options?: PutOptions): Promise<Attributes>;
  /** Resolves with the number of bytes. */
  getfo(remotepath: PathLike, flo: GetfoSink, options?: GetfoOptions): Promise<number>;
  getBuffer(remotepath: PathLike, options?: GetfoOptions): Promise<Buffer>;
  putfo(flo: PutfoSource, remotepath: PathLike, options?: PutfoOptions): Promise<Attributes>;

  /** pysftp get_d: the regular files directly inside remotedir, into localdir (created). */
  getD(remotedir: PathLike, localdir: PathLike, options?: TreeOptions): Promise<TreeResult>;
  get_d(remotedir: PathLike, localdir: PathLike, options?: TreeOptions): Promise<TreeResult>;
  /** pysftp get_r: the whole tree; getR('public', 'backup') lands in backup/public, '/srv/x' in backup/./srv/x. */
  getR(remotedir: PathLike, localdir: PathLike, options?: TreeOptions): Promise<TreeResult>;
  get_r(remotedir: PathLike, localdir: PathLike, options?: TreeOptions): Promise<TreeResult>;
  /** pysftp put_d: the regular files directly inside localpath, into remotepath. */
  putD(localpath: PathLike, remotepath: PathLike, options?: TreePutOptions): Promise<TreeResult>;
  put_d(localpath: PathLike, remotepath: PathLike, options?: TreePutOptions): Promise<TreeResult>;
  /** pysftp put_r: the contents of localpath, recursively, into remotepath (directories created). */
  putR(localpath: PathLike, remotepath: PathLike, options?: TreePutOptions): Promise<TreeResult>;
  put_r(localpath: PathLike, remotepath: PathLike, options?: TreePutOptions): Promise<TreeResult>;
  /** ssh2-sftp-client: the contents of srcDir, recursively, into dstDir (created). */
  downloadDir(srcDir: PathLike, dstDir: PathLike, options?: DownloadDirOptions): Promise<TreeResult>;
  /** ssh2-sftp-client: the contents of srcDir, recursively, into dstDir (putR). */
  uploadDir(srcDir: PathLike, dstDir: PathLike, options?: UploadDirOptions): Promise<TreeResult>;
}

/** pysftp Connection(...): open a connection. */
export declare function connect(options: ConnectOptions): Promise<Connection>;

/** ssh2-sftp-client v12's API over psftp (also `require('psftp/ssh2-sftp-client')`). */
import SftpClientClass = require('./ssh2-sftp-client.js');
export { SftpClientClass as SftpClient };

/** pysftp st_mode_to_int: 33188 gives 644. */
export declare function stModeToInt(mode: number): number;
export declare function st_mode_to_int(mode: number): number;
/** './a/b' gives ['.', './a', './a/b']. */
export declare function pathAdvance(thepath: string): string[];
export declare function pathAdvance(thepath: PathLike): Name[];
export declare function path_advance(thepath: string): string[];
export declare function path_advance(thepath: PathLike): Name[];
export declare function pathRetreat(thepath: string): string[];
export declare function pathRetreat(thepath: PathLike): Name[];
export declare function path_retreat(thepath: string): string[];
export declare function path_retreat(thepath: PathLike): Name[];
/** pysftp reparent; a Buffer path (e.g. a walked name that is not UTF-8) may give a Buffer. */
export declare function reparent(newparent: string, oldpath: string): string;
export declare function reparent(newparent: PathLike, oldpath: PathLike): Name;
/** pysftp's module walktree over a local directory (synchronous). */
export declare function walktree(
  localpath: PathLike,
  fcallback?: WalkCallback | null,
  dcallback?: WalkCallback | null,
  ucallback?: WalkCallback | null,
  recurse?: boolean,
): void;
/** pysftp's module `with cd(localpath):` for the whole process. */
export declare function cd<T>(localpath: PathLike | null, body: () => T | Promise<T>): Promise<T>;
export declare function cd<T>(body: () => T | Promise<T>): Promise<T>;
export declare function localCdPush(localpath?: PathLike | null): void;
export declare function localCdPop(): void;
/** The library's version, 'MAJOR.MINOR.PATCH'. */
export declare function version(): string;
/** The C name of a result code ('PSFTP_E_NOT_FOUND'). */
export declare function strerror(code: number): string;
